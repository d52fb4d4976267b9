package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// RevokedToken is a bearer token ended by logout before its expiry. It names
// the token by its id (jti), never by the token itself, and is kept only
// until the token would have expired anyway (internal/session).
type RevokedToken struct{ ent.Schema }

// Fields of the RevokedToken.
func (RevokedToken) Fields() []ent.Field {
	return []ent.Field{
		field.String("token_id").MaxLen(maxInternal).NotEmpty().Unique().Immutable().
			Comment("The token's jti."),
		field.Int("user_id").Immutable().
			Comment("The user the token was issued to."),
		field.Time("expires_at").Immutable().
			Comment("When the token expires; the row is purged after that."),
	}
}

// Indexes of the RevokedToken: the purge deletes by expiry.
func (RevokedToken) Indexes() []ent.Index {
	return []ent.Index{index.Fields("expires_at")}
}

// Annotations of the RevokedToken: internal, never in GraphQL.
func (RevokedToken) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
