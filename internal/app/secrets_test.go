package app_test

import (
	"context"
	"regexp"
	"sort"
	"testing"

	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/site"
	"github.com/pbxportal/pbxportal/internal/demo"
)

// secretInput matches the mutation inputs that carry a password or a PIN.
var secretInput = regexp.MustCompile(`(?i)(password|pin|secret)$`)

// secretCase runs one mutation that takes a secret, as a persona allowed to
// ("" for anonymous), and then checks that the secret took (nil: nothing
// more to check).
type secretCase struct {
	persona, query string
	vars           map[string]any
	check          func(t *testing.T, p *portal)
}

// TestSecretsAreHashedOutsideTransactions: every mutation that takes a
// password or PIN hashes it before its transaction begins, so that no
// transaction, nor SQLite's single write slot, is held while bcrypt runs.
// The resolvers refuse to hash inside a begun transaction (INTERNAL), so a
// successful run of each, on each store, shows it; createUser names a site,
// which it must look up only after hashing. The secret inputs come from the
// schema: one added later fails here until it has a case.
func TestSecretsAreHashedOutsideTransactions(t *testing.T) {
	onEachStore(t, testSecretsAreHashedOutsideTransactions)
}

func testSecretsAreHashedOutsideTransactions(t *testing.T, p *portal) {
	ctx := context.Background()
	id := ids{p}
	acme := p.app.Client.Domain.Query().Where(domain.Name("acme.example")).OnlyIDX(ctx)
	north := p.app.Client.Site.Query().Where(site.Name("North")).OnlyIDX(ctx)
	cases := map[string]secretCase{
		"createUser.password": {
			persona: "olivia@acme.example",
			query:   `mutation($d: ID!, $s: ID) { createUser(password: "a-long-password", input: {domainID: $d, siteID: $s, username: "h@acme.example", displayName: "H", extension: "172"}) { id } }`,
			vars:    kv("d", acme, "s", north),
		},
		"resetPassword.newPassword": {
			persona: "olivia@acme.example",
			query:   `mutation($u: ID!) { resetPassword(userId: $u, newPassword: "another-password") { id } }`,
			vars:    kv("u", id.user("ava@acme.example")),
			check: func(t *testing.T, p *portal) {
				if _, errs := p.tryLogin("ava@acme.example", "another-password"); len(errs) > 0 {
					t.Errorf("login with the new password: %v", codes(errs))
				}
			},
		},
		"updateMyProfile.input.voicemailPin": {
			persona: "bob@acme.example",
			query:   `mutation { updateMyProfile(input: {voicemailPin: "4321"}) { id } }`,
		},
		"login.input.password": {
			query: `mutation($p: String!) { login(input: {username: "bob@acme.example", password: $p}) { token } }`,
			vars:  kv("p", demo.Password),
		},
	}
	var slots []string
	for path := range mutationInputs() {
		if secretInput.MatchString(path) {
			slots = append(slots, path)
		}
	}
	sort.Strings(slots)
	if len(slots) < len(cases) {
		t.Errorf("the schema's secret inputs %v miss some of the cases", slots)
	}
	for _, slot := range slots {
		t.Run(slot, func(t *testing.T) {
			tc, ok := cases[slot]
			if !ok {
				t.Fatalf("mutation input %s carries a secret and has no case here: add one", slot)
			}
			token := ""
			if tc.persona != "" {
				token = p.tokenFor(tc.persona)
			}
			if r := p.do(token, tc.query, tc.vars); len(r.Errors) > 0 {
				t.Fatalf("errors %v %+v", codes(r.Errors), r.Errors)
			}
			if tc.check != nil {
				tc.check(t, p)
			}
		})
	}
}
