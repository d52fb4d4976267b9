package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Recording is one call recording (docs/product.md §1, §3.11). Its media is reached
// through a short-lived signed URL, never through the stored file name.
type Recording struct{ ent.Schema }

// Fields of the Recording.
func (Recording) Fields() []ent.Field {
	return []ent.Field{
		field.Int("domain_id").Immutable(),
		field.Int("owner_id").Optional(),
		field.Int("group_id").Optional(),
		field.Int("queue_id").Optional(),
		field.String("call_id").MaxLen(maxInternal).NotEmpty(),
		field.String("caller").MaxLen(maxNumber).Default(""),
		field.String("callee").MaxLen(maxNumber).Default(""),
		field.String("account_code").MaxLen(maxNumber).Default(""),
		field.Time("started_at").Annotations(entgql.OrderField("STARTED_AT")),
		field.Int("duration_seconds").NonNegative().Annotations(entgql.OrderField("DURATION")),
		field.String("media_file").MaxLen(maxInternal).Default("").Annotations(entgql.Skip()),
		// The normalised digits of caller, callee and account_code (what
		// projection.Number makes a number's id of), written by the
		// projection's hook on every write so that number rights select
		// recordings by index. Empty when the raw value has no digits; NULL
		// only on a row written before the columns existed, until the
		// start-up backfill reaches it.
		field.String("caller_number").MaxLen(maxNumber).Optional().Nillable().Annotations(entgql.Skip()),
		field.String("callee_number").MaxLen(maxNumber).Optional().Nillable().Annotations(entgql.Skip()),
		field.String("account_code_number").MaxLen(maxNumber).Optional().Nillable().Annotations(entgql.Skip()),
		// The site of the owner (users.site_id of owner_id), kept equal to
		// it in the transaction of every write that can change it
		// (projection.OwnerSiteHook, and the database's ON DELETE SET NULL
		// when the site is deleted), so that a site manager's right
		// (recording.owner -> user.site -> site.reach) selects recordings
		// by index rather than through the owners' rows. NULL without an
		// owner, or for an owner without a site; also, on a row written
		// before the column existed, until the start-up backfill reaches
		// it (projection.BackfillOwnerSites).
		field.Int("owner_site_id").Optional().Nillable().Annotations(entgql.Skip()),
	}
}

// Edges of the Recording.
func (Recording) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("domain", Domain.Type).Field("domain_id").Unique().Required().Immutable(),
		edge.To("owner", User.Type).Field("owner_id").Unique(),
		edge.To("group", Group.Type).Field("group_id").Unique(),
		edge.To("queue", CallQueue.Type).Field("queue_id").Unique(),
		edge.To("owner_site", Site.Type).Field("owner_site_id").Unique().Annotations(entgql.Skip()),
	}
}

// Annotations of the Recording: recordings are made by the PBX, not by portal users.
func (Recording) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField()}
}

// Indexes of the Recording: every column a list's filter selects by (the
// domain, and the owner, group, queue and numbers a replay right may come
// through). A container's column is indexed with the id after it, so that
// a page of one container's rows (a supervisor's queue) is one range of
// its index, in the page's order, however few of the table's rows it
// holds: with the column alone PostgreSQL may walk the primary key instead.
func (Recording) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("domain_id"),
		index.Fields("owner_id", "id"),
		index.Fields("group_id", "id"),
		index.Fields("queue_id", "id"),
		index.Fields("domain_id", "caller_number"),
		index.Fields("domain_id", "callee_number"),
		index.Fields("domain_id", "account_code_number"),
		// The rows whose normalised numbers are still to be filled
		// (projection.BackfillNumbers, at every start): none once filled,
		// so that a start finds them without reading every recording. The
		// predicate is written as PostgreSQL writes it back, so that the
		// migrated schema does not drift from this one.
		index.Fields("domain_id").StorageKey("recording_numbers_missing").
			Annotations(entsql.IndexWhere("((caller_number IS NULL) OR (callee_number IS NULL) OR (account_code_number IS NULL))")),
		// A site manager's page: the recordings of the owners of the
		// granted sites, in id order, read a page at a time.
		index.Fields("owner_site_id", "id"),
		// The rows whose owner's site may be still to fill
		// (projection.BackfillOwnerSites, at every start): those written
		// before the column existed, and those whose owner has no site.
		index.Fields("owner_id").StorageKey("recording_owner_site_missing").
			Annotations(entsql.IndexWhere("((owner_id IS NOT NULL) AND (owner_site_id IS NULL))")),
	}
}
