package projection

import (
	"testing"

	"github.com/pbxportal/pbxportal/internal/authz"
)

// TestFingerprintsTellFieldsApart: compare keeps fingerprints, not
// relationships, so two relationships whose fields hold the same characters
// split differently must not share one (an extra relationship taken for a
// wanted one would stay in SpiceDB).
func TestFingerprintsTellFieldsApart(t *testing.T) {
	base := authz.Relationship{Resource: authz.Object{Type: "recording", ID: "12"}, Relation: "owner", Subject: authz.Object{Type: "user", ID: "3"}}
	tests := []struct {
		name string
		a, b authz.Relationship
	}{
		{"resource id and relation", base, authz.Relationship{Resource: authz.Object{Type: "recording", ID: "12o"}, Relation: "wner", Subject: base.Subject}},
		{"type and id", base, authz.Relationship{Resource: authz.Object{Type: "recordin", ID: "g12"}, Relation: "owner", Subject: base.Subject}},
		{"subject relation", authz.Relationship{Resource: base.Resource, Relation: "member", Subject: authz.Object{Type: "group", ID: "1"}, SubjectRelation: "member"},
			authz.Relationship{Resource: base.Resource, Relation: "member", Subject: authz.Object{Type: "group", ID: "1member"}}},
		{"resource and subject swapped", base, authz.Relationship{Resource: authz.Object{Type: "user", ID: "3"}, Relation: "owner", Subject: authz.Object{Type: "recording", ID: "12"}}},
	}
	fp := newFingerprinter()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if fp.of(tt.a) == fp.of(tt.b) {
				t.Errorf("%s and %s share a fingerprint", tt.a, tt.b)
			}
			if fp.of(tt.a) != fp.of(tt.a) {
				t.Errorf("%s has two fingerprints", tt.a)
			}
		})
	}
}
