package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/callrecord"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/site"
	"github.com/pbxportal/pbxportal/ent/user"
)

// addTies gives every order field of every connection many equal keys: rows
// created with the same name, extension, time and duration.
func addTies(p *portal) {
	p.t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	p.inTx(func(c *ent.Client) error {
		acme := c.Domain.Query().Where(domain.Name("acme.example")).OnlyX(ctx)
		north := c.Site.Query().Where(site.Name("North")).OnlyX(ctx)
		bob := c.User.Query().Where(user.Username("bob@acme.example")).OnlyX(ctx)
		for i := range 5 {
			c.Site.Create().SetDomain(acme).SetName("Tie").ExecX(ctx)
			c.Contact.Create().SetDomain(acme).SetName("Tie").SetPhone("+15550000").ExecX(ctx)
			c.Group.Create().SetDomain(acme).SetSite(north).SetName("Tie").SetExtension("799").ExecX(ctx)
			c.CallQueue.Create().SetDomain(acme).SetSite(north).SetName("Tie").SetExtension("699").ExecX(ctx)
			c.User.Create().SetDomain(acme).SetSite(north).SetUsername(fmt.Sprintf("tie%d@acme.example", i)).
				SetDisplayName("Tie").SetExtension("199").SetPasswordHash("x").ExecX(ctx)
			c.Recording.Create().SetDomain(acme).SetOwner(bob).SetCallID(fmt.Sprintf("tie-%d", i)).
				SetStartedAt(at).SetDurationSeconds(30).ExecX(ctx)
			c.CallRecord.Create().SetDomain(acme).SetUser(bob).SetDirection(callrecord.DirectionINBOUND).
				SetStartedAt(at).SetDurationSeconds(30).ExecX(ctx)
		}
		// Audit events as the server writes them, at the clock's precision
		// and in its zone, several within one second and some at one instant.
		now := time.Now()
		for i := range 12 {
			c.AuditEvent.Create().SetDomainID(acme.ID).SetAction("tie").SetTargetType("User").
				SetTargetID("1").SetCreatedAt(now.Add(time.Duration(i%3) * time.Microsecond)).ExecX(ctx)
			c.AuditEvent.Create().SetDomainID(acme.ID).SetAction("tie").SetTargetType("User").
				SetTargetID("1").SetCreatedAt(at.In(time.FixedZone("CET", 3600))).ExecX(ctx)
		}
		return nil
	})
}

// connectionPage is one page of a connection.
type connectionPage struct {
	TotalCount int
	PageInfo   struct {
		HasNextPage, HasPreviousPage bool
		StartCursor, EndCursor       *string
	}
	Edges []struct {
		Node struct{ ID string }
	}
}

// TestPaginationVisitsEachItemOnce: for every connection, every order
// field and both directions, paging forward (first/after) and backward
// (last/before) in small pages returns each visible item exactly once, as
// many as totalCount, in the same order both ways. The connections and
// order fields are read from the schema, so a new one is covered.
func TestPaginationVisitsEachItemOnce(t *testing.T) { onEachStore(t, testPaginationVisitsEachItemOnce) }

func testPaginationVisitsEachItemOnce(t *testing.T, p *portal) {
	addTies(p)
	s := p.introspect()
	// The root connections, and those of objects (a user's recordings),
	// read on the object of each type that the ties were given to.
	bob := p.app.Client.User.Query().Where(user.Username("bob@acme.example")).OnlyIDX(context.Background())
	conns := connections(t, s, map[string]int{"User": bob})
	const pageSize = 3
	for _, persona := range []string{"support@provider.example", "olivia@acme.example"} {
		tok := p.tokenFor(persona)
		page := func(c connection, args string) connectionPage {
			t.Helper()
			q := c.query(args, `totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { id } }`)
			var out struct {
				C connectionPage
				N struct{ C connectionPage }
			}
			if err := json.Unmarshal(p.mustDo(tok, q, nil), &out); err != nil {
				t.Fatal(err)
			}
			if c.owner != "Query" {
				return out.N.C
			}
			return out.C
		}
		for _, c := range conns {
			for _, v := range c.orderFields {
				for _, dir := range []string{"ASC", "DESC"} {
					order := fmt.Sprintf("orderBy: {field: %s, direction: %s}", v, dir)
					all := page(c, "first: 1000, "+order)
					want := make([]string, len(all.Edges))
					for i, e := range all.Edges {
						want[i] = e.Node.ID
					}
					name := fmt.Sprintf("%s %s.%s %s %s", persona, c.owner, c.field, v, dir)
					if len(want) != all.TotalCount {
						t.Errorf("%s: one page of %d nodes, totalCount %d", name, len(want), all.TotalCount)
					}
					var forward []string
					for cursor := ""; len(forward) <= len(want); {
						args := fmt.Sprintf("first: %d, %s", pageSize, order)
						if cursor != "" {
							args += fmt.Sprintf(", after: %q", cursor)
						}
						pg := page(c, args)
						for _, e := range pg.Edges {
							forward = append(forward, e.Node.ID)
						}
						if pg.TotalCount != all.TotalCount {
							t.Errorf("%s: totalCount %d on a page, %d on the whole", name, pg.TotalCount, all.TotalCount)
						}
						if !pg.PageInfo.HasNextPage || pg.PageInfo.EndCursor == nil {
							break
						}
						cursor = *pg.PageInfo.EndCursor
					}
					var backward []string
					for cursor := ""; len(backward) <= len(want); {
						args := fmt.Sprintf("last: %d, %s", pageSize, order)
						if cursor != "" {
							args += fmt.Sprintf(", before: %q", cursor)
						}
						pg := page(c, args)
						ids := make([]string, len(pg.Edges))
						for i, e := range pg.Edges {
							ids[i] = e.Node.ID
						}
						backward = append(ids, backward...)
						if !pg.PageInfo.HasPreviousPage || pg.PageInfo.StartCursor == nil {
							break
						}
						cursor = *pg.PageInfo.StartCursor
					}
					for way, got := range map[string][]string{"forward": forward, "backward": backward} {
						if !slices.Equal(got, want) {
							t.Errorf("%s, paging %s by %d: %d nodes %v, want the %d of one page %v",
								name, way, pageSize, len(got), short(got), len(want), short(want))
						}
					}
				}
			}
		}
	}
}

