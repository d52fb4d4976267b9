package sqlfilter

import (
	"database/sql"
	"maps"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/pbxportal/pbxportal/internal/pgtest"
)

// domainWideSchema is a model with a broad container (domain), a through
// type (user, with its table) and a plain container (box).
func domainWideSchema(t *testing.T) *Schema {
	t.Helper()
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
    relation box: box
    relation owner: user
    permission view = owner + box->see + owner->reach + domain->manage
}
`
	fk := func(typ, rel string) Column {
		return Column{Resource: typ, Relation: rel, Match: func(s *entsql.Selector, in func(string) *entsql.Predicate) *entsql.Predicate {
			return in(s.C(rel + "_id"))
		}}
	}
	s, err := New(Config{
		Schema:  schema,
		Viewer:  "user",
		Columns: []Column{fk("item", "domain"), fk("item", "box"), fk("item", "owner"), fk("user", "box")},
		Tables:  map[string]string{"user": "users"},
		Broad:   map[string]string{"domain": "domains"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// domainWideFilter is item#view for viewer 7, who manages domain 1 and
// sees box 5, or only sees box 5 when domains is empty.
func domainWideFilter(t *testing.T, s *Schema, domains []string) func(*entsql.Selector) {
	t.Helper()
	p, err := s.Compile("item", "view")
	if err != nil || p.Fallback != "" {
		t.Fatalf("item#view: %v %q", err, p.Fallback)
	}
	found := map[string][]string{"domain#manage": domains, "box#see": {"5"}}
	f := filterOf(t, s, p, found)
	return f.Apply
}

// TestDomainWideFilterByDialect: for a viewer with a domain-wide grant, the
// domain's term comes first and the other terms' subqueries are correlated;
// SQLite keeps them off the plan with a unary +, PostgreSQL fences them
// with OFFSET 0 so that they are not hashed whole. Without the grant both
// get the plain filter.
func TestDomainWideFilterByDialect(t *testing.T) {
	s := domainWideSchema(t)
	tests := []struct {
		name    string
		dialect string
		domains []string
		want    string
	}{
		{"sqlite, domain-wide", dialect.SQLite, []string{"1"},
			"SELECT * FROM `item` WHERE `item`.`domain_id` IN (?) OR +(`item`.`owner_id` = ?) OR +(`item`.`box_id` IN (?)) OR +(EXISTS (SELECT `sqlf1`.`id` FROM `users` AS `sqlf1` WHERE `sqlf1`.`id` = `item`.`owner_id` AND `sqlf1`.`box_id` IN (?)))"},
		{"postgres, domain-wide", dialect.Postgres, []string{"1"},
			`SELECT * FROM "item" WHERE "item"."domain_id" IN ($1) OR "item"."owner_id" = $2 OR "item"."box_id" IN ($3) OR EXISTS (SELECT "sqlf1"."id" FROM "users" AS "sqlf1" WHERE "sqlf1"."id" = "item"."owner_id" AND "sqlf1"."box_id" IN ($4) OFFSET 0)`},
		{"sqlite, no domain", dialect.SQLite, nil,
			"SELECT * FROM `item` WHERE `item`.`owner_id` = ? OR `item`.`box_id` IN (?) OR `item`.`owner_id` IN (SELECT `sqlf1`.`id` FROM `users` AS `sqlf1` WHERE `sqlf1`.`box_id` IN (?))"},
		{"postgres, no domain", dialect.Postgres, nil,
			`SELECT * FROM "item" WHERE "item"."owner_id" = $1 OR "item"."box_id" IN ($2) OR "item"."owner_id" IN (SELECT "sqlf1"."id" FROM "users" AS "sqlf1" WHERE "sqlf1"."box_id" IN ($3))`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel := entsql.Dialect(tt.dialect).Select("*").From(entsql.Table("item"))
			domainWideFilter(t, s, tt.domains)(sel)
			if q, _ := sel.Query(); q != tt.want {
				t.Errorf("got  %s\nwant %s", q, tt.want)
			}
		})
	}
}

// TestDomainWidePageOnPostgreSQL: PostgreSQL tests the other terms of a
// domain-wide viewer's page with a subquery per row it walks (a SubPlan),
// not by hashing every user of the reached boxes first (a hashed SubPlan),
// which costs in proportion to the domain's users when the domain's term
// already covers nearly every row. It runs on the database of
// PBXPORTAL_TEST_DATABASE_URL.
func TestDomainWidePageOnPostgreSQL(t *testing.T) {
	db := pgtest.Open(t, pgtest.URL(t))
	if _, err := db.Exec(`CREATE TABLE users (id bigint PRIMARY KEY, box_id bigint);
		CREATE TABLE item (id bigint PRIMARY KEY, domain_id bigint NOT NULL, box_id bigint, owner_id bigint);
		CREATE INDEX item_domain ON item (domain_id);
		CREATE INDEX item_box ON item (box_id);
		CREATE INDEX item_owner ON item (owner_id);
		INSERT INTO users SELECT i, 5 FROM generate_series(1, 10000) i;
		INSERT INTO item SELECT i, CASE WHEN i % 10 = 0 THEN 2 ELSE 1 END, NULL, i % 10000 + 1 FROM generate_series(1, 100000) i;
		ANALYZE users; ANALYZE item`); err != nil {
		t.Fatal(err)
	}
	sel := entsql.Dialect(dialect.Postgres).Select("*").From(entsql.Table("item"))
	domainWideFilter(t, domainWideSchema(t), []string{"1"})(sel)
	sel.OrderBy("id").Limit(21)
	q, args := sel.Query()
	if p := explain(t, db, q, args...); !strings.Contains(p, "SubPlan") || strings.Contains(p, "hashed SubPlan") {
		t.Errorf("the page's subquery is not tested per row:\n%s\n%s", q, p)
	}
}

// ownSwitchSchema is a model whose items are seen by their owner while the
// owner's own switch is on (a Self column of user), through a box, and by
// whoever reaches the owner's site (a relation of user that items keep a
// copy of: a Column with Via).
func ownSwitchSchema(t *testing.T, copySite bool) *Schema {
	t.Helper()
	const schema = `
