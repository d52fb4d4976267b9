package access

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"

	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"

	"github.com/pbxportal/pbxportal/ent/auditevent"
	"github.com/pbxportal/pbxportal/ent/callrecord"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/migrate"
	"github.com/pbxportal/pbxportal/internal/authz/model"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
	"github.com/pbxportal/pbxportal/internal/authz/sqlfilter"
)

// Types of the list-only definitions: call records and audit events have no
// SpiceDB objects (they are never checked one by one), but their lists are
// written in the same language as the model, next to it, and compiled with
// it.
const (
	typeCallRecord = "call_record"
	typeAuditEvent = "audit_event"
)

// listSchema defines who sees call records (docs/product.md §3.12: the domain's to its
// managers, a user's to whoever sees its call history, a queue's to whoever
// sees its reports) and audit events (docs/product.md §3.14: all to support, a
// domain's to its managers, a site's to whoever reads its audit).
const listSchema = `
definition call_record {
    relation domain: domain
    relation user: user
    relation queue: queue
    permission view = domain->manage + user->view_call_history + queue->view_reports
}

definition audit_event {
    relation platform: platform
    relation domain: domain
    relation site: site
    permission view = platform->support + domain->manage + site->read_audit
}
`

// listColumns are the columns of the list-only definitions.
func listColumns() []sqlfilter.Column {
	fk := projection.ForeignKeyColumn
	return []sqlfilter.Column{
		fk(typeCallRecord, "domain", callrecord.FieldDomainID),
		fk(typeCallRecord, "user", callrecord.FieldUserID),
		fk(typeCallRecord, "queue", callrecord.FieldQueueID),
		projection.PlatformColumn(typeAuditEvent, "platform"),
		fk(typeAuditEvent, "domain", auditevent.FieldDomainID),
		fk(typeAuditEvent, "site", auditevent.FieldSiteID),
	}
}

// notNull says whether a column of the portal's schema never holds NULL.
func notNull(table, column string) bool {
	c, ok := portalTable(table).Column(column)
	return ok && !c.Nullable
}

// references names the table that a column of a table references by a
// foreign key in the generated schema, "" if none.
func references(table, column string) string {
	for _, fk := range portalTable(table).ForeignKeys {
		if len(fk.Columns) == 1 && fk.Columns[0].Name == column && fk.RefTable != nil {
			return fk.RefTable.Name
		}
	}
	return ""
}

// portalTable is the table of the portal's generated schema named name, an
// empty one if there is none.
func portalTable(name string) *schema.Table {
	for _, t := range migrate.Tables {
		if t.Name == name {
			return t
		}
	}
	return schema.NewTable(name)
}

// list is one root connection: the type and permission that make an object
// of it visible.
type list struct{ typ, permission string }

// rootLists are the root connections filtered by a compiled permission, by
// the ent type they list.
func rootLists() map[string]list {
	return map[string]list{
		"User":       {projection.TypeUser, "view"},
		"Site":       {projection.TypeSite, "view"},
		"CallQueue":  {projection.TypeQueue, "view"},
		"Group":      {projection.TypeGroup, "view"},
		"Recording":  {projection.TypeRecording, "replay"},
		"Domain":     {projection.TypeDomain, "view"},
		"Contact":    {projection.TypeContact, "view"},
		"CallRecord": {typeCallRecord, "view"},
		"AuditEvent": {typeAuditEvent, "view"},
	}
}

// Lists holds the compiled filter of every root connection. It is built
// once, from schema.zed and the projection's columns, and shared by every
// request.
type Lists struct {
	schema *sqlfilter.Schema
	plans  map[list]*sqlfilter.Plan
	local  map[list]bool // the lookups LocalLookup answers
	row    map[list]bool // those it answers from the viewer's row

	mu     sync.Mutex
	checks map[list]*sqlfilter.Plan // compiled on first use; nil: does not compile
}

