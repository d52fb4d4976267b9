package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// CallRecord is one call (a CDR), for call history and reports (docs/product.md §1, §3.12).
type CallRecord struct{ ent.Schema }

// Fields of the CallRecord.
func (CallRecord) Fields() []ent.Field {
	return []ent.Field{
		field.Int("domain_id").Immutable(),
		field.Int("user_id").Optional(),
		field.Int("queue_id").Optional(),
		field.Enum("direction").Values("INBOUND", "OUTBOUND", "INTERNAL"),
		field.String("caller").MaxLen(maxNumber).Default(""),
		field.String("callee").MaxLen(maxNumber).Default(""),
		field.Bool("answered").Default(true),
		field.Time("started_at").Annotations(entgql.OrderField("STARTED_AT")),
		field.Int("duration_seconds").NonNegative().Annotations(entgql.OrderField("DURATION")),
	}
}

// Edges of the CallRecord.
func (CallRecord) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("domain", Domain.Type).Field("domain_id").Unique().Required().Immutable(),
		edge.To("user", User.Type).Field("user_id").Unique(),
		edge.To("queue", CallQueue.Type).Field("queue_id").Unique(),
	}
}

// Annotations of the CallRecord: records are written by the PBX.
func (CallRecord) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField()}
}

// Indexes of the CallRecord: the columns a list's filter selects by, a
// container's with the id after it (see Recording's).
func (CallRecord) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("domain_id"),
		index.Fields("user_id", "id"),
		index.Fields("queue_id", "id"),
	}
}
