package app_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/pbxportal/pbxportal/internal/app"
	"github.com/pbxportal/pbxportal/internal/migration"
	"github.com/pbxportal/pbxportal/internal/pgtest"
)

// postgresURL returns a URL to a fresh schema of the test database named by
// PBXPORTAL_TEST_DATABASE_URL, with every migration applied as `pbxportal
// migrate` does, dropped when the test ends; it skips the test without one.
func postgresURL(t *testing.T) string {
	t.Helper()
	dbURL := pgtest.URL(t)
	if _, err := app.Migrate(context.Background(), app.Config{DatabaseURL: dbURL}, migration.Options{}); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return dbURL
}

// TestPostgresRefusesBehindDatabase shows that the server, and the commands
// that open only the store, refuse a database that has not been migrated,
// and start once it has.
func TestPostgresRefusesBehindDatabase(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name string
		open func(ctx context.Context, cfg app.Config) (func(), error)
	}{
		{"Open", func(ctx context.Context, cfg app.Config) (func(), error) {
			a, err := app.Open(ctx, cfg)
			if err != nil {
				return nil, err
			}
			return a.Close, nil
		}},
		{"OpenStore", func(ctx context.Context, cfg app.Config) (func(), error) {
			s, err := app.OpenStore(ctx, cfg)
			if err != nil {
				return nil, err
			}
			return func() { _ = s.Client.Close() }, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := app.Config{DataDir: t.TempDir(), DatabaseURL: pgtest.URL(t), Log: quiet}
			_, err := tt.open(ctx, cfg)
			var behind *migration.BehindError
			if !errors.As(err, &behind) || !strings.Contains(err.Error(), "run `pbxportal migrate`") {
				t.Fatalf("open on an unmigrated database: %v, want a *BehindError that says to run pbxportal migrate", err)
			}
			applied, err := app.Migrate(ctx, cfg, migration.Options{})
			if err != nil || len(applied) == 0 {
				t.Fatalf("migrate applied %v (err %v), want every version", applied, err)
			}
			closeIt, err := tt.open(ctx, cfg)
			if err != nil {
				t.Fatalf("open after migrate: %v", err)
			}
			closeIt()
		})
	}
}

// TestMigrateNeedsPostgres shows that migrate refuses the SQLite default,
// which migrates itself at start-up.
func TestMigrateNeedsPostgres(t *testing.T) {
	_, err := app.Migrate(context.Background(), app.Config{DataDir: t.TempDir()}, migration.Options{})
	if err == nil || !strings.Contains(err.Error(), "--database-url") {
		t.Errorf("migrate without a database url: %v, want an error asking for --database-url", err)
	}
}

// TestPostgres runs the spine on PostgreSQL: the demo is loaded only when
// asked, the relay applies the outbox under its advisory lock, and a restart
// rebuilds SpiceDB from the database.
func TestPostgres(t *testing.T) {
	dbURL := postgresURL(t)
	open := func(demo bool) *portal {
		a, err := app.Open(context.Background(), app.Config{
			DataDir: t.TempDir(), DatabaseURL: dbURL, Demo: demo,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			t.Fatalf("open on postgres: %v", err)
		}
		p := &portal{t: t, app: a, srv: httptest.NewServer(a.Handler())}
		t.Cleanup(p.stop)
		return p
	}
	p := open(true)
	var d directory
	errs := p.as("bob@acme.example", directoryQuery, nil, &d)
	if d.Users.TotalCount != 12 || len(errs) != 11 {
		t.Fatalf("bob on postgres sees %d users with %d hidden emails, want 12 and 11", d.Users.TotalCount, len(errs))
	}
	var recs struct {
		Recordings struct{ TotalCount int }
	}
	p.as("bob@acme.example", `{ recordings { totalCount } }`, nil, &recs)
	if recs.Recordings.TotalCount != 3 {
		t.Errorf("bob's recordings on postgres = %d, want 3", recs.Recordings.TotalCount)
	}
	if n, _ := p.app.Client.OutboxEntry.Query().Count(t.Context()); n != 0 {
		t.Errorf("%d outbox rows left after start-up; the relay should have applied them", n)
	}
	p.stop()

	again := open(false)
	var after directory
	again.as("bob@acme.example", directoryQuery, nil, &after)
	if !slices.EqualFunc(d.Users.Edges, after.Users.Edges, func(a, b struct {
		Node struct {
			ID, DisplayName, Extension string
			Email                      *string
		}
	}) bool {
		return a.Node.ID == b.Node.ID
	}) {
		t.Errorf("after a restart on postgres: %+v", after)
	}
}

// TestInProcessSpiceDBOnPostgreSQLIsAnalyzed: after the start-up rebuild
// has bulk-imported the projection into the in-process SpiceDB's PostgreSQL
// datastore, its relationships table has planner statistics. Without them
// (autovacuum off, or not yet run after the import) every query SpiceDB
// makes at a revision its caches hold nothing for was planned for an empty
// table: 50–110 ms per request at 6.1M relationships instead of 6–10 ms.
func TestInProcessSpiceDBOnPostgreSQLIsAnalyzed(t *testing.T) {
	ctx := context.Background()
	datastore := pgtest.Database(t)
	cfg := app.Config{DataDir: t.TempDir(), DatabaseURL: postgresURL(t), SpiceDBDatastoreURL: datastore, Demo: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	a, err := app.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	db := pgtest.Open(t, datastore)
	// The planner's row count of the table (pg_class.reltuples) is what
	// ANALYZE sets; SpiceDB's migrations leave it at that of an empty table.
	var estimated float64
	var rows int
	if err := db.QueryRowContext(ctx, `SELECT reltuples, (SELECT count(*) FROM relation_tuple) FROM pg_class WHERE relname = 'relation_tuple'`).Scan(&estimated, &rows); err != nil {
		t.Fatal(err)
	}
	if rows == 0 || estimated < float64(rows)/2 {
		t.Errorf("SpiceDB's relation_tuple holds %d rows, its statistics say %.0f: not analyzed after the start-up rebuild", rows, estimated)
	}
}
