package app_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/callqueue"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/app"
)

// seesQueue reports whether token's holder may see the queue id through p.
// It asks node(id), which SpiceDB answers; lists are filtered in SQL over
// the database's own columns, so they would not show what SpiceDB holds.
func seesQueue(t *testing.T, p *portal, token string, id int) bool {
	t.Helper()
	r, err := post(context.Background(), p.srv.URL, token,
		`query($id: ID!) { node(id: $id) { ... on CallQueue { name } } }`, map[string]any{"id": id})
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Node *struct{ Name string } }
	if err := json.Unmarshal(r.Data, &out); err != nil {
		t.Fatal(err)
	}
	switch {
	case out.Node != nil:
		return true
	case len(r.Errors) == 1 && r.Errors[0].code() == "NOT_FOUND":
		return false
	}
	t.Fatalf("node(%d): %+v", id, r.Errors)
	return false
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
	seesSales := func(p *portal) bool { return seesQueue(t, p, coraToken, sales) }

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
