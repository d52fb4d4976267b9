package projection

import (
	"context"
	"slices"

	"entgo.io/ent/dialect/sql"

	"github.com/pbxportal/pbxportal/ent/callqueue"
	"github.com/pbxportal/pbxportal/ent/recording"
	"github.com/pbxportal/pbxportal/ent/site"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/authz/sqlfilter"
	"github.com/pbxportal/pbxportal/internal/scope"
)

// This file is the SQL reading of the emitters above: for each relation they
// write, which rows of which table hold it. It sits next to them so that a
// change to one is a change to the other. TestColumnsCoverTheModel checks
// that every relation of the model has one column; the differential test of
// internal/app checks that the columns select exactly the rows that SpiceDB
// says hold the relations.

// Tables names the table of each projected type whose rows a list filter
// may read directly (a "through" type: its population grows with a domain,
// so it is compiled to a subquery rather than looked up first). A
// permission of such a type built from a domain's grant (site#read_audit
// is site_manager + domain->manage) would answer an office manager's lookup
// with every site of her domain, an id list that every page would carry; as
// a subquery it is tested only on the rows the domain's own term leaves.
// Where the subquery's filter is ids already known (a site manager's site,
// from her own row), the list is those ids, as a lookup's would be.
func Tables() map[string]string {
	return map[string]string{TypeUser: user.Table, TypeSite: site.Table, TypeQueue: callqueue.Table}
}

// cond is a condition on a row, given a function that qualifies a column.
type cond func(c func(string) string) *sql.Predicate

func eq(col string, v any) cond {
	return func(c func(string) string) *sql.Predicate { return sql.EQ(c(col), v) }
}

func neq(col string, v any) cond {
	return func(c func(string) string) *sql.Predicate { return sql.NEQ(c(col), v) }
}

func in(col string, vs ...string) cond {
	return func(c func(string) string) *sql.Predicate {
		args := make([]any, len(vs))
		for i, v := range vs {
			args[i] = v
		}
		return sql.In(c(col), args...)
	}
}

func all(s func(string) string, conds []cond, last *sql.Predicate) *sql.Predicate {
	preds := make([]*sql.Predicate, 0, len(conds)+1)
	for _, c := range conds {
		preds = append(preds, c(s))
	}
	if len(preds) == 0 {
		return last
	}
	return sql.And(append(preds, last)...)
}

// fk: the relation's subject is the id in col of the resource's own row,
// for rows that pass conds.
func fk(resource, relation, col string, conds ...cond) sqlfilter.Column {
	return sqlfilter.Column{Resource: resource, Relation: relation,
		Match: func(s *sql.Selector, in func(string) *sql.Predicate) *sql.Predicate {
			return all(s.C, conds, in(s.C(col)))
		}}
}

// copied: the subjects of relation via of the row that the resource's
// relation holds, as the resource's own row keeps them in col (see
// sqlfilter.Column.Via).
func copied(resource, relation, via, col string) sqlfilter.Column {
	c := fk(resource, relation, col)
	c.Via = via
	return c
}

// self: the relation's subject is the row itself (a switch the row turns on).
func self(resource, relation string, conds ...cond) sqlfilter.Column {
	c := fk(resource, relation, "id", conds...)
	c.Self = true
	return c
}

// ownRow: a relation of resource that only its subjects themselves write,
// from their rows and memberships (RowRelations), looked up from the
// viewer's: the resources found are tested by their id (see
// sqlfilter.Column.LookedUp).
func ownRow(resource, relation string) sqlfilter.Column {
	c := fk(resource, relation, "id")
	c.LookedUp = true
	return c
}

// via: the relation's subjects are in another table: rows of table whose
// subjectCol is the subject and resourceCol the resource, and that pass
// conds.
func via(resource, relation, table, resourceCol, subjectCol string, conds ...cond) sqlfilter.Column {
	return sqlfilter.Column{Resource: resource, Relation: relation,
		Match: func(s *sql.Selector, in func(string) *sql.Predicate) *sql.Predicate {
			t := sql.Dialect(s.Dialect()).Table(table).As("via_" + relation)
			sub := sql.Dialect(s.Dialect()).Select(t.C(resourceCol)).From(t).Where(all(t.C, conds, in(t.C(subjectCol))))
			return sql.In(s.C("id"), sub)
		}}
}

