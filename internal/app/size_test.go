package app_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
)

// spiceDBHolds counts the relationships the portal's SpiceDB holds.
func (p *portal) spiceDBHolds() int {
	p.t.Helper()
	n := 0
	if err := p.app.Spice.ExportRelationships(context.Background(), func(b []authz.Relationship) error {
		n += len(b)
		return nil
	}); err != nil {
		p.t.Fatal(err)
	}
	return n
}

// TestRestartWithMoreThanAThousandRelationships: a portal whose projection
// is larger than one SpiceDB write (1,000 updates) restarts, and its
// rebuilt SpiceDB holds exactly what the database implies.
func TestRestartWithMoreThanAThousandRelationships(t *testing.T) {
	dir := t.TempDir()
	p := startPortalIn(t, dir)
	acme := p.app.Client.Domain.Query().Where(domain.Name("acme.example")).OnlyIDX(context.Background())
	const users = 80
	for i := range users {
		errs := p.as("olivia@acme.example", `mutation($d: ID!, $u: String!, $x: String!) {
			createUser(password: "a-long-password", input: {domainID: $d, username: $u, displayName: $u, extension: $x, email: $u, voicePortalAccess: true}) { id } }`,
			map[string]any{"d": acme, "u": fmt.Sprintf("load%d@acme.example", i), "x": fmt.Sprintf("9%03d", i)}, nil)
		if len(errs) > 0 {
			t.Fatalf("create user %d: %v", i, errs)
		}
	}
	want, err := projection.All(t.Context(), p.app.Client)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) <= 1000 {
		t.Fatalf("the projection has %d relationships; the test needs more than 1,000", len(want))
	}
	p.stop()

	again := startPortalIn(t, dir)
	if got := again.spiceDBHolds(); got != len(want) {
		t.Errorf("after restart SpiceDB holds %d relationships, want %d", got, len(want))
	}
	var out struct {
		Users struct {
			Edges []struct{ Node struct{ Email *string } }
		}
	}
	last := fmt.Sprintf("load%d@acme.example", users-1)
	errs := again.as(last, fmt.Sprintf(`{ users(where: {extension: "9%03d"}) { edges { node { email } } } }`, users-1), nil, &out)
	if len(errs) > 0 || len(out.Users.Edges) != 1 || out.Users.Edges[0].Node.Email == nil || *out.Users.Edges[0].Node.Email != last {
		t.Errorf("after restart, %s reading its own email: %+v, errors %v", last, out, errs)
	}
	if drift, err := projection.Reconcile(t.Context(), again.app.Client, again.app.Spice, false); err != nil || len(drift.Missing)+len(drift.Extra) > 0 {
		t.Errorf("after restart: drift %d missing, %d extra, err %v", len(drift.Missing), len(drift.Extra), err)
	}
}
