package app_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/callrecord"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/site"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/app"
	"github.com/pbxportal/pbxportal/internal/migration"
	"github.com/pbxportal/pbxportal/internal/pgtest"
	"github.com/pbxportal/pbxportal/internal/server"
)

// readPersonas are the demo personas the read-path tests run as: every
// rank, in two domains and two sites.
var readPersonas = []string{
	"support@provider.example", "olivia@acme.example", "sam@acme.example", "sue@acme.example",
	"cora@acme.example", "alice@acme.example", "bob@acme.example", "ava@acme.example",
	"gina@globex.example", "gus@globex.example",
}

// onEachStore runs a test on the embedded SQLite and, when
// PBXPORTAL_TEST_DATABASE_URL names one, on PostgreSQL, each with the demo.
func onEachStore(t *testing.T, test func(*testing.T, *portal)) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Run("sqlite", func(t *testing.T) {
		test(t, openPortal(t, crawlConfig(app.Config{DataDir: t.TempDir(), Demo: true, Log: quiet})))
	})
	t.Run("postgres", func(t *testing.T) {
		test(t, openPortal(t, crawlConfig(app.Config{
			DataDir: t.TempDir(), DatabaseURL: postgresURL(t), Demo: true, Log: quiet,
		})))
	})
}

// crawlConfig lifts the per-request limits for the tests that walk the
// whole schema in one request: their queries select every field of every
// type, far past what an ordinary client may ask at once.
func crawlConfig(cfg app.Config) app.Config {
	cfg.Limits = server.Limits{
		MaxQueryTokens: 1 << 20, MaxComplexity: 1 << 30, MaxDepth: 64,
		MaxAliases: 1 << 16, MaxRootFields: 1 << 16,
	}
	return cfg
}

// addOneOfEach adds, to the demo, objects of the types it lacks (buttons,
// directory entries, audit events), in both domains and on a site.
func addOneOfEach(p *portal) {
	p.t.Helper()
	ctx := context.Background()
	p.inTx(func(c *ent.Client) error {
		for _, username := range []string{"bob@acme.example", "sam@acme.example", "gus@globex.example"} {
			u := c.User.Query().Where(user.Username(username)).OnlyX(ctx)
			c.Button.Create().SetOwner(u).SetPosition(1).SetFeature("speed-dial").ExecX(ctx)
			c.PersonalDirectoryEntry.Create().SetOwner(u).SetName("Mum").SetNumber("+15559999").ExecX(ctx)
		}
		acme := c.Domain.Query().Where(domain.Name("acme.example")).OnlyX(ctx)
		globex := c.Domain.Query().Where(domain.Name("globex.example")).OnlyX(ctx)
		north := c.Site.Query().Where(site.Name("North")).OnlyX(ctx)
		c.AuditEvent.Create().SetDomainID(acme.ID).SetSiteID(north.ID).SetAction("a").SetTargetType("User").SetTargetID("1").ExecX(ctx)
		c.AuditEvent.Create().SetDomainID(acme.ID).SetAction("b").SetTargetType("Domain").SetTargetID("1").ExecX(ctx)
		c.AuditEvent.Create().SetDomainID(globex.ID).SetAction("c").SetTargetType("Domain").SetTargetID("1").ExecX(ctx)
		c.AuditEvent.Create().SetAction("d").SetTargetType("Domain").SetTargetID("1").ExecX(ctx)
		return nil
	})
}

// everyNode lists the id of every object of every Node type in the
// database, by GraphQL type. A Node type missing here fails the test that
// uses it, so that a new type is covered.
func everyNode(t *testing.T, c *ent.Client) map[string][]int {
	t.Helper()
	ctx := context.Background()
	return map[string][]int{
		"AuditEvent":             c.AuditEvent.Query().IDsX(ctx),
		"Button":                 c.Button.Query().IDsX(ctx),
		"CallQueue":              c.CallQueue.Query().IDsX(ctx),
		"CallRecord":             c.CallRecord.Query().IDsX(ctx),
		"Contact":                c.Contact.Query().IDsX(ctx),
		"Domain":                 c.Domain.Query().IDsX(ctx),
		"Group":                  c.Group.Query().IDsX(ctx),
		"PersonalDirectoryEntry": c.PersonalDirectoryEntry.Query().IDsX(ctx),
		"QueueAgent":             c.QueueAgent.Query().IDsX(ctx),
		"Recording":              c.Recording.Query().IDsX(ctx),
		"Site":                   c.Site.Query().IDsX(ctx),
		"User":                   c.User.Query().IDsX(ctx),
	}
}

