package sqlfilter

import (
	"context"
	"database/sql"
	"slices"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	_ "modernc.org/sqlite"
)

// TestInIntsHasNoLimit: SQLite refuses more than 32,766 bind variables; a
// long id list goes as one JSON parameter and selects exactly its rows.
func TestInIntsHasNoLimit(t *testing.T) {
	db, err := sql.Open("sqlite", "file:inints?mode=memory")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY);
		INSERT INTO t WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 50000) SELECT x FROM c`); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ids  []int
		want int
	}{
		{"none", nil, 0},
		{"short", []int{1, 2, 3, 60000}, 3},
		{"at the bound", seq(1, MaxInList), MaxInList},
		{"past SQLite's limit", seq(2, 80000), 25000}, // 40,000 even ids, 25,000 of them in t
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, args := entsql.Dialect(dialect.SQLite).Select("COUNT(*)").From(entsql.Table("t")).
				Where(InInts("id", tt.ids)).Query()
			var n int
			if err := db.QueryRow(q, args...).Scan(&n); err != nil {
				t.Fatalf("%s: %v", q[:min(len(q), 120)], err)
			}
			if n != tt.want {
				t.Errorf("count = %d, want %d", n, tt.want)
			}
			if len(args) > MaxInList {
				t.Errorf("%d bind variables, want at most %d", len(args), MaxInList)
			}
		})
	}
}

// seq returns step, 2*step, … up to end.
func seq(step, end int) []int {
	var out []int
	for i := step; i <= end; i += step {
		out = append(out, i)
	}
	return out
}

// TestShapes: each shape of a permission either compiles to the lookups it
// needs or falls back; no shape is accepted without being rendered.
func TestShapes(t *testing.T) {
	const schema = `
definition user {}
definition box {
    relation owner: user
    relation viewer: user
    permission see = viewer
}
definition item {
    relation box: box
    relation owner: user
    relation banned: user
    permission own = owner
    permission union = owner + box->see
    permission nested = owner + (box->see + own)
    permission any_arrow = box.any(see)
    permission all_arrow = box.all(see)
    permission with_nil = owner + nil
    permission intersection = owner & box->see
    permission exclusion = owner - banned
}
`
	fk := func(rel string) Column {
		return Column{Resource: "item", Relation: rel, Match: func(s *entsql.Selector, in func(string) *entsql.Predicate) *entsql.Predicate {
			return in(s.C(rel + "_id"))
		}}
	}
	s, err := New(Config{Schema: schema, Viewer: "user", Columns: []Column{fk("box"), fk("owner"), fk("banned")}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		permission string
		fallback   bool
		lookups    []string
	}{
		{"own", false, nil},
		{"union", false, []string{"box#see"}},
		{"nested", false, []string{"box#see"}},
		{"any_arrow", true, nil},
		{"all_arrow", true, nil},
		{"with_nil", true, nil},
		{"intersection", true, nil},
		{"exclusion", true, nil},
	}
	for _, tt := range tests {
		p, err := s.Compile("item", tt.permission)
		if err != nil {
			t.Fatalf("%s: %v", tt.permission, err)
		}
		if (p.Fallback != "") != tt.fallback || !slices.Equal(p.Lookups(), tt.lookups) {
			t.Errorf("item#%s: fallback %q, lookups %v; want fallback %v, lookups %v", tt.permission, p.Fallback, p.Lookups(), tt.fallback, tt.lookups)
		}
	}
}

// TestEmptyTermsAreLeftOut: a term whose lookup found nothing is left out of
// the OR rather than written FALSE (one unindexable term makes SQLite scan
// the whole table); a filter with nothing left is FALSE.
func TestEmptyTermsAreLeftOut(t *testing.T) {
	const schema = `
definition user {}
definition box {
    relation viewer: user
    permission see = viewer
}
definition item {
    relation box: box
    relation shelf: box
    relation owner: user
    permission union = owner + box->see + shelf->see
    permission lookups = box->see + shelf->see
}
`
	fk := func(rel string) Column {
		return Column{Resource: "item", Relation: rel, Match: func(s *entsql.Selector, in func(string) *entsql.Predicate) *entsql.Predicate {
			return in(s.C(rel + "_id"))
		}}
	}
	s, err := New(Config{Schema: schema, Viewer: "user", Columns: []Column{fk("box"), fk("shelf"), fk("owner")}})
	if err != nil {
		t.Fatal(err)
	}
	none := func(context.Context, string, string) ([]string, error) { return nil, nil }
	tests := []struct{ permission, want string }{
		{"union", "SELECT * FROM `item` WHERE `item`.`owner_id` = ?"},
		{"lookups", "SELECT * FROM `item` WHERE FALSE"},
	}
	for _, tt := range tests {
		p, err := s.Compile("item", tt.permission)
		if err != nil {
			t.Fatal(err)
		}
		f, err := p.Filter(context.Background(), s, 7, none)
		if err != nil {
			t.Fatal(err)
		}
		sel := entsql.Dialect(dialect.SQLite).Select("*").From(entsql.Table("item"))
		f(sel)
		if q, _ := sel.Query(); q != tt.want {
			t.Errorf("item#%s with no containers: %s, want %s", tt.permission, q, tt.want)
		}
	}
}

// TestViewerRelation: only a relation whose every subject is a plain viewer
// is one whose lookup reads the viewer's own relationships.
func TestViewerRelation(t *testing.T) {
	const schema = `
definition user {}
definition team {
    relation member: user
    relation lead: user | team#member
    relation anyone: user:*
    relation parent: team
    permission see = member
}
`
	s, err := New(Config{Schema: schema, Viewer: "user"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want bool
	}{
		{"member", true},
		{"lead", false},   // a subject relation: other teams' members
		{"anyone", false}, // a wildcard
		{"parent", false}, // not the viewer's type
		{"see", false},    // a permission dispatches
		{"missing", false},
	}
	for _, tt := range tests {
		if got := s.ViewerRelation("team", tt.name); got != tt.want {
			t.Errorf("ViewerRelation(team, %s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
