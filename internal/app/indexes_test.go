package app_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pbxportal/pbxportal/internal/app"
	"github.com/pbxportal/pbxportal/internal/pgtest"
)

// foreignKeysSQLite lists every foreign-key column of the SQLite database,
// as "table.column", and those that lead neither an index nor the primary
// key.
const foreignKeysSQLite = `
SELECT m.name || '.' || f."from",
	NOT EXISTS (SELECT 1 FROM pragma_index_list(m.name) AS il, pragma_index_info(il.name) AS ii
		WHERE ii.seqno = 0 AND ii.name = f."from")
	AND NOT EXISTS (SELECT 1 FROM pragma_table_info(m.name) AS ti WHERE ti.pk = 1 AND ti.name = f."from")
FROM sqlite_master AS m, pragma_foreign_key_list(m.name) AS f
WHERE m.type = 'table'`

// foreignKeysPostgres is the same for the connection's schema of PostgreSQL
// (an index's or primary key's first column is indkey[0]).
const foreignKeysPostgres = `
SELECT t.relname || '.' || a.attname,
	NOT EXISTS (SELECT 1 FROM pg_index AS i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])
FROM pg_constraint AS c
JOIN pg_class AS t ON t.oid = c.conrelid
JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace`

// TestEveryForeignKeyLeadsAnIndex: in the database the portal starts on
// (SQLite, migrated at start-up) and in the one its versioned migrations
// build (PostgreSQL), every foreign-key column is the first column of an
// index, so that reading a table from either side of a relation (the
// queues a user supervises, the groups a user belongs to, the rows a
// delete cascades to) reads an index range, not the whole table.
func TestEveryForeignKeyLeadsAnIndex(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name  string
		open  func(t *testing.T) *sql.DB
		query string
	}{
		{"sqlite", func(t *testing.T) *sql.DB {
			dir := t.TempDir()
			s, err := app.OpenStore(context.Background(), app.Config{DataDir: dir, Log: quiet})
			if err != nil {
				t.Fatal(err)
			}
			_ = s.Client.Close()
			db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "pbxportal.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		}, foreignKeysSQLite},
		{"postgres", func(t *testing.T) *sql.DB { return pgtest.Open(t, postgresURL(t)) }, foreignKeysPostgres},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := tt.open(t).QueryContext(t.Context(), tt.query)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var all, unindexed []string
			for rows.Next() {
				var col string
				var missing bool
				if err := rows.Scan(&col, &missing); err != nil {
					t.Fatal(err)
				}
				all = append(all, col)
				if missing {
					unindexed = append(unindexed, col)
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			// The catalog query must see the foreign keys at all: both
			// sides of a many-to-many table are among them.
			for _, want := range []string{"call_queue_supervisors.call_queue_id", "call_queue_supervisors.user_id"} {
				if !slices.Contains(all, want) {
					t.Fatalf("the foreign keys read from the catalog, %v, miss %s", all, want)
				}
			}
			slices.Sort(unindexed)
			if len(unindexed) > 0 {
				t.Errorf("%d of %d foreign-key columns lead no index: %v", len(unindexed), len(all), unindexed)
			}
		})
	}
}