// crawlQuery lists, from the schema, every root connection with, on each
// node, every edge to Node objects: lists, connections and single objects.
func crawlQuery(s schema) string {
	nodeType := map[string]bool{}
	for _, n := range s.nodeTypes() {
		nodeType[n] = true
	}
	var b strings.Builder
	b.WriteString("{")
	for _, f := range s["Query"].Fields {
		if !isConnection(f.Type.named()) {
			continue
		}
		node, _ := s.field(strings.TrimSuffix(f.Type.named(), "Connection")+"Edge", "node")
		fmt.Fprintf(&b, " %s(first: 1000) { edges { node { id", f.Name)
		for _, e := range s[node.Type.named()].Fields {
			switch target := e.Type.named(); {
			case isConnection(target):
				fmt.Fprintf(&b, " %s(first: 1000) { edges { node { id } } }", e.Name)
			case nodeType[target]:
				fmt.Fprintf(&b, " %s { id }", e.Name)
			}
		}
		b.WriteString(" } } }")
	}
	b.WriteString(" }")
	return b.String()
}

// collectIDs gathers every "id" value in a JSON document.
func collectIDs(v any, into map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "id" {
				into[s] = true
			}
			collectIDs(x, into)
		}
	case []any:
		for _, x := range v {
			collectIDs(x, into)
		}
	}
}

// listed is every id the persona finds in a list: the root connections and
// their nodes' edges (denied edges, and edges to what it may not see, are
// null).
func (p *portal) listed(tok, crawl string) map[string]bool {
	p.t.Helper()
	r := p.do(tok, crawl, nil)
	for _, e := range r.Errors {
		if e.code() != "FORBIDDEN" && e.code() != "NOT_FOUND" {
			p.t.Fatalf("crawl: %+v", e)
		}
	}
	var data any
	if err := json.Unmarshal(r.Data, &data); err != nil {
		p.t.Fatal(err)
	}
	seen := map[string]bool{}
	collectIDs(data, seen)
	return seen
}

// TestNodeForEveryType: node and nodes answer, for every object of every
// Node type, exactly what the persona finds in lists; anything else,
// invisible or nonexistent, is the same NOT_FOUND "not found" at the
// field's path, or at the item's index in nodes, with the item null and
// the other items intact.
func TestNodeForEveryType(t *testing.T) { onEachStore(t, testNodeForEveryType) }

func testNodeForEveryType(t *testing.T, p *portal) {
	addOneOfEach(p)
	s := p.introspect()
	all := everyNode(t, p.app.Client)
	var ids []string
	rangeOf := map[int]string{} // global ids: each type has its own range of 1<<32
	for _, typ := range s.nodeTypes() {
		if len(all[typ]) == 0 {
			t.Errorf("no %s objects to look up: add them to everyNode and addOneOfEach", typ)
		}
		for _, id := range all[typ] {
			ids = append(ids, fmt.Sprint(id))
			r := id >> 32
			if other, ok := rangeOf[r]; r == 0 || ok && other != typ {
				t.Errorf("%s id %d is in range %d, of %q: not a global id", typ, id, r, other)
			}
			rangeOf[r] = typ
		}
	}
	// Ids that name nothing: past the end of a type's range, in a range of
	// no type, zero and negative.
	nonexistent := []string{fmt.Sprint(slices.Max(all["User"]) + 1000), fmt.Sprint(int64(200) << 32), "0", "-1"}
	crawl := crawlQuery(s)
	for _, persona := range readPersonas {
		tok := p.tokenFor(persona)
		seen := p.listed(tok, crawl)
		if len(seen) == 0 {
			t.Fatalf("%s lists nothing", persona)
		}
		query := append(slices.Clone(ids), nonexistent...)
		r := p.do(tok, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": query})
		var out struct{ Nodes []*struct{ ID string } }
		if err := json.Unmarshal(r.Data, &out); err != nil || len(out.Nodes) != len(query) {
			t.Fatalf("%s: nodes answered %s (%v), errors %+v", persona, r.Data, err, r.Errors)
		}
		wantErrs := map[string]bool{}
		for i, id := range query {
			visible := seen[id]
			if got := out.Nodes[i] != nil; got != visible {
				t.Errorf("%s: nodes[%d] (%s) visible %v, listed %v", persona, i, id, got, visible)
			}
			if !visible {
				wantErrs[fmt.Sprintf(`not found NOT_FOUND [nodes %d]`, i)] = true
			}
		}
		for _, e := range r.Errors {
			key := fmt.Sprintf("%s %s %v", e.Message, e.code(), e.Path)
			if !wantErrs[key] {
				t.Errorf("%s: unexpected error %s", persona, key)
			}
			delete(wantErrs, key)
		}
		if len(wantErrs) > 0 {
			t.Errorf("%s: missing errors %v", persona, wantErrs)
		}
		for _, id := range query {
			r := p.do(tok, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id})
			var out struct{ Node *struct{ ID string } }
			_ = json.Unmarshal(r.Data, &out)
			if seen[id] {
				if out.Node == nil || out.Node.ID != id || len(r.Errors) > 0 {
					t.Errorf("%s: node(%s) = %s, errors %+v; it is listed", persona, id, r.Data, r.Errors)
				}
				continue
			}
			if out.Node != nil || len(r.Errors) != 1 || r.Errors[0].Message != "not found" ||
				r.Errors[0].code() != "NOT_FOUND" || fmt.Sprint(r.Errors[0].Path) != "[node]" {
				t.Errorf("%s: node(%s) = %s, errors %+v; want null, NOT_FOUND \"not found\" at [node]", persona, id, r.Data, r.Errors)
			}
		}
	}
	// A malformed id is the client's mistake whatever it would name: the
	// same BAD_USER_INPUT for everyone.
	for _, persona := range []string{"support@provider.example", "gus@globex.example"} {
		for _, q := range []string{`{ node(id: "abc") { id } }`, `{ nodes(ids: ["1", "abc"]) { id } }`} {
			r := p.do(p.tokenFor(persona), q, nil)
			if !slices.Equal(codes(r.Errors), []string{"BAD_USER_INPUT"}) {
				t.Errorf("%s: %s: %+v, want BAD_USER_INPUT", persona, q, r.Errors)
			}
		}
	}
}

