package projection_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/pbxportal/pbxportal/internal/authz/projection"
	"github.com/pbxportal/pbxportal/internal/pgtest"
)

// TestNumberPageKeepsItsPlanOnPostgreSQL: a page of the recordings of a
// number right, run as the portal runs it (a prepared statement, many
// times), is read by the number indexes on every run. The account code is
// empty on every row; PostgreSQL's generic plan, which does not see the
// parameters, took account_code_number = $n to match every row, expected a
// page to take the first rows of the primary key, and from the sixth run
// on walked the table instead (112 ms at 1M recordings, 0.3 ms by the
// indexes). It runs on the database of PBXPORTAL_TEST_DATABASE_URL.
func TestNumberPageKeepsItsPlanOnPostgreSQL(t *testing.T) {
	db := pgtest.Open(t, pgtest.URL(t))
	if _, err := db.Exec(`CREATE TABLE recordings (id bigint PRIMARY KEY, domain_id bigint NOT NULL,
			caller_number varchar, callee_number varchar, account_code_number varchar);
		CREATE INDEX recording_domain_id_caller_number ON recordings (domain_id, caller_number);
		CREATE INDEX recording_domain_id_callee_number ON recordings (domain_id, callee_number);
		CREATE INDEX recording_domain_id_account_code_number ON recordings (domain_id, account_code_number);
		INSERT INTO recordings SELECT i, 1, (1555000000 + i)::text, (100 + i % 5000)::text, '' FROM generate_series(1, 200000) i;
		ANALYZE recordings`); err != nil {
		t.Fatal(err)
	}
	var number func(*entsql.Selector) *entsql.Predicate
	for _, c := range projection.Columns() {
		if c.Resource == projection.TypeRecording && c.Relation == "number" {
			f, err := c.Resolve(context.Background(), []string{"1_141"})
			if err != nil {
				t.Fatal(err)
			}
			number = f
		}
	}
	if number == nil {
		t.Fatal("no column holds recording#number")
	}
	sel := entsql.Dialect(dialect.Postgres).Select("*").From(entsql.Table("recordings"))
	sel.Where(number(sel)).OrderBy(sel.C("id")).Limit(21)
	q, args := sel.Query()
	literals := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			literals[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		default:
			literals[i] = fmt.Sprint(v)
		}
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx) // a prepared statement lives on its connection
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PREPARE page AS "+q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	execute := "EXECUTE page(" + strings.Join(literals, ", ") + ")"
	for range 8 { // PostgreSQL weighs the generic plan after five runs
		if _, err := conn.ExecContext(ctx, execute); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := conn.QueryContext(ctx, "EXPLAIN "+execute)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if p := plan.String(); strings.Contains(p, "recordings_pkey") || !strings.Contains(p, "recording_domain_id_callee_number") {
		t.Errorf("the prepared page does not read the number indexes:\n%s\n%s", q, p)
	}
}
