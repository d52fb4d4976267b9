package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// CallQueue is a call-center queue with supervisors and agents (docs/product.md §1, §3.8).
type CallQueue struct{ ent.Schema }

// Fields of the CallQueue.
func (CallQueue) Fields() []ent.Field {
	return []ent.Field{
		field.Int("domain_id").Immutable(),
		field.Int("site_id").Optional(),
		field.String("name").MaxLen(maxName).NotEmpty().Annotations(entgql.OrderField("NAME")),
		field.String("extension").MaxLen(maxNumber).NotEmpty().Annotations(entgql.OrderField("EXTENSION")),
	}
}

// Edges of the CallQueue.
func (CallQueue) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("domain", Domain.Type).Field("domain_id").Unique().Required().Immutable(),
		edge.To("site", Site.Type).Field("site_id").Unique(),
		edge.To("supervisors", User.Type).Annotations(readOnly()),
		edge.From("agents", QueueAgent.Type).Ref("queue").
			Annotations(guarded(PermViewAgentStatus), readOnly()),
	}
}

// Annotations of the CallQueue.
func (CallQueue) Annotations() []schema.Annotation { return listable() }