// connection is a connection field of the schema, and how to reach it.
type connection struct {
	owner, field string
	parent       int      // the object whose connection it is (not for Query)
	orderFields  []string // the values of its orderBy's field
}

// query is an operation that selects the connection, aliased c (inside n,
// the parent, for a connection of an object), with args and selection.
func (c connection) query(args, selection string) string {
	q := fmt.Sprintf(`c: %s(%s) { %s }`, c.field, args, selection)
	if c.owner != "Query" {
		q = fmt.Sprintf(`n: node(id: "%d") { ... on %s { %s } }`, c.parent, c.owner, q)
	}
	return "{ " + q + " }"
}

// connections returns every connection of the schema: Query's and those of
// the node types, each read on the object parents gives for its type.
func connections(t *testing.T, s schema, parents map[string]int) []connection {
	t.Helper()
	var conns []connection
	for _, owner := range append([]string{"Query"}, s.nodeTypes()...) {
		for _, f := range s[owner].Fields {
			if !isConnection(f.Type.named()) {
				continue
			}
			order, ok := f.arg("orderBy")
			if !ok {
				t.Errorf("connection %s.%s has no orderBy", owner, f.Name)
				continue
			}
			parent, ok := parents[owner]
			if owner != "Query" && !ok {
				t.Errorf("connection %s.%s: give the test an object of %s", owner, f.Name, owner)
				continue
			}
			var orderField string
			for _, in := range s[order.named()].InputFields {
				if in.Name == "field" {
					orderField = in.Type.named()
				}
			}
			if len(s[orderField].EnumValues) == 0 {
				t.Errorf("connection %s.%s: no order fields", owner, f.Name)
			}
			c := connection{owner: owner, field: f.Name, parent: parent}
			for _, v := range s[orderField].EnumValues {
				c.orderFields = append(c.orderFields, v.Name)
			}
			conns = append(conns, c)
		}
	}
	if len(conns) < 11 {
		t.Fatalf("found only %d connections: %v", len(conns), conns)
	}
	return conns
}

// short abbreviates a list of ids for a failure message.
func short(ids []string) string {
	if len(ids) > 8 {
		return strings.Join(ids[:8], ",") + ",…"
	}
	return strings.Join(ids, ",")
}

// TestOldTimesAreRewritten: times an older pbxportal wrote in Go's
// time.String layout (monotonic reading included) are rewritten at start-up,
// so that they compare with new ones and page once.
func TestOldTimesAreRewritten(t *testing.T) {
	dir := t.TempDir()
	p := startPortalIn(t, dir)
	ctx := context.Background()
	now := time.Now() // with its monotonic reading, as the old layout kept it
	for i := range 6 {
		at := now.Add(time.Duration(i%2) * time.Microsecond)
		if _, err := p.app.Client.ExecContext(ctx, `INSERT INTO audit_events (action, target_type, target_id, created_at)
			VALUES ('old', 'Domain', '1', ?)`, at.String()); err != nil {
			t.Fatal(err)
		}
	}
	p.stop()
	p = startPortalIn(t, dir)
	tok := p.tokenFor("support@provider.example")
	var seen []string
	for cursor := ""; len(seen) < 100; {
		args := "first: 2, orderBy: {field: CREATED_AT, direction: ASC}"
		if cursor != "" {
			args += fmt.Sprintf(", after: %q", cursor)
		}
		var out struct{ AuditEvents connectionPage }
		if err := json.Unmarshal(p.mustDo(tok, `{ auditEvents(`+args+`) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }`, nil), &out); err != nil {
			t.Fatal(err)
		}
		for _, e := range out.AuditEvents.Edges {
			seen = append(seen, e.Node.ID)
		}
		if !out.AuditEvents.PageInfo.HasNextPage {
			if len(seen) != out.AuditEvents.TotalCount {
				t.Errorf("paged %d audit events %v, totalCount %d", len(seen), seen, out.AuditEvents.TotalCount)
			}
			break
		}
		cursor = *out.AuditEvents.PageInfo.EndCursor
	}
	if slices.Sort(seen); len(slices.Compact(seen)) != 6 {
		t.Errorf("paged %v, want the 6 events once each", seen)
	}
}
