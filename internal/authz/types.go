// Package authz is the only door to SpiceDB: the client (to an embedded or a
// remote SpiceDB), the per-request batched checker, and lookups. Its
// subpackages project the database into relationships (projection) and relay
// them through the outbox (outbox).
package authz

import "errors"

// Object names one SpiceDB object, e.g. {Type: "user", ID: "42"}.
type Object struct{ Type, ID string }

// String returns "type:id".
func (o Object) String() string { return o.Type + ":" + o.ID }

// Relationship is one resource#relation@subject tuple. SubjectRelation is
// optional ("" for none).
type Relationship struct {
	Resource        Object
	Relation        string
	Subject         Object
	SubjectRelation string
}

// String returns "type:id#relation@type:id", with "#relation" after the
// subject when it has one.
func (r Relationship) String() string {
	s := r.Resource.String() + "#" + r.Relation + "@" + r.Subject.String()
	if r.SubjectRelation != "" {
		s += "#" + r.SubjectRelation
	}
	return s
}

// Check is one permission question about a resource.
type Check struct {
	Resource   Object
	Permission string
}

// ErrUnavailable is wrapped by every error caused by SpiceDB being
// unreachable or failing. Callers deny on it: the server fails closed.
var ErrUnavailable = errors.New("authorization service unavailable")
