package sqlfilter

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
)

// TestCountByParts: the parts of a count of a domain-wide viewer add up to
// the count of the whole filter, on rows that break every rule the model
// does not enforce (items of another domain, or of none, in a granted box
// or owned by a reached user), so that each part has rows to count.
func TestCountByParts(t *testing.T) {
	const schema = `
definition user {
    relation box: box
    permission reach = box->see
}
definition domain {
    relation manager: user
    permission manage = manager
}
definition box {
    relation viewer: user
    permission see = viewer
}
definition item {
    relation domain: domain
    relation listed_in: domain
    relation box: box
    relation owner: user
    permission view = domain->manage + box->see + owner->reach + owner
    permission listed = listed_in->manage + box->see + owner
}
`
	fk := func(typ, rel string) Column {
		return Column{Resource: typ, Relation: rel, Match: func(s *entsql.Selector, in func(string) *entsql.Predicate) *entsql.Predicate {
			return in(s.C(rel + "_id"))
		}}
	}
	cfg := Config{
		Schema: schema,
		Viewer: "user",
		Columns: []Column{fk("item", "domain"), fk("item", "box"), fk("item", "owner"), fk("user", "box"),
			// listed_in: the item's domain, while the item is listed
			{Resource: "item", Relation: "listed_in", Match: func(s *entsql.Selector, in func(string) *entsql.Predicate) *entsql.Predicate {
				return entsql.And(entsql.EQ(s.C("listed"), true), in(s.C("domain_id")))
			}}},
		Tables: map[string]string{"user": "users"},
		Broad:  map[string]string{"domain": "domains"},
		References: func(table, column string) string {
			if table == "items" && column == "domain_id" {
				return "domains"
			}
			return ""
		},
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The same, but the domain column references nothing (an audit event's
	// domain, say): a value may name no domain, and the split by the
	// other domains would miss its rows.
	cfg.References = nil
	unreferenced, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := countDB(t)
	tests := []struct {
		name, permission string
		found            map[string][]string
		wantParts        int
	}{
		{"one domain and a box", "view", map[string][]string{"domain#manage": {"1"}, "box#see": {"5"}}, 3},
		{"two domains", "view", map[string][]string{"domain#manage": {"1", "2"}, "box#see": {"5"}}, 3},
		{"every domain", "view", map[string][]string{"domain#manage": {"1", "2", "3"}, "box#see": {"5", "6"}}, 3},
		{"a domain only", "view", map[string][]string{"domain#manage": {"2"}}, 3}, // the viewer's own items remain
		{"no domain", "view", map[string][]string{"box#see": {"5"}}, 1},
		{"a domain under a condition", "listed", map[string][]string{"domain#manage": {"1"}, "box#see": {"5"}}, 2},
		{"two domains under a condition", "listed", map[string][]string{"domain#manage": {"1", "3"}}, 2},
		{"a column that references nothing", "view", map[string][]string{"domain#manage": {"1", "2"}, "box#see": {"5"}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, table := s, "items"
			if tt.name == "a column that references nothing" {
				s, table = unreferenced, "loose_items"
			}
			p, err := s.Compile("item", tt.permission)
			if err != nil || p.Fallback != "" {
				t.Fatalf("item#%s: %v %q", tt.permission, err, p.Fallback)
			}
			f := filterOf(t, s, p, tt.found)
			whole := entsql.Dialect(dialect.SQLite).Select("COUNT(*)").From(entsql.Table(table))
			f.Apply(whole)
			want := countOf(t, db, whole)
			ctx, part := CountPart(context.Background())
			total := 0
			var counts []int
			for {
				sel := entsql.Dialect(dialect.SQLite).Select("COUNT(*)").From(entsql.Table(table)).WithContext(ctx)
				f.Apply(sel)
				n := countOf(t, db, sel)
				total += n
				counts = append(counts, n)
				if part.Last() {
					break
				}
				ctx, part = part.Next(context.Background())
			}
			if total != want || len(counts) != tt.wantParts {
				t.Errorf("counted %d in parts %v, want %d in %d parts", total, counts, want, tt.wantParts)
			}
			if len(counts) > 1 && counts[len(counts)-1] == 0 {
				t.Errorf("parts %v: the last part counted nothing, the test data miss a case", counts)
			}
		})
	}
}

// countDB is a database of random items over three domains (and none),
// two boxes and four owners, half of them listed.
func countDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:countparts?mode=memory")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Exec(`CREATE TABLE domains (id INTEGER PRIMARY KEY);
		CREATE TABLE users (id INTEGER PRIMARY KEY, box_id INTEGER);
		CREATE TABLE items (id INTEGER PRIMARY KEY, domain_id INTEGER REFERENCES domains, box_id INTEGER, owner_id INTEGER, listed BOOLEAN);
		CREATE INDEX items_domain ON items (domain_id);
		INSERT INTO domains VALUES (1), (2), (3);
		INSERT INTO users VALUES (7, NULL), (10, 5), (11, 6), (12, NULL)`); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	null := func(vs ...int) any {
		if v := vs[r.IntN(len(vs))]; v != 0 {
			return v
		}
		return nil
	}
	for range 400 {
		if _, err := db.Exec(`INSERT INTO items (domain_id, box_id, owner_id, listed) VALUES (?, ?, ?, ?)`,
			null(1, 2, 3, 0), null(5, 6, 0), null(7, 10, 11, 12, 0), r.IntN(2) == 0); err != nil {
			t.Fatal(err)
		}
	}
	// loose_items: the same rows, and some whose domain does not exist.
	if _, err := db.Exec(`CREATE TABLE loose_items AS SELECT * FROM items;
		CREATE INDEX loose_items_domain ON loose_items (domain_id);
		INSERT INTO loose_items (domain_id, box_id, owner_id, listed) VALUES (4, 5, 7, 1), (4, NULL, 7, 0), (4, 6, 10, 1)`); err != nil {
		t.Fatal(err)
	}
	return db
}

func countOf(t *testing.T, db *sql.DB, sel *entsql.Selector) int {
	t.Helper()
	q, args := sel.Query()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}
