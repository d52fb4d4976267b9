package projection

import (
	"context"
	"fmt"
	"strconv"

	"entgo.io/ent/dialect/sql"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/callqueue"
	"github.com/pbxportal/pbxportal/ent/contact"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/group"
	"github.com/pbxportal/pbxportal/ent/queueagent"
	"github.com/pbxportal/pbxportal/ent/recording"
	"github.com/pbxportal/pbxportal/ent/site"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/authz"
)

// PageSize is how many rows of a table one query of Walk reads; with its
// eager-loaded edges, a page of users costs five queries.
const PageSize = 5000

// window selects the rows one query reads: those passing where, in order,
// at most limit of them.
type window struct {
	where func(*sql.Selector)
	order func(*sql.Selector)
	limit int
}

// byID is the window of the one row with that id.
func byID(id int) window {
	return window{where: sql.FieldEQ("id", id), order: ent.Asc("id"), limit: 1}
}

// page is the window of the next size rows, in id order, after the id after.
func page(after, size int) window {
	return window{where: sql.FieldGT("id", after), order: ent.Asc("id"), limit: size}
}

// table is how the projection reads one entity type: the same query and the
// same pure emit function for one entity (Emit) and for every entity (Walk).
type table struct {
	typ string
	// emit emits the entities of the window; it returns how many rows it
	// read and the id of the last one.
	emit func(ctx context.Context, c *ent.Client, w window) (rels []authz.Relationship, rows, last int, err error)
}

// newTable joins a query, which must load everything emit needs, to emit.
func newTable[T any](typ string, query func(context.Context, *ent.Client, window) ([]T, error), id func(T) int, emit func(T) []authz.Relationship) table {
	return table{typ: typ, emit: func(ctx context.Context, c *ent.Client, w window) ([]authz.Relationship, int, int, error) {
		rows, err := query(ctx, c, w)
		if err != nil || len(rows) == 0 {
			return nil, 0, 0, err
		}
		var rels []authz.Relationship
		for _, r := range rows {
			rels = append(rels, emit(r)...)
		}
		return rels, len(rows), id(rows[len(rows)-1]), nil
	}}
}

