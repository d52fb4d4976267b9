package access

import (
	"slices"
	"strings"
	"testing"

	"github.com/pbxportal/pbxportal/internal/authz/projection"
)

// TestRootListsCompile: every root connection compiles to SQL, asking
// SpiceDB only about containers, never about the leaf types, but for a
// relation that only the viewer's own row holds (a Self column: the answer
// is the viewer or nothing, whatever the size of the domain).
func TestRootListsCompile(t *testing.T) {
	l, err := NewLists()
	if err != nil {
		t.Fatal(err)
	}
	self := map[string]bool{}
	for _, c := range projection.Columns() {
		if c.Self && c.Resource == projection.TypeUser {
			self[c.Resource+"#"+c.Relation] = true
		}
	}
	for _, p := range l.Plans() {
		if p.Fallback != "" {
			t.Errorf("%s#%s falls back: %s", p.Type, p.Permission, p.Fallback)
		}
		for _, k := range p.Lookups() {
			for _, leaf := range []string{projection.TypeUser, projection.TypeRecording, projection.TypeContact, typeCallRecord, typeAuditEvent} {
				if strings.HasPrefix(k, leaf+"#") && !self[k] {
					t.Errorf("%s#%s looks up the leaf type: %s", p.Type, p.Permission, k)
				}
			}
		}
	}
	tests := []struct {
		typ, permission string
		want            []string
	}{
		{projection.TypeRecording, "replay", []string{"domain#replays_all", "group#replayer", "number#replayer", "domain#manage", "site#site_manager", "queue#supervisor", "user#replays_own"}},
		{projection.TypeUser, "view", []string{"domain#member", "domain#manage", "site#site_manager", "queue#supervisor"}},
		{typeCallRecord, "view", []string{"domain#manage", "site#site_manager", "queue#supervisor", "user#self"}},
		{typeAuditEvent, "view", []string{"platform#support", "domain#manage", "site#site_manager"}},
	}
	for _, tt := range tests {
		p := l.plans[list{tt.typ, tt.permission}]
		got := p.Lookups()
		slices.Sort(got)
		slices.Sort(tt.want)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s#%s looks up %v, want %v", tt.typ, tt.permission, got, tt.want)
		}
	}
}

// TestIntersectionFallsBack: download is replay & downloader, which does not
// compile; the plan says so instead of filtering wrongly.
func TestIntersectionFallsBack(t *testing.T) {
	l, err := NewLists()
	if err != nil {
		t.Fatal(err)
	}
	p, err := l.schema.Compile(projection.TypeRecording, "download")
	if err != nil {
		t.Fatal(err)
	}
	if p.Fallback == "" || len(p.Lookups()) != 0 {
		t.Errorf("recording#download: fallback %q, lookups %v; want a fallback", p.Fallback, p.Lookups())
	}
}

// TestListsCarryNoDomainSizedLookup: no root connection's filter carries a
// looked-up set that grows with the domain for a domain-wide viewer. A
// lookup of a permission built from a domain's grant (site#reach is
// site_manager + domain->manage) answers an office manager with every site
// of her domain, which the list would then carry as an id list on every
// page: its cost would grow with the domain, not with her grants. Such a
// permission must be reached through its type's table (a subquery that the
// domain's own term tests), or not at all.
func TestListsCarryNoDomainSizedLookup(t *testing.T) {
	l, err := NewLists()
	if err != nil {
		t.Fatal(err)
	}
	var fromDomain func(k string, seen map[string]bool) bool
	fromDomain = func(k string, seen map[string]bool) bool {
		typ, perm, _ := strings.Cut(k, "#")
		if typ == projection.TypeDomain {
			return true
		}
		if seen[k] || l.row[list{typ, perm}] {
			return false
		}
		seen[k] = true
		p := l.plan(list{typ, perm})
		return p != nil && slices.ContainsFunc(p.Lookups(), func(sub string) bool { return fromDomain(sub, seen) })
	}
	for _, p := range l.Plans() {
		for _, k := range p.Lookups() {
			if typ, _, _ := strings.Cut(k, "#"); typ != projection.TypeDomain && fromDomain(k, map[string]bool{}) {
				t.Errorf("%s#%s looks up %s, which a domain's grant answers with every %s of the domain", p.Type, p.Permission, k, typ)
			}
		}
	}
}
