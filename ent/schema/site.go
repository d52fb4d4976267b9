package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Site is a location inside a domain (docs/product.md §1).
type Site struct{ ent.Schema }

// Fields of the Site.
func (Site) Fields() []ent.Field {
	return []ent.Field{
		field.Int("domain_id").Immutable(),
		field.String("name").MaxLen(maxName).NotEmpty().Annotations(entgql.OrderField("NAME")),
	}
}

// Edges of the Site.
func (Site) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("domain", Domain.Type).Field("domain_id").Unique().Required().Immutable(),
	}
}

// Annotations of the Site.
func (Site) Annotations() []schema.Annotation {
	return listable()
}