// tables lists every projected entity type, with its query and emit
// function. A query selects the columns its emit function reads and loads
// the ids of the edges it follows: nothing is read per row.
func tables() []table {
	return []table{
		newTable(TypeDomain, func(ctx context.Context, c *ent.Client, w window) ([]*ent.Domain, error) {
			return c.Domain.Query().Where(w.where).Order(w.order).Limit(w.limit).
				Select(domain.FieldScopeManagement, domain.FieldCallReportingAvailable).All(ctx)
		}, func(d *ent.Domain) int { return d.ID }, emitDomain),
		newTable(TypeSite, func(ctx context.Context, c *ent.Client, w window) ([]*ent.Site, error) {
			return c.Site.Query().Where(w.where).Order(w.order).Limit(w.limit).
				Select(site.FieldDomainID).All(ctx)
		}, func(s *ent.Site) int { return s.ID }, emitSite),
		newTable(TypeUser, func(ctx context.Context, c *ent.Client, w window) ([]*ent.User, error) {
			return c.User.Query().Where(w.where).Order(w.order).Limit(w.limit).
				WithGroups(func(q *ent.GroupQuery) { q.Select(group.FieldID) }).
				WithReplayGroups(func(q *ent.GroupQuery) { q.Select(group.FieldID) }).
				WithSupervisedQueues(func(q *ent.CallQueueQuery) { q.Select(callqueue.FieldID) }).
				WithAgentMemberships(func(q *ent.QueueAgentQuery) { q.Select(queueagent.FieldQueueID, queueagent.FieldUserID) }).
				Select(user.FieldDomainID, user.FieldSiteID, user.FieldScope, user.FieldVoicePortalAccess,
					user.FieldProfileAccess, user.FieldCallHandlingAccess, user.FieldPersonalDirectoryAccess,
					user.FieldButtonProgrammingAccess, user.FieldDownloadApplicationsAccess,
					user.FieldHistoricalCallReporting, user.FieldMediaManagerReplay, user.FieldReplayAll,
					user.FieldReplayOwn, user.FieldReplayOthers, user.FieldDownloadRecordings).All(ctx)
		}, func(u *ent.User) int { return u.ID }, emitUser),
		newTable(TypeQueue, func(ctx context.Context, c *ent.Client, w window) ([]*ent.CallQueue, error) {
			return c.CallQueue.Query().Where(w.where).Order(w.order).Limit(w.limit).
				Select(callqueue.FieldDomainID, callqueue.FieldSiteID).All(ctx)
		}, func(q *ent.CallQueue) int { return q.ID }, emitQueue),
		newTable(TypeGroup, func(ctx context.Context, c *ent.Client, w window) ([]*ent.Group, error) {
			return c.Group.Query().Where(w.where).Order(w.order).Limit(w.limit).
				Select(group.FieldDomainID, group.FieldSiteID).All(ctx)
		}, func(g *ent.Group) int { return g.ID }, emitGroup),
		newTable(TypeRecording, func(ctx context.Context, c *ent.Client, w window) ([]*ent.Recording, error) {
			return c.Recording.Query().Where(w.where).Order(w.order).Limit(w.limit).
				Select(recording.FieldDomainID, recording.FieldOwnerID, recording.FieldGroupID, recording.FieldQueueID,
					recording.FieldCaller, recording.FieldCallee, recording.FieldAccountCode).All(ctx)
		}, func(r *ent.Recording) int { return r.ID }, emitRecording),
		newTable(TypeContact, func(ctx context.Context, c *ent.Client, w window) ([]*ent.Contact, error) {
			return c.Contact.Query().Where(w.where).Order(w.order).Limit(w.limit).
				Select(contact.FieldDomainID).All(ctx)
		}, func(ct *ent.Contact) int { return ct.ID }, emitContact),
	}
}

// Emit returns the relationships that the entity named by obj is responsible
// for, as the database (through c) holds it now. An entity that does not
// exist, or is of a type that emits nothing, emits nothing. It reads the
// entity exactly as Walk reads every entity, and emits it with the same
// function.
func Emit(ctx context.Context, c *ent.Client, obj authz.Object) ([]authz.Relationship, error) {
	for _, t := range tables() {
		if t.typ != obj.Type {
			continue
		}
		id, err := strconv.Atoi(obj.ID)
		if err != nil {
			return nil, fmt.Errorf("projection: object %s: %w", obj, err)
		}
		rels, _, _, err := t.emit(ctx, c, byID(id))
		if err != nil {
			return nil, fmt.Errorf("projection: emit %s: %w", obj, err)
		}
		return rels, nil
	}
	return nil, nil
}

// Walk emits the whole projection of the database, a page of one table at a
// time: fn receives the relationships of up to size rows (PageSize when size
// is 0) and may keep them. Its cost is linear in the database: a handful of
// queries per page, none per row.
func Walk(ctx context.Context, c *ent.Client, size int, fn func([]authz.Relationship) error) error {
	if size <= 0 {
		size = PageSize
	}
	for _, t := range tables() {
		for after := 0; ; {
			rels, rows, last, err := t.emit(ctx, c, page(after, size))
			if err != nil {
				return fmt.Errorf("projection: read %s rows after %d: %w", t.typ, after, err)
			}
			if len(rels) > 0 {
				if err := fn(rels); err != nil {
					return err
				}
			}
			if rows < size {
				break
			}
			after = last
		}
	}
	return nil
}

// All emits the whole projection of the database: the relationships of every
// entity, each once. It is what SpiceDB should hold.
func All(ctx context.Context, c *ent.Client) ([]authz.Relationship, error) {
	var all []authz.Relationship
	err := Walk(ctx, c, PageSize, func(rels []authz.Relationship) error {
		all = append(all, rels...)
		return nil
	})
	return all, err
}
