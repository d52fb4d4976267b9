package app_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/callqueue"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/app"
)

// queueNames lists the call queues token's holder sees through p.
func queueNames(t *testing.T, p *portal, token string) []string {
	t.Helper()
	r, err := post(context.Background(), p.srv.URL, token, `{ callQueues { edges { node { name } } } }`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Errors) > 0 {
		t.Fatalf("callQueues: %+v", r.Errors)
	}
	var out struct {
		CallQueues struct {
			Edges []struct{ Node struct{ Name string } }
		}
	}
	decode(t, r, &out)
	var names []string
	for _, e := range out.CallQueues.Edges {
		names = append(names, e.Node.Name)
	}
	return names
}

// TestReplicasHonourChangesAtOnce: two pbxportal servers over one PostgreSQL
// and one SpiceDB server. A revocation (and a grant) committed through one
// is honoured by the other on its very next request, every time; so is a
// repair made from outside by `reconcile --fix`.
func TestReplicasHonourChangesAtOnce(t *testing.T) {
	spice := startSpiceDBServer(t)
	dbURL := postgresURL(t)
	dir := t.TempDir()
	a := openPortal(t, spice.config(dir, dbURL, true))
	b := openPortal(t, spice.config(dir, dbURL, false))
	ctx := context.Background()

	sales := a.app.Client.CallQueue.Query().Where(callqueue.Name("Sales")).OnlyIDX(ctx)
	cora := a.app.Client.User.Query().Where(user.Username("cora@acme.example")).OnlyIDX(ctx)
	olivia, coraToken := a.tokenFor("olivia@acme.example"), a.tokenFor("cora@acme.example")
	vars := map[string]any{"q": sales, "u": cora}
	seesSales := func(p *portal) bool { return strings.Contains(strings.Join(queueNames(t, p, coraToken), ","), "Sales") }

	if !seesSales(b) {
		t.Fatal("cora does not see Sales on replica B before any change")
	}
	for i := range 15 {
		mustMutate(t, a, olivia, `mutation($q: ID!, $u: ID!) { removeQueueSupervisor(queueId: $q, userId: $u) { id } }`, vars)
		if seesSales(b) {
			t.Fatalf("try %d: cora removed from Sales through replica A still sees it through replica B", i)
		}
		mustMutate(t, a, olivia, `mutation($q: ID!, $u: ID!) { assignQueueSupervisor(queueId: $q, userId: $u) { id } }`, vars)
		if !seesSales(b) {
			t.Fatalf("try %d: cora assigned to Sales through replica A does not see it through replica B", i)
		}
	}

	// A change made behind the portal's back, repaired by reconcile --fix.
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	raw := ent.NewClient(ent.Driver(entsql.OpenDB(dialect.Postgres, db))) // no hooks: nothing reaches SpiceDB
	if err := raw.CallQueue.UpdateOneID(sales).RemoveSupervisorIDs(cora).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if !seesSales(b) {
		t.Fatal("the unprojected change already reached SpiceDB; the test proves nothing")
	}
	drift, err := app.Reconcile(ctx, spice.config(dir, dbURL, false), true)
	if err != nil {
		t.Fatalf("reconcile --fix: %v", err)
	}
	if len(drift.Extra) != 1 || len(drift.Missing) != 0 {
		t.Fatalf("reconcile found %+v, want the one extra supervisor relationship", drift)
	}
	if seesSales(b) {
		t.Fatal("after reconcile --fix, replica B still serves the removed grant")
	}
}

// mustMutate runs a mutation through p and fails the test on any error.
func mustMutate(t *testing.T, p *portal, token, query string, vars map[string]any) {
	t.Helper()
	r, err := post(context.Background(), p.srv.URL, token, query, vars)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Errors) > 0 {
		t.Fatalf("%s: %+v", query, r.Errors)
	}
}
