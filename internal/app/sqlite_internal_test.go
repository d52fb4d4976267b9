package app

import (
	"context"
	"strings"
	"testing"

	"entgo.io/ent/schema/field"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/migrate"
	"github.com/pbxportal/pbxportal/internal/sqlitetest"
)

// TestStartReadsOnlyNewTimes: the start-up rewrite of old times reads each
// table by its primary key, from its mark on, and a second start finds
// nothing to read: before the marks, every start read every time column of
// every table (LIKE '% % %' over the whole table).
func TestStartReadsOnlyNewTimes(t *testing.T) {
	ctx := context.Background()
	drv, _, err := openDB(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	if err := ent.NewClient(ent.Driver(drv)).Schema.Create(ctx); err != nil {
		t.Fatal(err)
	}
	db := drv.DB()
	checked := 0
	for _, tb := range migrate.Tables {
		for _, c := range tb.Columns {
			if c.Type != field.TypeTime {
				continue
			}
			checked++
			plan := sqlitetest.Plan(t, db, oldTimes(tb.Name, c.Name), 0, 1)
			if !strings.Contains(plan, "INTEGER PRIMARY KEY (rowid>? AND rowid<?)") {
				t.Errorf("%s.%s: the old times are looked for without the id range:\n%s", tb.Name, c.Name, plan)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no time column in the schema")
	}
	// A row in the old layout is rewritten once; after that a start has
	// nothing to read.
	if _, err := db.ExecContext(ctx, `INSERT INTO audit_events (action, target_type, target_id, created_at)
		VALUES ('old', 'Domain', '1', '2026-11-27 10:00:00.123 +0000 UTC m=+0.01')`); err != nil {
		t.Fatal(err)
	}
	if err := rewriteTimes(ctx, db); err != nil {
		t.Fatal(err)
	}
	var at string
	if err := db.QueryRowContext(ctx, `SELECT created_at FROM audit_events WHERE action = 'old'`).Scan(&at); err != nil || strings.Contains(at, "UTC") {
		t.Errorf("created_at = %q (%v), want the new layout", at, err)
	}
	var mark, last int
	if err := db.QueryRowContext(ctx, `SELECT checked_id FROM `+timeChecks+` WHERE table_name = 'audit_events'`).Scan(&mark); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT max(id) FROM audit_events`).Scan(&last); err != nil || mark != last {
		t.Errorf("mark %d, last id %d (%v): the next start would read the table again", mark, last, err)
	}
}