// Columns returns, for every relation the emitters write, the rows that hold
// it.
func Columns() []sqlfilter.Column {
	portal := neq(user.FieldScope, string(user.ScopeNO_PORTAL))
	var belowSiteManager []string
	for _, s := range scope.Ordered() {
		if scope.Below(s, string(user.ScopeSITE_MANAGER)) {
			belowSiteManager = append(belowSiteManager, s)
		}
	}
	mm := eq(user.FieldMediaManagerReplay, true)
	cols := []sqlfilter.Column{
		// emitDomain
		PlatformColumn(TypeDomain, "platform"),
		self(TypeDomain, "scope_delegation", eq("scope_management", "OFFICE_MANAGERS")),
		self(TypeDomain, "reporting", eq("call_reporting_available", true)),
		// emitUser: the user's own row
		self(TypeUser, "self"),
		fk(TypeUser, "domain", user.FieldDomainID),
		fk(TypeUser, "site", user.FieldSiteID),
		fk(TypeUser, "site_editable", user.FieldSiteID, in(user.FieldScope, belowSiteManager...)),
		fk(TypeUser, "directory", user.FieldDomainID, portal),
		self(TypeUser, "portal_access", portal, eq(user.FieldVoicePortalAccess, true)),
		fk(TypeUser, "credentials_domain", user.FieldDomainID, neq(user.FieldScope, string(user.ScopeOFFICE_MANAGER))),
		self(TypeUser, "replays_own", mm, eq(user.FieldReplayOwn, true)),
		// emitUser: relations of other objects that the subject's row alone
		// writes
		ownRow(TypeSite, "site_manager"),
		ownRow(TypeDomain, "member"),
		ownRow(TypeDomain, "office_manager"),
		ownRow(TypeDomain, "historical_reporter"),
		ownRow(TypeDomain, "replays_all"),
		ownRow(TypeDomain, "downloader"),
		// emitUser: relations of other objects that a user's memberships
		// write
		ownRow(TypeGroup, "member"),
		ownRow(TypeQueue, "supervisor"),
		ownRow(TypeQueue, "agent"),
		ownRow(TypeGroup, "replayer"),
		// emitUser: the user's own queues, while it is an agent
		{Resource: TypeUser, Relation: "agent_in", // only while the user is an agent
			Match: func(s *sql.Selector, in func(string) *sql.Predicate) *sql.Predicate {
				queues := via(TypeUser, "agent_in", user.AgentMembershipsTable, user.AgentMembershipsColumn, "queue_id").Match(s, in)
				return sql.And(sql.EQ(s.C(user.FieldScope), string(user.ScopeCALL_CENTER_AGENT)), queues)
			}},
		// emitSite, emitQueue, emitGroup, emitContact
		fk(TypeSite, "domain", "domain_id"),
		fk(TypeQueue, "domain", "domain_id"),
		fk(TypeQueue, "site", "site_id"),
		fk(TypeGroup, "domain", "domain_id"),
		fk(TypeGroup, "site", "site_id"),
		fk(TypeContact, "domain", "domain_id"),
		// emitRecording
		fk(TypeRecording, "domain", recording.FieldDomainID),
		fk(TypeRecording, "owner", recording.FieldOwnerID),
		fk(TypeRecording, "group", recording.FieldGroupID),
		fk(TypeRecording, "queue", recording.FieldQueueID),
		numberColumn(),
		// The owner's site, kept on the recording (ownersite.go): what
		// user#site holds for the user that recording#owner holds.
		copied(TypeRecording, "owner", "site", recording.FieldOwnerSiteID),
	}
	// The menu levels of menus().
	for _, m := range []struct{ name, col string }{
		{"profile", user.FieldProfileAccess},
		{"call_handling", user.FieldCallHandlingAccess},
		{"personal_directory", user.FieldPersonalDirectoryAccess},
		{"button_programming", user.FieldButtonProgrammingAccess},
		{"download_applications", user.FieldDownloadApplicationsAccess},
	} {
		cols = append(cols, self(TypeUser, m.name+"_read", in(m.col, "READ", "WRITE")), self(TypeUser, m.name+"_write", eq(m.col, "WRITE")))
	}
	return cols
}

// ForeignKeyColumn is a relation whose subject is the id in col of the
// resource's own row.
func ForeignKeyColumn(resource, relation, col string) sqlfilter.Column {
	return fk(resource, relation, col)
}

// PlatformColumn is a relation to the one platform, which every row of
// resource has.
func PlatformColumn(resource, relation string) sqlfilter.Column {
	return sqlfilter.Column{Resource: resource, Relation: relation, Resolve: platformResolve}
}

// platformResolve: every row is of the one platform.
func platformResolve(_ context.Context, ids []string) (func(*sql.Selector) *sql.Predicate, error) {
	if slices.Contains(ids, Platform().ID) {
		return func(*sql.Selector) *sql.Predicate { return sql.P(func(b *sql.Builder) { b.WriteString("1 = 1") }) }, nil
	}
	return nil, nil
}
