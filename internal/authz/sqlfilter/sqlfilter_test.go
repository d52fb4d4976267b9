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
		f.Apply(sel)
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

// TestFilterIDs: a filter that tests nothing but the row's own id, against
// the viewer's id or the ids of looked-up relations (LookedUp columns), is
// a set of ids known without a query; a term that tests another column, a
// condition, or a subject resolved to rows is not, unless it matches
// nothing.
func TestFilterIDs(t *testing.T) {
	const schema = `
definition user {
    relation self: user
    relation enabled: user
    relation site: site
    relation team: team
    permission reach = self + site->manage
    permission open = enabled + site->manage
    permission by_team = team->lead
}
definition site {
    relation manager: user
    relation platform: platform
    permission manage = manager + platform->staff
}
definition platform {
    relation staff: user
}
definition team {
    relation lead: user
}
`
	col := func(res, rel, column string, looked bool) Column {
		return Column{Resource: res, Relation: rel, LookedUp: looked, Match: func(s *entsql.Selector, in func(string) *entsql.Predicate) *entsql.Predicate {
			return in(s.C(column))
		}}
	}
	everyRow := func(_ context.Context, ids []string) (func(*entsql.Selector) *entsql.Predicate, error) {
		if slices.Contains(ids, "main") {
			return func(*entsql.Selector) *entsql.Predicate { return entsql.ExprP("1 = 1") }, nil
		}
		return nil, nil
	}
	s, err := New(Config{Schema: schema, Viewer: "user", Columns: []Column{
		col("user", "self", "id", false),
		{Resource: "user", Relation: "enabled", Match: func(s *entsql.Selector, in func(string) *entsql.Predicate) *entsql.Predicate {
			return entsql.And(entsql.EQ(s.C("enabled"), true), in(s.C("id")))
		}},
		col("user", "site", "site_id", false),
		col("user", "team", "team_id", false),
		col("site", "manager", "id", true),
		{Resource: "site", Relation: "platform", Resolve: everyRow},
		col("team", "lead", "id", true),
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, typ, permission string
		found                 map[string][]string
		want                  []int
		known                 bool
	}{
		{"the viewer's own id", "user", "reach", nil, []int{7}, true},
		{"a looked-up relation of the listed type", "site", "manage", map[string][]string{"site#manager": {"4", "2", "4"}}, []int{2, 4}, true},
		{"a resolved subject that matches nothing", "site", "manage", map[string][]string{"platform#staff": {"other"}}, nil, true},
		{"a resolved subject that matches rows", "site", "manage", map[string][]string{"platform#staff": {"main"}}, nil, false},
		{"a lookup tested on another column", "user", "reach", map[string][]string{"site#manage": {"3"}}, nil, false},
		{"a lookup that found nothing", "user", "by_team", nil, nil, true},
		{"a lookup tested on another column, found", "user", "by_team", map[string][]string{"team#lead": {"5"}}, nil, false},
		{"a condition on the viewer's row", "user", "open", nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := s.Compile(tt.typ, tt.permission)
			if err != nil || p.Fallback != "" {
				t.Fatalf("%s#%s: %v %q", tt.typ, tt.permission, err, p.Fallback)
			}
			f := filterOf(t, s, p, tt.found)
			got, known := f.IDs()
			if known != tt.known || (known && !slices.Equal(got, tt.want)) {
				t.Errorf("IDs() = %v, %v; want %v, %v", got, known, tt.want, tt.known)
			}
		})
	}
	if _, err := New(Config{Schema: schema, Viewer: "user", Columns: []Column{col("user", "site", "site_id", true)}}); err == nil {
		t.Error("a looked-up column that tests another column than the id was accepted")
	}
}

// TestThroughKnownIDs: an arrow to a type read through its table is a
// subquery over that table, unless the subquery's filter is ids known
// without a query (a site manager's own sites): then it is the arrow's
// column tested against those ids, as a lookup's would be, and no term at
// all when there are none.
func TestThroughKnownIDs(t *testing.T) {
	const schema = `
definition domain {
    relation manager: user
    permission manage = manager
}
definition site {
    relation domain: domain
    relation manager: user
    permission reach = manager + domain->manage
}
definition user {
    relation site: site
    permission site_reach = site->reach
}
`
	fk := func(res, rel, column string, looked bool) Column {
		return Column{Resource: res, Relation: rel, LookedUp: looked, Match: func(s *entsql.Selector, in func(string) *entsql.Predicate) *entsql.Predicate {
			return in(s.C(column))
		}}
	}
	s, err := New(Config{Schema: schema, Viewer: "user", Tables: map[string]string{"user": "users", "site": "sites"}, Columns: []Column{
		fk("domain", "manager", "id", true),
		fk("site", "domain", "domain_id", false),
		fk("site", "manager", "id", true),
		fk("user", "site", "site_id", false),
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		found map[string][]string
		want  string // the users' filter
		args  []any
		known bool // whether the users' filter is known ids (none)
	}{
		{"a site manager", map[string][]string{"site#manager": {"4", "2"}}, "`users`.`site_id` IN (?, ?)", []any{2, 4}, false},
		{"nothing found", nil, "FALSE", nil, true},
		{"a domain's manager", map[string][]string{"domain#manage": {"1"}},
			"`users`.`site_id` IN (SELECT `sqlf1`.`id` FROM `sites` AS `sqlf1` WHERE `sqlf1`.`domain_id` IN (?))", []any{1}, false},
	}
	p, err := s.Compile("user", "site_reach")
	if err != nil || p.Fallback != "" {
		t.Fatalf("user#site_reach: %v %q", err, p.Fallback)
	}
	if got := p.Lookups(); !slices.Equal(got, []string{"site#manager", "domain#manage"}) {
		t.Errorf("Lookups() = %v, want the sites' own lookups, not site#reach", got)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filterOf(t, s, p, tt.found)
			sel := entsql.Dialect(dialect.SQLite).Select("id").From(entsql.Table("users"))
			f.Apply(sel)
			q, args := sel.Query()
			if want := "SELECT `id` FROM `users` WHERE " + tt.want; q != want || !slices.Equal(args, tt.args) {
				t.Errorf("got  %s %v\nwant %s %v", q, args, want, tt.args)
			}
			if ids, known := f.IDs(); known != tt.known || len(ids) > 0 {
				t.Errorf("IDs() = %v, %v; want none, %v", ids, known, tt.known)
			}
		})
	}
}

// filterOf is p's filter for viewer 7, its lookups answered from found
// (keyed "type#permission"; a key not there finds nothing).
func filterOf(t *testing.T, s *Schema, p *Plan, found map[string][]string) *Filter {
	t.Helper()
	f, err := p.Filter(context.Background(), s, 7, func(_ context.Context, typ, perm string) ([]string, error) {
		return found[typ+"#"+perm], nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}
