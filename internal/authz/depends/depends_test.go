package depends

import (
	"testing"

	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/model"
)

// TestChanges: which writes change which answers, on pbxportal's model and
// on shapes it does not use yet (subject sets, wildcards, intersections,
// expiring relationships, recursion).
func TestChanges(t *testing.T) {
	const other = `
use expiration
definition user {}
definition group {
	relation member: user | group#member
	permission view = member
}
definition doc {
	relation reader: user | group#member
	relation public: user:*
	relation banned: user
	relation guest: user with expiration
	relation parent: doc
	permission read = reader + public - banned
	permission both = reader & parent->read
	permission visit = guest
	permission all_parents = parent.all(read)
}
`
	tests := []struct {
		schema, written, permission string
		want                        authz.Change
	}{
		// pbxportal's model: a recording's relationships change no
		// container's answers.
		{model.Schema, "recording#domain", "domain#manage", authz.ChangesNobody},
		{model.Schema, "recording#owner", "site#reach", authz.ChangesNobody},
		{model.Schema, "recording#queue", "queue#supervisor", authz.ChangesNobody},
		{model.Schema, "recording#owner", "recording#replay", authz.ChangesAnyone},
		{model.Schema, "recording#domain", "recording#download", authz.ChangesAnyone},
		// A grant changes its holder's answers alone.
		{model.Schema, "domain#office_manager", "domain#manage", authz.ChangesItsSubject},
		{model.Schema, "platform#support", "domain#manage", authz.ChangesItsSubject},
		{model.Schema, "site#site_manager", "user#view", authz.ChangesItsSubject},
		{model.Schema, "user#replays_own", "recording#replay", authz.ChangesItsSubject},
		{model.Schema, "domain#downloader", "recording#download", authz.ChangesItsSubject},
		// An arrow's tupleset changes anyone's.
		{model.Schema, "site#domain", "site#reach", authz.ChangesAnyone},
		{model.Schema, "domain#platform", "site#reach", authz.ChangesAnyone},
		{model.Schema, "user#site", "user#view_private", authz.ChangesAnyone},
		{model.Schema, "user#agent_in", "user#edit", authz.ChangesAnyone},
		{model.Schema, "domain#reporting", "domain#view_call_summary", authz.ChangesAnyone},
		// Relations a permission does not reach.
		{model.Schema, "user#site", "site#reach", authz.ChangesNobody},
		{model.Schema, "domain#member", "domain#manage", authz.ChangesNobody},
		{model.Schema, "queue#agent", "queue#manage", authz.ChangesNobody},
		{model.Schema, "user#portal_access", "user#view", authz.ChangesNobody},
		// A relation asked directly.
		{model.Schema, "queue#supervisor", "queue#supervisor", authz.ChangesItsSubject},
		{model.Schema, "unknown#relation", "domain#manage", authz.ChangesNobody},
		{model.Schema, "recording#domain", "domain#no_such_permission", authz.ChangesAnyone},
		// Shapes pbxportal does not use.
		{other, "group#member", "doc#read", authz.ChangesAnyone},
		{other, "doc#reader", "doc#read", authz.ChangesAnyone},
		{other, "doc#public", "doc#read", authz.ChangesAnyone},
		{other, "doc#banned", "doc#read", authz.ChangesItsSubject},
		{other, "doc#parent", "doc#both", authz.ChangesAnyone},
		{other, "doc#banned", "doc#both", authz.ChangesItsSubject},
		{other, "doc#parent", "doc#all_parents", authz.ChangesAnyone},
		{other, "group#member", "group#view", authz.ChangesAnyone},
		{other, "doc#reader", "group#view", authz.ChangesNobody},
		{other, "doc#banned", "doc#visit", authz.ChangesAnyone},
	}
	graphs := map[string]*Graph{}
	for _, tt := range tests {
		t.Run(tt.written+" → "+tt.permission, func(t *testing.T) {
			g := graphs[tt.schema]
			if g == nil {
				var err error
				if g, err = New(tt.schema); err != nil {
					t.Fatal(err)
				}
				graphs[tt.schema] = g
			}
			wt, wr := split(tt.written)
			rt, p := split(tt.permission)
			if got := g.Changes(wt, wr, rt, p); got != tt.want {
				t.Errorf("Changes = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExpires(t *testing.T) {
	for _, tt := range []struct {
		schema string
		want   bool
	}{
		{model.Schema, false},
		{"use expiration\ndefinition user {}\ndefinition doc {\n relation guest: user with expiration\n}", true},
	} {
		g, err := New(tt.schema)
		if err != nil {
			t.Fatal(err)
		}
		if g.Expires() != tt.want {
			t.Errorf("Expires() = %v, want %v, for %q", g.Expires(), tt.want, tt.schema)
		}
	}
}

func TestNewRejectsABadSchema(t *testing.T) {
	if _, err := New("definition user { relation x: nosuchtype }"); err == nil {
		t.Fatal("a schema that does not compile was accepted")
	}
}

func split(s string) (string, string) {
	for i := range s {
		if s[i] == '#' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}
