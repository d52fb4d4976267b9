// Package sqlitetest helps tests read SQLite's query plans.
package sqlitetest

import (
	"database/sql"
	"strings"
	"testing"
)

// Plan returns SQLite's EXPLAIN QUERY PLAN of q with args, one step a line,
// failing the test if SQLite cannot plan it.
func Plan(t testing.TB, db *sql.DB, q string, args ...any) string {
	t.Helper()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
