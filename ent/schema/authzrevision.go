package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
)

// AuthzRevision is the newest SpiceDB revision (a ZedToken) that the
// projection has written, shared by every replica through the database. It
// has one row. Every request reads at least as fresh as it, so that a change
// applied through one replica holds on the very next request to any other.
// The outbox relay also locks the row while it applies the outbox, so that
// replicas apply it one at a time, in order.
type AuthzRevision struct{ ent.Schema }

// Fields of the AuthzRevision.
func (AuthzRevision) Fields() []ent.Field {
	return []ent.Field{
		field.String("zed_token").MaxLen(maxToken).Default("").
			Comment("the newest ZedToken written to SpiceDB; empty before the first write"),
		field.Time("updated_at").Default(time.Now).UpdateDefault(time.Now),
	}
}

// Annotations of the AuthzRevision: internal, never in GraphQL.
func (AuthzRevision) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
