package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// AuditEvent records who did what to whom, and when (docs/product.md §3.14). Secrets are
// redacted before they are written.
type AuditEvent struct{ ent.Schema }

// Fields of the AuditEvent.
func (AuditEvent) Fields() []ent.Field {
	return []ent.Field{
		// The ids of the domain, site and user concerned, as global ids;
		// null when unset.
		field.Int("domain_id").Optional().Immutable().Annotations(entgql.Type("ID")),
		field.Int("site_id").Optional().Immutable().Annotations(entgql.Type("ID")),
		field.Int("actor_id").Optional().Immutable().Annotations(entgql.Type("ID")),
		field.String("action").MaxLen(maxInternal).NotEmpty().Immutable(),
		field.String("target_type").MaxLen(maxInternal).Immutable(),
		field.String("target_id").MaxLen(maxInternal).Immutable(),
		field.Strings("changed_fields").Optional().Immutable().
			Annotations(entgql.Type("[String!]")),
		field.Time("created_at").Default(time.Now).Immutable().
			Annotations(entgql.OrderField("CREATED_AT")),
	}
}

// auditEventIDs is the start of the audit events' range of global ids.
// Every type has a range of 1<<32 ids (ent's global ids); the audit events
// first had the range that starts at 0, where an id reads as a plain
// number, so they were given the next free one.
const auditEventIDs = 15 << 32

// Annotations of the AuditEvent: written by the server, read-only in GraphQL.
func (AuditEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(), entgql.QueryField(),
		entsql.IncrementStart(auditEventIDs),
	}
}

// Indexes of the AuditEvent: the columns a list's filter selects by.
func (AuditEvent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("domain_id"),
		index.Fields("site_id"),
	}
}
