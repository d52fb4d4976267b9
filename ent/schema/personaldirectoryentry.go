package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// PersonalDirectoryEntry is one of a user's own contacts (docs/product.md §1, §3.13).
type PersonalDirectoryEntry struct{ ent.Schema }

// Fields of the PersonalDirectoryEntry.
func (PersonalDirectoryEntry) Fields() []ent.Field {
	return []ent.Field{
		field.Int("owner_id").Immutable(),
		field.String("name").MaxLen(maxName).NotEmpty(),
		field.String("number").MaxLen(maxNumber).NotEmpty(),
	}
}

// Edges of the PersonalDirectoryEntry.
func (PersonalDirectoryEntry) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("owner", User.Type).Field("owner_id").Unique().Required().Immutable(),
	}
}

// Annotations of the PersonalDirectoryEntry.
func (PersonalDirectoryEntry) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate())}
}
