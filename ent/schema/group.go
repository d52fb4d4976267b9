package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Group is a hunt group: the "group" of "replay recordings for group" (docs/product.md §1).
type Group struct{ ent.Schema }

// Fields of the Group.
func (Group) Fields() []ent.Field {
	return []ent.Field{
		field.Int("domain_id").Immutable(),
		field.Int("site_id").Optional(),
		field.String("name").MaxLen(maxName).NotEmpty().Annotations(entgql.OrderField("NAME")),
		field.String("extension").MaxLen(maxNumber).NotEmpty().Annotations(entgql.OrderField("EXTENSION")),
	}
}

// Edges of the Group.
func (Group) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("domain", Domain.Type).Field("domain_id").Unique().Required().Immutable(),
		edge.To("site", Site.Type).Field("site_id").Unique(),
		edge.To("members", User.Type),
		// replayers makes replay_groups many-to-many: a group may be in many
		// users' replayGroups. Read it through the users, not the group.
		edge.From("replayers", User.Type).Ref("replay_groups").Annotations(entgql.Skip()),
	}
}

// Annotations of the Group.
func (Group) Annotations() []schema.Annotation { return listable() }