// NewLists compiles the filter of every root connection.
func NewLists() (*Lists, error) {
	s, err := sqlfilter.New(sqlfilter.Config{
		Schema:     model.Schema + listSchema,
		Columns:    append(projection.Columns(), listColumns()...),
		Tables:     projection.Tables(),
		Viewer:     projection.TypeUser,
		Broad:      map[string]string{projection.TypeDomain: domain.Table},
		NotNull:    notNull,
		References: references,
	})
	if err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	row := rowRelations(s)
	l := &Lists{schema: s, plans: map[list]*sqlfilter.Plan{}, checks: map[list]*sqlfilter.Plan{}, local: localAnswers(s, row), row: row}
	for _, rl := range rootLists() {
		p, err := s.Compile(rl.typ, rl.permission)
		if err != nil {
			return nil, fmt.Errorf("access: %w", err)
		}
		l.plans[rl] = p
	}
	return l, nil
}

// Plans returns the compiled plan of every root connection, for tests and
// documentation.
func (l *Lists) Plans() []*sqlfilter.Plan {
	lists := rootLists()
	out := make([]*sqlfilter.Plan, 0, len(lists))
	for _, name := range slices.Sorted(maps.Keys(lists)) {
		out = append(out, l.plans[lists[name]])
	}
	return out
}

// plan is the compiled filter of typ#permission for a permission check
// (Decider): a root connection's, or one compiled on first use; nil when it
// does not compile to SQL or the type has no table.
func (l *Lists) plan(k list) *sqlfilter.Plan {
	if p := l.plans[k]; p != nil {
		if p.Fallback != "" {
			return nil
		}
		return p
	}
	if projection.EntType(k.typ) == "" {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.checks[k]
	if !ok {
		p, _ = l.schema.Compile(k.typ, k.permission) // not in the schema: nil
		if p != nil && p.Fallback != "" {
			p = nil
		}
		l.checks[k] = p
	}
	return p
}

// filter returns the SQL filter of typ#permission for the viewer, for any
// use but a root connection's own (where filters through an edge, checks
// decided in SQL): it never splits a count, so that only the list's own
// filter decides the count's parts (see uncounted).
func (v Viewer) filter(ctx context.Context, typ, permission string) (func(*sql.Selector), error) {
	f, err := v.listFilter(ctx, typ, permission)
	if err != nil {
		return nil, err
	}
	return uncounted(f), nil
}

// listFilter returns the SQL filter of the root connection typ#permission
// for the viewer: the compiled plan when the permission compiles, else
// every visible id looked up on the type itself (sent as one JSON parameter
// when it is long). It is the one filter that may claim a count
// (totalCount) and split it into parts (CountByParts, sqlfilter.CountPart).
func (v Viewer) listFilter(ctx context.Context, typ, permission string) (func(*sql.Selector), error) {
	p := v.Lists.plans[list{typ, permission}]
	if p == nil {
		p = v.Lists.plan(list{typ, permission})
	}
	if p == nil {
		return nil, fmt.Errorf("access: no compiled filter of %s#%s", typ, permission)
	}
	if p.Fallback == "" {
		f, err := p.Filter(ctx, v.Lists.schema, v.User.ID, func(ctx context.Context, typ, perm string) ([]string, error) {
			return v.Checks.LookupResources(ctx, typ, perm)
		})
		if err != nil {
			return nil, fmt.Errorf("access: %w", err)
		}
		return f.Apply, nil
	}
	ids, err := v.lookup(ctx, typ, permission)
	if err != nil {
		return nil, err
	}
	return func(s *sql.Selector) { s.Where(sqlfilter.InInts(s.C("id"), ids)) }, nil
}

// lookup returns the ids of the objects of typ on which the viewer has
// permission.
func (v Viewer) lookup(ctx context.Context, typ, permission string) ([]int, error) {
	raw, err := v.Checks.LookupResources(ctx, typ, permission)
	if err != nil {
		return nil, fmt.Errorf("access: lookup %s#%s: %w", typ, permission, err)
	}
	ids := make([]int, 0, len(raw))
	for _, s := range raw {
		id, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("access: lookup %s returned id %q: %w", typ, s, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
