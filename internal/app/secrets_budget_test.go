package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/graph"
)

// TestSecretHashesPerRequestAreBounded: one request may hash at most
// graph.MaxSecretsPerOperation passwords or PINs, and only before anything
// in it writes (the hash runs outside the transaction). Past that it is
// refused with a clear code and writes nothing, so aliased fields cannot buy
// seconds of bcrypt for a few bytes.
func TestSecretHashesPerRequestAreBounded(t *testing.T) {
	p := startPortal(t)
	bob := p.tokenFor("bob@acme.example")
	pinHash := func() string {
		u, err := p.app.Client.User.Query().Where(user.Username("bob@acme.example")).Only(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return u.VoicemailPinHash
	}
	pins := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, " p%d: updateMyProfile(input: {voicemailPin: \"%04d\"}) { id }", i, 1000+i)
		}
		return b.String()
	}
	tests := []struct {
		name     string
		mutation string
		wantCode string
	}{
		{"within the budget", pins(graph.MaxSecretsPerOperation), ""},
		{"one past it", pins(graph.MaxSecretsPerOperation + 1), "LIMIT_EXCEEDED"},
		{"after a field that wrote", `w: updateMyProfile(input: {department: "Ops"}) { id }` + pins(1), "BAD_REQUEST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := pinHash()
			res := p.do(bob, "mutation {"+tt.mutation+" }", nil)
			var codes []string
			for _, e := range res.Errors {
				codes = append(codes, e.code())
			}
			if tt.wantCode == "" {
				if len(res.Errors) > 0 {
					t.Fatalf("errors %+v", res.Errors)
				}
				if pinHash() == before {
					t.Fatal("the PIN did not change")
				}
				return
			}
			if len(codes) != 1 || codes[0] != tt.wantCode {
				t.Fatalf("codes %v, want [%s]: %+v", codes, tt.wantCode, res.Errors)
			}
			if pinHash() != before {
				t.Fatal("a refused request changed the PIN")
			}
		})
	}
}
