package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// QueueAgent is a user's membership of a call queue as an agent, with its
// real-time state (docs/product.md §1).
type QueueAgent struct{ ent.Schema }

// Fields of the QueueAgent.
func (QueueAgent) Fields() []ent.Field {
	return []ent.Field{
		field.Int("queue_id").Immutable(),
		field.Int("user_id").Immutable(),
		field.Bool("logged_in").Default(false),
		field.Enum("status").Values("AVAILABLE", "BREAK", "LUNCH", "OFFLINE").Default("OFFLINE"),
	}
}

// Edges of the QueueAgent.
func (QueueAgent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("queue", CallQueue.Type).Field("queue_id").Unique().Required().Immutable(),
		edge.To("user", User.Type).Field("user_id").Unique().Required().Immutable(),
	}
}

// Indexes of the QueueAgent: a user is an agent of a queue at most once.
func (QueueAgent) Indexes() []ent.Index {
	return []ent.Index{index.Fields("queue_id", "user_id").Unique()}
}
