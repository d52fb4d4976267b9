package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Contact is a domain-wide shared directory entry (docs/product.md §1, §3.13).
type Contact struct{ ent.Schema }

// Fields of the Contact.
func (Contact) Fields() []ent.Field {
	return []ent.Field{
		field.Int("domain_id").Immutable(),
		field.String("name").MaxLen(maxName).NotEmpty().Annotations(entgql.OrderField("NAME")),
		field.String("phone").MaxLen(maxNumber).NotEmpty(),
		field.String("email").MaxLen(maxEmail).Optional().Nillable(),
		field.String("company").MaxLen(maxName).Default(""),
	}
}

// Edges of the Contact.
func (Contact) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("domain", Domain.Type).Field("domain_id").Unique().Required().Immutable(),
	}
}

// Annotations of the Contact.
func (Contact) Annotations() []schema.Annotation { return listable() }
