package app

import (
	"context"
	"database/sql"
	"testing"

	"github.com/pbxportal/pbxportal/internal/pgtest"
)

// TestPostgresPoolStaysOpen: connections used by concurrent requests stay
// open for the next ones, up to the bound. database/sql keeps only two idle
// by default, and every other request then paid for a new PostgreSQL
// backend: under 50 clients that made mutations five times slower.
func TestPostgresPoolStaysOpen(t *testing.T) {
	const concurrent = 10
	tests := []struct {
		name     string
		maxConns int
		wantMax  int
	}{
		{"default", 0, DefaultDatabaseMaxConns},
		{"configured below the load", 4, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			drv, _, err := openDB(Config{DatabaseURL: pgtest.URL(t), DatabaseMaxConns: tt.maxConns})
			if err != nil {
				t.Fatal(err)
			}
			defer drv.Close()
			db := drv.DB()
			if got := db.Stats().MaxOpenConnections; got != tt.wantMax {
				t.Fatalf("at most %d connections, want %d", got, tt.wantMax)
			}
			used := min(concurrent, tt.wantMax)
			conns := make([]*sql.Conn, 0, used)
			for range used {
				c, err := db.Conn(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
			}
			for _, c := range conns {
				_ = c.Close() // back to the pool
			}
			if got := db.Stats().Idle; got != used {
				t.Fatalf("%d connections kept open after %d were used at once, want %d", got, used, used)
			}
		})
	}
}
