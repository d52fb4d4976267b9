package projection_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/recording"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
	"github.com/pbxportal/pbxportal/internal/sqlitetest"
)

// queryLog is a driver that keeps the text of every query it runs.
type queryLog struct {
	dialect.Driver
	mu      sync.Mutex
	queries []string
}

func (d *queryLog) Query(ctx context.Context, query string, args, v any) error {
	d.mu.Lock()
	d.queries = append(d.queries, query)
	d.mu.Unlock()
	return d.Driver.Query(ctx, query, args, v)
}

// TestBackfillNumbersReadsNoTable: the start-up backfill fills the rows
// from before the normalised columns, and finds them by the partial index
// that holds only them: a start with nothing to fill must not read every
// recording, as it did when the query ordered the rows by id (a scan of
// the table at every start).
func TestBackfillNumbersReadsNoTable(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "pbxportal.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	drv := entsql.OpenDB(dialect.SQLite, db)
	c := ent.NewClient(ent.Driver(drv))
	if err := c.Schema.Create(ctx); err != nil {
		t.Fatal(err)
	}
	dom, err := c.Domain.Create().SetName("d.example").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, caller := range []string{"1-41", "(142)", "143"} {
		// No hook on this client: the numbers stay NULL, as in rows from
		// before the columns.
		if err := c.Recording.Create().SetDomainID(dom.ID).SetCallID(caller).SetCaller(caller).
			SetStartedAt(time.Unix(int64(i), 0)).SetDurationSeconds(1).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	log := &queryLog{Driver: drv}
	lc := ent.NewClient(ent.Driver(log))
	for _, want := range []int{3, 0} {
		n, err := projection.BackfillNumbers(ctx, lc, dialect.SQLite)
		if err != nil || n != want {
			t.Fatalf("backfilled %d (%v), want %d", n, err, want)
		}
	}
	if n, err := c.Recording.Query().Where(recording.CallerNumber("141")).Count(ctx); err != nil || n != 1 {
		t.Errorf("recordings with caller_number 141: %d (%v), want 1", n, err)
	}
	if len(log.queries) == 0 {
		t.Fatal("the backfill ran no query")
	}
	for _, q := range log.queries {
		plan := sqlitetest.Plan(t, db, q, 1000)
		if !strings.Contains(plan, "recording_numbers_missing") {
			t.Errorf("the backfill reads the recordings without the partial index:\n%s\n%s", q, plan)
		}
	}
}
