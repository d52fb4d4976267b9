package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
)

// OutboxEntry is one relationship update waiting to be applied to SpiceDB
// (docs/projection.md). It is written in the transaction of the change that
// caused it and deleted once the relay has applied it.
type OutboxEntry struct{ ent.Schema }

// Fields of the OutboxEntry.
func (OutboxEntry) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("operation").Values("TOUCH", "DELETE").Immutable(),
		field.String("relationship").MaxLen(maxToken).NotEmpty().Immutable().
			Comment("resource_type:id#relation@subject_type:id"),
		field.Time("created_at").Default(time.Now).Immutable(),
	}
}

// Annotations of the OutboxEntry: internal, never in GraphQL.
func (OutboxEntry) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
