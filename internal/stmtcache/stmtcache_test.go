package stmtcache_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	_ "modernc.org/sqlite" // SQLite driver "sqlite"

	"github.com/pbxportal/pbxportal/internal/stmtcache"
)

// open is a file database (each connection of an in-memory one would be
// its own database) with a table n of the numbers 1 to 100.
func open(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "t.db")+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Exec(`CREATE TABLE n (v INTEGER PRIMARY KEY);
		WITH RECURSIVE c(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM c WHERE v < 100) INSERT INTO n SELECT v FROM c`); err != nil {
		t.Fatal(err)
	}
	return db
}

// sum runs "the sum of the numbers of n over lo" in one of shapes query
// texts, and returns it.
func sum(ctx context.Context, c *stmtcache.Cache, shape, lo int) (int, error) {
	rows, err := c.QueryContext(ctx, fmt.Sprintf("SELECT v FROM n WHERE v > ? AND %d = %d", shape, shape), lo)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	total := 0
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return 0, err
		}
		total += v
	}
	return total, rows.Err()
}

// want is what sum returns.
func want(lo int) int { return 100*101/2 - lo*(lo+1)/2 }

func TestCache(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name            string
		size, shapes    int
		wantKept        int
		goroutines, per int
	}{
		{"one shape, asked again", 4, 1, 1, 1, 20},
		{"more shapes than kept", 3, 10, 3, 1, 50},
		{"concurrent, evicting", 4, 16, 4, 8, 200},
		{"concurrent, all kept", 64, 16, 16, 8, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := stmtcache.New(open(t), tt.size)
			var wg sync.WaitGroup
			errs := make(chan error, tt.goroutines*tt.per)
			for g := range tt.goroutines {
				wg.Go(func() {
					for i := range tt.per {
						lo := (g*7 + i) % 100
						got, err := sum(ctx, c, (g+i)%tt.shapes, lo)
						if err == nil && got != want(lo) {
							err = fmt.Errorf("sum over %d = %d, want %d", lo, got, want(lo))
						}
						if err != nil {
							errs <- err
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if got := c.Len(); got != tt.wantKept {
				t.Errorf("%d statements kept, want %d", got, tt.wantKept)
			}
		})
	}
}

// TestRowsOutliveTheirStatement: rows opened on a statement stay readable
// while the statement is dropped from the cache.
func TestRowsOutliveTheirStatement(t *testing.T) {
	ctx := context.Background()
	c := stmtcache.New(open(t), 1)
	rows, err := c.QueryContext(ctx, "SELECT v FROM n WHERE v > ?", 90)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := sum(ctx, c, 1, 0); err != nil || got != want(0) { // drops the first
		t.Fatalf("sum = %d, %v", got, err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil || n != 10 {
		t.Errorf("read %d rows of a dropped statement (%v), want 10", n, err)
	}
	_ = rows.Close()
}

// TestBadQueryKeepsNothing: a query that does not prepare fails as it would
// unprepared, and is not kept.
func TestBadQueryKeepsNothing(t *testing.T) {
	c := stmtcache.New(open(t), 4)
	if _, err := c.QueryContext(context.Background(), "SELECT nope FROM n"); err == nil {
		t.Fatal("a query of a missing column ran")
	}
	if c.Len() != 0 {
		t.Errorf("%d statements kept after a failed prepare", c.Len())
	}
}
