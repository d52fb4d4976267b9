package main

import (
	"testing"

	"github.com/pbxportal/pbxportal/internal/pgtest"
)

// TestSeedLeavesPlannerStatistics: a seed bulk-loads its rows, and until
// PostgreSQL has statistics for them its planner pages a viewer's few
// recordings out of a million by primary key. pbxportal seed analyzes the
// tables it filled, so the first queries get plans for the data.
func TestSeedLeavesPlannerStatistics(t *testing.T) {
	dbURL := pgtest.URL(t)
	t.Setenv("PBXPORTAL_DATABASE_URL", dbURL)
	if _, err := run(t, "migrate"); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, "seed", "--data-dir", t.TempDir(), "--users", "300", "--recordings", "600"); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	db := pgtest.Open(t, dbURL)
	for _, table := range []string{"users", "recordings", "groups", "call_queues"} {
		var analyzed bool
		if err := db.QueryRow(`SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = $1`, table).Scan(&analyzed); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if !analyzed {
			t.Errorf("after seed, %s has never been analyzed", table)
		}
	}
}
