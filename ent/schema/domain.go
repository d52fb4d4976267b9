package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
)

// Domain is a customer organisation: one PBX account (docs/product.md §1).
type Domain struct{ ent.Schema }

// Fields of the Domain.
func (Domain) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").MaxLen(maxName).NotEmpty().Unique().
			Annotations(entgql.OrderField("NAME")),
		field.Enum("plan").Values("STANDARD", "ENTERPRISE", "TIERED_ENTERPRISE").Default("STANDARD"),
		field.Bool("call_reporting_available").Default(false),
		field.Enum("scope_management").Values("SUPPORT_ONLY", "OFFICE_MANAGERS").Default("SUPPORT_ONLY"),
	}
}

// Annotations of the Domain.
func (Domain) Annotations() []schema.Annotation {
	return listable()
}
