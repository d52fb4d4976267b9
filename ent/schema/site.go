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
		// The site's defaults: the values given to users created on it
		// (docs/product.md §3.7). GraphQL shows them as Site.defaults
		// (graph/sites.graphql), typed by the user's own enums.
		field.Enum("service_type").Values("BCC", "CLOUD_PBX").Default("BCC").Annotations(entgql.Skip()),
		field.Enum("feature_plan").Values("STANDARD", "ADVANCED", "PROFESSIONAL").Default("STANDARD").Annotations(entgql.Skip()),
		field.Bool("voice_portal_access").Default(false).Annotations(entgql.Skip()),
		siteMenuDefault("profile_access", "WRITE"),
		siteMenuDefault("call_handling_access", "WRITE"),
		siteMenuDefault("personal_directory_access", "WRITE"),
		siteMenuDefault("button_programming_access", "READ"),
		siteMenuDefault("download_applications_access", "READ"),
	}
}

// siteMenuDefault is a site's default for a self-administration menu, with
// the user's own default.
func siteMenuDefault(name, def string) ent.Field {
	return field.Enum(name).Values("NO_ACCESS", "READ", "WRITE").Default(def).Annotations(entgql.Skip())
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