// TestAbsentEdgesAreNull: every nullable edge of every type, resolved on an
// object that lacks it, is null (an empty list for a list edge) without an
// error, and so is every unset foreign-key id (xID) beside it. The edges
// are read from the schema; each type that has one needs an object here.
func TestAbsentEdgesAreNull(t *testing.T) { onEachStore(t, testAbsentEdgesAreNull) }

func testAbsentEdgesAreNull(t *testing.T, p *portal) {
	ctx := context.Background()
	bare := map[string]int{}
	p.inTx(func(c *ent.Client) error {
		acme := c.Domain.Query().Where(domain.Name("acme.example")).OnlyX(ctx)
		at := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
		bare["User"] = c.User.Create().SetDomain(acme).SetUsername("bare@acme.example").SetDisplayName("Bare").
			SetExtension("198").SetPasswordHash("x").SaveX(ctx).ID
		bare["CallQueue"] = c.CallQueue.Create().SetDomain(acme).SetName("Bare").SetExtension("698").SaveX(ctx).ID
		bare["Group"] = c.Group.Create().SetDomain(acme).SetName("Bare").SetExtension("798").SaveX(ctx).ID
		bare["Recording"] = c.Recording.Create().SetDomain(acme).SetCallID("bare").SetStartedAt(at).
			SetDurationSeconds(1).SaveX(ctx).ID
		bare["CallRecord"] = c.CallRecord.Create().SetDomain(acme).SetDirection(callrecord.DirectionINBOUND).
			SetStartedAt(at).SetDurationSeconds(1).SaveX(ctx).ID
		bare["AuditEvent"] = c.AuditEvent.Create().SetAction("bare").SetTargetType("Domain").SetTargetID("1").SaveX(ctx).ID
		return nil
	})
	s := p.introspect()
	// Support, and an office manager of the domain, who sees the same
	// objects through the compiled list filters.
	toks := []string{p.tokenFor("support@provider.example"), p.tokenFor("olivia@acme.example")}
	isNode := map[string]bool{}
	for _, typ := range s.nodeTypes() {
		isNode[typ] = true
	}
	checked := 0
	for _, typ := range s.nodeTypes() {
		var sel []string
		var absent []string // fields that must be null
		for _, f := range s[typ].Fields {
			target := s[f.Type.named()]
			switch {
			case f.Type.nonNull():
			case target.Kind == "OBJECT" && isConnection(target.Name):
				sel = append(sel, f.Name+" { totalCount edges { node { id } } }")
			case isNode[target.Name] && f.Type.list():
				sel = append(sel, f.Name+" { id }")
			case isNode[target.Name]:
				sel = append(sel, f.Name+" { "+s.leaves(target.Name)+" }")
				absent = append(absent, f.Name)
			case strings.HasSuffix(f.Name, "ID") && (target.Name == "ID" || target.Name == "Int"):
				sel = append(sel, f.Name)
				absent = append(absent, f.Name)
			}
		}
		if len(absent) == 0 {
			continue
		}
		id, ok := bare[typ]
		if !ok {
			t.Errorf("%s has nullable edges or ids %v: add an object without them to this test", typ, absent)
			continue
		}
		// Through node, and through the root connection, which loads the
		// edges eagerly and primes their checks.
		queries := map[string]string{"node": fmt.Sprintf(`query($id: ID!) { node(id: $id) { ... on %s { %s } } }`,
			typ, strings.Join(sel, " "))}
		for _, root := range s["Query"].Fields {
			if root.Type.named() == typ+"Connection" {
				queries[root.Name] = fmt.Sprintf(`query($id: ID!) { %s(where: {id: $id}) { edges { node { %s } } } }`,
					root.Name, strings.Join(sel, " "))
			}
		}
		for via, q := range queries {
			for _, tok := range toks {
				r := p.do(tok, q, map[string]any{"id": id})
				if tok != toks[0] && (string(r.Data) == `{"node":null}` || string(r.Data) == `{"`+via+`":{"edges":[]}}`) {
					continue // not the office manager's to see (an audit event of no domain)
				}
				if len(r.Errors) > 0 {
					t.Errorf("%s via %s: %+v", typ, via, r.Errors)
				}
				var out map[string]json.RawMessage
				if err := json.Unmarshal(r.Data, &out); err != nil {
					t.Fatal(err)
				}
				var node map[string]any
				if via == "node" {
					_ = json.Unmarshal(out["node"], &node)
				} else {
					var conn struct {
						Edges []struct{ Node map[string]any }
					}
					_ = json.Unmarshal(out[via], &conn)
					if len(conn.Edges) == 1 {
						node = conn.Edges[0].Node
					}
				}
				if node == nil {
					t.Errorf("%s via %s: %s", typ, via, r.Data)
					continue
				}
				for _, f := range absent {
					checked++
					if v, ok := node[f]; !ok || v != nil {
						t.Errorf("%s.%s via %s = %v, want null", typ, f, via, v)
					}
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("checked only %d absent fields", checked)
	}
}

// TestWhereNeverMatchesThroughInvisible: a where predicate that reaches
// another object through an edge (has<Edge>With) matches only objects the
// viewer may see: naming an invisible object matches nothing, exactly as if
// it did not exist, directly or under or and not. Every has*With of every
// root connection's where input is read from the schema.
func TestWhereNeverMatchesThroughInvisible(t *testing.T) {
	p := openPortal(t, crawlConfig(app.Config{
		DataDir: t.TempDir(), Demo: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}))
	addOneOfEach(p)
	s := p.introspect()
	all := everyNode(t, p.app.Client)
	type edge struct{ root, field, target string }
	var edges []edge
	for _, f := range s["Query"].Fields {
		where, ok := f.arg("where")
		if !ok || !isConnection(f.Type.named()) {
			continue
		}
		for _, in := range s[where.named()].InputFields {
			if strings.HasPrefix(in.Name, "has") && strings.HasSuffix(in.Name, "With") {
				edges = append(edges, edge{f.Name, in.Name, strings.TrimSuffix(in.Type.named(), "WhereInput")})
			}
		}
	}
	if len(edges) < 15 {
		t.Fatalf("found only %d has*With predicates: %v", len(edges), edges)
	}
	invisibleCases := 0
	for _, persona := range []string{"olivia@acme.example", "sam@acme.example", "cora@acme.example",
		"bob@acme.example", "ava@acme.example", "gus@globex.example"} {
		tok := p.tokenFor(persona)
		// What the persona may see of each target type.
		var ids []int
		for _, of := range all {
			ids = append(ids, of...)
		}
		var nodes struct{ Nodes []*struct{ ID string } }
		p.as(persona, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": ids}, &nodes)
		visible := map[string]bool{}
		for _, n := range nodes.Nodes {
			if n != nil {
				visible[n.ID] = true
			}
		}
		for _, e := range edges {
			targets := all[e.target]
			if len(targets) == 0 {
				t.Fatalf("no %s objects for %s.%s", e.target, e.root, e.field)
			}
			for start := 0; start < len(targets); start += 8 {
				chunk := targets[start:min(start+8, len(targets))]
				var b strings.Builder
				b.WriteString("{")
				for i, id := range chunk {
					m := fmt.Sprintf(`%s: [{id: "%d"}]`, e.field, id)
					fmt.Fprintf(&b, ` d%d: %s(where: {%s}) { totalCount } o%d: %s(where: {or: [{%s}]}) { totalCount }`,
						i, e.root, m, i, e.root, m)
					fmt.Fprintf(&b, ` n%d: %s(where: {not: {%s}}) { totalCount }`, i, e.root, m)
				}
				fmt.Fprintf(&b, ` all: %s { totalCount }`, e.root)
				b.WriteString(" }")
				var out map[string]struct{ TotalCount int }
				if err := json.Unmarshal(p.mustDo(tok, b.String(), nil), &out); err != nil {
					t.Fatal(err)
				}
				for i, id := range chunk {
					if visible[fmt.Sprint(id)] {
						continue
					}
					invisibleCases++
					key := func(k string) int { return out[fmt.Sprintf("%s%d", k, i)].TotalCount }
					if key("d") != 0 || key("o") != 0 || key("n") != out["all"].TotalCount {
						t.Errorf("%s: %s(where: {%s: [{id: %d}]}) matches %d (%d under or, %d of %d under not); the %s is invisible",
							persona, e.root, e.field, id, key("d"), key("o"), key("n"), out["all"].TotalCount, e.target)
					}
				}
			}
		}
	}
	if invisibleCases < 100 {
		t.Errorf("only %d cases named an invisible object", invisibleCases)
	}
}

// TestAuditEventIDsMoveIntoTheirRange: a SQLite database whose audit events
// have ids from before they had a range of global ids gets them moved into
// it on start-up, in order, and new events follow them.
func TestAuditEventIDsMoveIntoTheirRange(t *testing.T) {
	dir := t.TempDir()
	p := startPortalIn(t, dir)
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO audit_events (id, action, target_type, target_id, created_at) VALUES
			(1, 'old', 'Domain', '1', '2026-11-01 00:00:00+00:00'), (2, 'old', 'Domain', '1', '2026-11-01 00:00:00+00:00'),
			(3, 'old', 'Domain', '1', '2026-11-01 00:00:00+00:00')`,
		`UPDATE sqlite_sequence SET seq = 3 WHERE name = 'audit_events'`,
	} {
		if _, err := p.app.Client.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	p.stop()
	p = startPortalIn(t, dir)
	p.app.Client.AuditEvent.Create().SetAction("new").SetTargetType("Domain").SetTargetID("1").ExecX(ctx)
	got := p.app.Client.AuditEvent.Query().Order(ent.Asc("id")).AllX(ctx)
	var actions []string
	for _, e := range got {
		actions = append(actions, e.Action)
		if e.ID>>32 != 15 {
			t.Errorf("audit event %s has id %d, outside its range", e.Action, e.ID)
		}
	}
	if !slices.Equal(actions[len(actions)-4:], []string{"old", "old", "old", "new"}) {
		t.Errorf("audit events in id order: %v", actions)
	}
}

// TestPostgresAuditEventIDsMoveIntoTheirRange: the PostgreSQL migration
// moves existing audit events into their range of global ids, in order, and
// new events follow them.
func TestPostgresAuditEventIDsMoveIntoTheirRange(t *testing.T) {
	ctx := context.Background()
	cfg := app.Config{DataDir: t.TempDir(), DatabaseURL: pgtest.URL(t), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if _, err := app.Migrate(ctx, cfg, migration.Options{To: "20261127135914"}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `INSERT INTO audit_events (action, target_type, target_id, created_at)
		VALUES ('old', 'Domain', '1', now()), ('old', 'Domain', '1', now())`); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Migrate(ctx, cfg, migration.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO audit_events (action, target_type, target_id, created_at)
		VALUES ('new', 'Domain', '1', now())`); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, `SELECT id, action FROM audit_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var actions []string
	for rows.Next() {
		var id int
		var action string
		if err := rows.Scan(&id, &action); err != nil {
			t.Fatal(err)
		}
		if id>>32 != 15 {
			t.Errorf("audit event %s has id %d, outside its range", action, id)
		}
		actions = append(actions, action)
	}
	if !slices.Equal(actions, []string{"old", "old", "new"}) {
		t.Errorf("audit events in id order: %v", actions)
	}
}
