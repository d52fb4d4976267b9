package app_test

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/auditevent"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/queueagent"
	"github.com/pbxportal/pbxportal/ent/site"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
)

// TestLeavingAScopeEndsItsMemberships: a supervisor or an agent whose scope
// changes loses its queue assignments in the same mutation, each change
// audited, and with them every power they gave; taking the scope back does
// not bring them back.
func TestLeavingAScopeEndsItsMemberships(t *testing.T) {
	tests := []struct {
		name, username, from string
		// checks run as the demoted user and as others, after the change.
		check func(t *testing.T, p *portal, i ids)
	}{
		{
			name: "supervisor demoted", username: "cora@acme.example", from: "CALL_CENTER_SUPERVISOR",
			check: func(t *testing.T, p *portal, i ids) {
				var q struct {
					CallQueues struct {
						Edges []struct {
							Node struct {
								Name        string
								Supervisors []struct{ Username *string }
							}
						}
					}
				}
				p.as("support@provider.example", `{ callQueues { edges { node { name supervisors { username } } } } }`, nil, &q)
				for _, e := range q.CallQueues.Edges {
					for _, s := range e.Node.Supervisors {
						if s.Username != nil && *s.Username == "cora@acme.example" {
							t.Errorf("cora still supervises %s", e.Node.Name)
						}
					}
				}
				var u struct{ Node *struct{ Email *string } }
				errs := p.as("cora@acme.example", `query($id: ID!) { node(id: $id) { ... on User { email } } }`,
					map[string]any{"id": i.user("alice@acme.example")}, &u)
				if u.Node != nil && u.Node.Email != nil {
					t.Errorf("the demoted supervisor still reads alice's email: %v", errs)
				}
				errs = p.as("cora@acme.example", `mutation($q: ID!, $a: ID!) { agentLogout(queueId: $q, agentId: $a) { loggedIn } }`,
					map[string]any{"q": i.queue("Sales"), "a": i.user("alice@acme.example")}, nil)
				if len(errs) == 0 {
					t.Error("the demoted supervisor still logs agents out")
				}
			},
		},
		{
			name: "agent demoted", username: "alice@acme.example", from: "CALL_CENTER_AGENT",
			check: func(t *testing.T, p *portal, i ids) {
				n, err := p.app.Client.QueueAgent.Query().Where(queueagent.UserID(i.user("alice@acme.example"))).Count(context.Background())
				if err != nil || n != 0 {
					t.Errorf("alice keeps %d agent memberships (%v)", n, err)
				}
				var u struct{ Node *struct{ Email *string } }
				p.as("cora@acme.example", `query($id: ID!) { node(id: $id) { ... on User { email } } }`,
					map[string]any{"id": i.user("alice@acme.example")}, &u)
				if u.Node != nil && u.Node.Email != nil {
					t.Error("alice's former supervisor still reads her email")
				}
				var q struct {
					CallQueues struct{ TotalCount int }
				}
				p.as("alice@acme.example", `{ callQueues { totalCount } }`, nil, &q)
				if q.CallQueues.TotalCount != 0 {
					t.Errorf("the former agent still sees %d queues", q.CallQueues.TotalCount)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startPortal(t)
			i := ids{p}
			id := i.user(tt.username)
			setScope := `mutation($u: ID!, $s: UserScope!) { setUserScope(userId: $u, scope: $s) { scope } }`
			if errs := p.as("support@provider.example", setScope, map[string]any{"u": id, "s": "BASIC_USER"}, nil); len(errs) > 0 {
				t.Fatalf("setUserScope: %v", errs)
			}
			tt.check(t, p, i)

			events, err := p.app.Client.AuditEvent.Query().Where(auditevent.Action("setUserScope")).All(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			audited := false
			for _, e := range events {
				switch {
				case e.TargetType == "QueueAgent":
					audited = true
				case e.TargetType == "User" && e.TargetID == strconv.Itoa(id) && slices.Contains(e.ChangedFields, "supervised_queues"):
					audited = true
				}
			}
			if !audited {
				t.Errorf("the end of the memberships was not audited: %+v", events)
			}

			// Taking the scope back grants nothing by itself.
			if errs := p.as("support@provider.example", setScope, map[string]any{"u": id, "s": tt.from}, nil); len(errs) > 0 {
				t.Fatalf("setUserScope back: %v", errs)
			}
			tt.check(t, p, i)
		})
	}
}

// TestMembershipsNeedTheScope: nobody becomes a supervisor or an agent
// without the scope, whichever way the assignment is made.
func TestMembershipsNeedTheScope(t *testing.T) {
	p := startPortal(t)
	i := ids{p}
	tests := []struct{ name, query, user string }{
		{"agent without the agent scope", `mutation($q: ID!, $u: ID!) { addQueueAgent(queueId: $q, userId: $u) { id } }`, "bob@acme.example"},
		{"supervisor without the supervisor scope", `mutation($q: ID!, $u: ID!) { assignQueueSupervisor(queueId: $q, userId: $u) { id } }`, "alice@acme.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := p.fingerprint()
			errs := p.as("support@provider.example", tt.query, map[string]any{"q": i.queue("Sales"), "u": i.user(tt.user)}, nil)
			if got := codes(errs); !slices.Equal(got, []string{"BAD_USER_INPUT"}) {
				t.Errorf("codes = %v, want [BAD_USER_INPUT]", got)
			}
			if p.fingerprint() != before {
				t.Error("the refused assignment changed the database")
			}
		})
	}
}

// TestChangesReprojectEveryEntityTheyTouch: a deletion clears the references
// other rows held to the deleted entity, and a membership changed from the
// side that does not emit it changes the other side's relationships; the
// entities concerned are projected again in the same change, whichever write
// path makes it, so SpiceDB keeps no grant the database no longer implies.
func TestChangesReprojectEveryEntityTheyTouch(t *testing.T) {
	tests := []struct {
		name   string
		delete func(c *ent.Client, i ids) error
	}{
		{"site with users, queues and groups", func(c *ent.Client, i ids) error {
			north := c.Site.Query().Where(site.Name("North")).OnlyIDX(context.Background())
			return c.Site.DeleteOneID(north).Exec(context.Background())
		}},
		{"queue with recordings", func(c *ent.Client, i ids) error {
			sales := i.queue("Sales")
			if _, err := c.QueueAgent.Delete().Where(queueagent.QueueID(sales)).Exec(context.Background()); err != nil {
				return err
			}
			return c.CallQueue.DeleteOneID(sales).Exec(context.Background())
		}},
		{"replayer added from the group's side", func(c *ent.Client, i ids) error {
			ctx := context.Background()
			acme := c.Domain.Query().Where(domain.Name("acme.example")).OnlyIDX(ctx)
			g, err := c.Group.Create().SetDomainID(acme).SetName("Night").SetExtension("790").Save(ctx)
			if err != nil {
				return err
			}
			return c.Group.UpdateOne(g).AddReplayerIDs(i.user("bob@acme.example")).Exec(ctx)
		}},
		{"recordings let go from the owner's side", func(c *ent.Client, i ids) error {
			return c.User.UpdateOneID(i.user("bob@acme.example")).ClearRecordings().Exec(context.Background())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startPortal(t)
			i := ids{p}
			p.inTx(func(c *ent.Client) error { return tt.delete(c, i) })
			if err := p.app.Relay.Apply(context.Background()); err != nil {
				t.Fatal(err)
			}
			drift, err := projection.Reconcile(context.Background(), p.app.Client, p.app.Spice, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(drift.Missing)+len(drift.Extra) != 0 {
				t.Errorf("drift after the deletion: missing %v, extra %v", drift.Missing, drift.Extra)
			}
		})
	}
}