definition site {
    relation manager: user
    permission reach = manager
}
definition user {
    relation replays_own: user
    relation site: site
    permission site_reach = site->reach
}
definition box {
    relation viewer: user
    permission see = viewer
}
definition item {
    relation box: box
    relation owner: user
    permission view = owner->replays_own + box->see + owner->site_reach
    permission site_view = box->see + owner->site_reach
}
`
	fk := func(typ, rel, col string) Column {
		return Column{Resource: typ, Relation: rel, Match: func(s *entsql.Selector, in func(string) *entsql.Predicate) *entsql.Predicate {
			return in(s.C(col))
		}}
	}
	own := Column{Resource: "user", Relation: "replays_own", Self: true, Match: func(s *entsql.Selector, in func(string) *entsql.Predicate) *entsql.Predicate {
		return entsql.And(entsql.P(func(b *entsql.Builder) { b.Ident(s.C("replay_own")) }), in(s.C("id")))
	}}
	cols := []Column{fk("item", "box", "box_id"), fk("item", "owner", "owner_id"), own, fk("user", "site", "site_id"),
		{Resource: "site", Relation: "manager", Match: func(s *entsql.Selector, in func(string) *entsql.Predicate) *entsql.Predicate {
			return in(s.C("manager_id"))
		}}}
	if copySite {
		c := fk("item", "owner", "owner_site_id")
		c.Via = "site"
		cols = append(cols, c)
	}
	s, err := New(Config{Schema: schema, Viewer: "user", Columns: cols, Tables: map[string]string{"user": "users"}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ownSwitchFilter is item#perm for viewer 7, given what its lookups find.
func ownSwitchFilter(t *testing.T, s *Schema, perm string, found map[string][]string) func(*entsql.Selector) {
	t.Helper()
	p, err := s.Compile("item", perm)
	if err != nil || p.Fallback != "" {
		t.Fatalf("item#%s: %v %q", perm, err, p.Fallback)
	}
	f := filterOf(t, s, p, found)
	return f.Apply
}

// TestViewerRowFilter: a term that only the viewer's own row can pass (the
// owner's own switch) is looked up, and written as an equality on the
// owner's column while the switch is on, and not at all while it is off,
// on both databases; a relation of the owner that the item keeps a copy of
// (the owner's site) is tested on the copy, without a subquery over users.
func TestViewerRowFilter(t *testing.T) {
	box := map[string][]string{"box#see": {"5"}}
	site := map[string][]string{"site#reach": {"3"}}
	own := func(m map[string][]string) map[string][]string {
		m = maps.Clone(m)
		m["user#replays_own"] = []string{"7"}
		return m
	}
	tests := []struct {
		name, dialect string
		copySite      bool
		found         map[string][]string
		want          string
	}{
		{"box, switch on", dialect.SQLite, false, own(box), "SELECT * FROM `item` WHERE `item`.`owner_id` IN (?) OR `item`.`box_id` IN (?)"},
		{"box, switch on", dialect.Postgres, false, own(box), `SELECT * FROM "item" WHERE "item"."owner_id" IN ($1) OR "item"."box_id" IN ($2)`},
		{"box, switch off", dialect.Postgres, false, box, `SELECT * FROM "item" WHERE "item"."box_id" IN ($1)`},
		{"site, switch on", dialect.Postgres, false, own(site), `SELECT * FROM "item" WHERE "item"."owner_id" IN ($1) OR "item"."owner_id" IN (SELECT "sqlf1"."id" FROM "users" AS "sqlf1" WHERE "sqlf1"."site_id" IN ($2))`},
		{"site copied, switch on", dialect.SQLite, true, own(site), "SELECT * FROM `item` WHERE `item`.`owner_id` IN (?) OR `item`.`owner_site_id` IN (?)"},
		{"site copied, switch off", dialect.SQLite, true, site, "SELECT * FROM `item` WHERE `item`.`owner_site_id` IN (?)"},
		{"site copied, switch off", dialect.Postgres, true, site, `SELECT * FROM "item" WHERE "item"."owner_site_id" IN ($1)`},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.dialect, func(t *testing.T) {
			sel := entsql.Dialect(tt.dialect).Select("*").From(entsql.Table("item"))
			ownSwitchFilter(t, ownSwitchSchema(t, tt.copySite), "view", tt.found)(sel)
			if q, _ := sel.Query(); q != tt.want {
				t.Errorf("got  %s\nwant %s", q, tt.want)
			}
		})
	}
}

// TestNarrowPageOnPostgreSQL: the page of a viewer who sees few rows (their
// own while their switch is on, and one box's) is read by the indexes of
// its terms, a BitmapOr, not by walking the primary key until enough rows
// pass. Written as owner_id IN (SELECT … WHERE id = viewer), the owner's
// term is a subquery that PostgreSQL estimates at half the table, and the
// page walked the primary key (44 ms for 80 rows among 100,000 recordings,
// 100 ms among 1,000,000). It runs on the database of
// PBXPORTAL_TEST_DATABASE_URL.
func TestNarrowPageOnPostgreSQL(t *testing.T) {
	db := pgtest.Open(t, pgtest.URL(t))
	if _, err := db.Exec(`CREATE TABLE users (id bigint PRIMARY KEY, replay_own boolean NOT NULL);
		CREATE TABLE item (id bigint PRIMARY KEY, box_id bigint, owner_id bigint);
		CREATE INDEX item_box ON item (box_id);
		CREATE INDEX item_owner ON item (owner_id);
		INSERT INTO users SELECT i, true FROM generate_series(1, 10000) i;
		INSERT INTO item SELECT i, i % 1000, i % 10000 + 1 FROM generate_series(1, 100000) i;
		ANALYZE users; ANALYZE item`); err != nil {
		t.Fatal(err)
	}
	sel := entsql.Dialect(dialect.Postgres).Select("*").From(entsql.Table("item"))
	ownSwitchFilter(t, ownSwitchSchema(t, false), "view", map[string][]string{"box#see": {"5"}, "user#replays_own": {"7"}})(sel)
	sel.OrderBy("id").Limit(21)
	q, args := sel.Query()
	p := explain(t, db, q, args...)
	if !strings.Contains(p, "BitmapOr") || strings.Contains(p, "item_pkey") {
		t.Errorf("the page is not read by the indexes of its terms:\n%s\n%s", q, p)
	}
}

// TestSiteManagerPageOnPostgreSQL: the page of a viewer who sees the items
// of his site's owners (2,500 of 1,000,000, spread over the table) through
// the owner's site that items keep a copy of, and whose own switch is off,
// is one range of the index (owner_site_id, id), read in id order and
// stopped after the page: no walk of the primary key, no sort of all his
// items. Through a subquery over the owners (owner_id IN (SELECT id FROM
// users WHERE site_id IN …)) PostgreSQL walks the primary key until enough
// rows pass (5.7 ms for a page at 1,000,000 recordings, 13,700 rows read);
// so it did while the owner's own switch was written into the filter
// whether on or off (an OR of two terms). It runs on the database of
// PBXPORTAL_TEST_DATABASE_URL.
func TestSiteManagerPageOnPostgreSQL(t *testing.T) {
	db := pgtest.Open(t, pgtest.URL(t))
	if _, err := db.Exec(`CREATE TABLE users (id bigint PRIMARY KEY, site_id bigint, replay_own boolean NOT NULL);
		CREATE TABLE item (id bigint PRIMARY KEY, box_id bigint, owner_id bigint, owner_site_id bigint);
		CREATE INDEX item_box ON item (box_id);
		CREATE INDEX item_owner ON item (owner_id);
		CREATE INDEX item_owner_site_id ON item (owner_site_id, id);
		CREATE INDEX users_site ON users (site_id);
		INSERT INTO users SELECT i, i % 400, false FROM generate_series(1, 100000) i;
		INSERT INTO item SELECT i, i % 5000, o, o % 400
			FROM (SELECT i, (hashint4(i)::bigint & 65535) % 100000 + 1 AS o FROM generate_series(1, 1000000) i) s;
		ANALYZE users; ANALYZE item`); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		copySite bool
	}{{"copied", true}, {"subquery", false}} {
		// Viewer 7 reaches site 7, sees no box, and its own switch is off.
		sel := entsql.Dialect(dialect.Postgres).Select("*").From(entsql.Table("item"))
		ownSwitchFilter(t, ownSwitchSchema(t, tt.copySite), "view", map[string][]string{"site#reach": {"7"}})(sel)
		sel.Where(entsql.GT(sel.C("id"), 1000)) // a later page, after a cursor
		sel.OrderBy(sel.C("id")).Limit(21)
		q, args := sel.Query()
		p := explain(t, db, q, args...)
		ranged := strings.Contains(p, "Index Scan using item_owner_site_id") && !strings.Contains(p, "item_pkey") &&
			!strings.Contains(p, "Sort") && !strings.Contains(p, "Bitmap")
		if ranged != tt.copySite {
			t.Errorf("%s: the page is one range of (owner_site_id, id): %v, want %v\n%s\n%s", tt.name, ranged, tt.copySite, q, p)
		}
	}
}

// explain is PostgreSQL's plan of q, as run.
func explain(t *testing.T, db *sql.DB, q string, args ...any) string {
	t.Helper()
	rows, err := db.Query("EXPLAIN (ANALYZE, COSTS OFF) "+q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
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
	return plan.String()
}

// TestBroadTermsAlone: the filter of a viewer with a domain-wide grant and
// other terms has a filter of its broad terms alone, which tests only the
// domain's column; without the grant it has none.
func TestBroadTermsAlone(t *testing.T) {
	s := domainWideSchema(t)
	p, err := s.Compile("item", "view")
	if err != nil || p.Fallback != "" {
		t.Fatalf("item#view: %v %q", err, p.Fallback)
	}
	tests := []struct {
		name  string
		found map[string][]string
		broad bool
	}{
		{"a domain and boxes", map[string][]string{"domain#manage": {"1"}, "box#see": {"5", "6"}}, true},
		{"two domains and a box", map[string][]string{"domain#manage": {"1", "2"}, "box#see": {"5"}}, true},
		{"no domain", map[string][]string{"box#see": {"5"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filterOf(t, s, p, tt.found)
			broad, ok := f.Broad()
			if ok != tt.broad {
				t.Fatalf("Broad() ok = %v, want %v", ok, tt.broad)
			}
			if !ok {
				return
			}
			for _, d := range []string{dialect.SQLite, dialect.Postgres} {
				sel := entsql.Dialect(d).Select("id").From(entsql.Table("item"))
				broad.Apply(sel)
				q, args := sel.Query()
				where := q[strings.Index(q, "WHERE "):]
				if !strings.Contains(where, "domain_id") || strings.Contains(where, "box_id") || strings.Contains(where, "owner_id") ||
					len(args) != len(tt.found["domain#manage"]) {
					t.Errorf("%s: broad terms %s %v, want the domains' column alone", d, where, args)
				}
			}
		})
	}
}
