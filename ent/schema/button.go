package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Button is one of a user's programmable phone buttons (docs/product.md §1).
type Button struct{ ent.Schema }

// Fields of the Button.
func (Button) Fields() []ent.Field {
	return []ent.Field{
		field.Int("owner_id").Immutable(),
		field.Int("position").Positive(),
		field.String("label").MaxLen(maxName).Default(""),
		field.String("feature").MaxLen(maxName).NotEmpty(),
	}
}

// Edges of the Button.
func (Button) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("owner", User.Type).Field("owner_id").Unique().Required().Immutable(),
	}
}

// Indexes of the Button: one button per position.
func (Button) Indexes() []ent.Index {
	return []ent.Index{index.Fields("owner_id", "position").Unique()}
}
