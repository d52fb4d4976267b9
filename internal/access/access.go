// Package access answers "what may the viewer reach?" as ent predicates, for
// the root connections, and "may the viewer see this object?", for node and
// nodes. It asks SpiceDB through internal/authz and picks the cheapest correct
// strategy per case (DESIGN.md, "Requests, reads"):
//   - a domain-wide grant (support, an office manager) becomes a domain_id
//     predicate, or no predicate at all for support: no lookup is needed;
//   - otherwise the viewer's set is small (its own site, queues, groups), and
//     comes from one LookupResources.
package access

import (
	"context"

	"entgo.io/ent/dialect/sql"

	"fmt"
	"strconv"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/auditevent"
	"github.com/pbxportal/pbxportal/ent/callqueue"
	"github.com/pbxportal/pbxportal/ent/callrecord"
	"github.com/pbxportal/pbxportal/ent/contact"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/group"
	"github.com/pbxportal/pbxportal/ent/predicate"
	"github.com/pbxportal/pbxportal/ent/recording"
	"github.com/pbxportal/pbxportal/ent/site"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
)

// Viewer is the calling user, with the batcher that checks its permissions
// for this request.
type Viewer struct {
	User    *ent.User
	Checks  *authz.Batcher
	Lookups *authz.Client
}

// Object is the viewer as a SpiceDB subject.
func (v Viewer) Object() authz.Object { return projection.Obj(projection.TypeUser, v.User.ID) }

// reach is the viewer's widest grant.
type reach int

const (
	reachOwn     reach = iota // no domain-wide grant
	reachDomain               // manages its whole domain (office manager)
	reachSupport              // every domain (support)
)

// widest asks, in one batched check, whether the viewer is support or manages
// its domain.
func (v Viewer) widest(ctx context.Context) (reach, error) {
	res, err := v.Checks.CheckMany(ctx, []authz.Check{
		{Resource: projection.Platform(), Permission: "support"},
		{Resource: projection.Obj(projection.TypeDomain, v.User.DomainID), Permission: "manage"},
	})
	switch {
	case err != nil:
		return reachOwn, fmt.Errorf("access: widest grant: %w", err)
	case res[0]:
		return reachSupport, nil
	case res[1]:
		return reachDomain, nil
	}
	return reachOwn, nil
}

// lookup returns the ids of the objects of typ on which the viewer has
// permission.
func (v Viewer) lookup(ctx context.Context, typ, permission string) ([]int, error) {
	raw, err := v.Lookups.LookupResources(ctx, typ, permission, v.Object())
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

// scoped builds the predicate of a domain-owned type: none for support, the
// viewer's domain for an office manager, the looked-up ids otherwise.
func scoped[P ~func(*sql.Selector)](ctx context.Context, v Viewer, typ, permission string,
	inDomain func(int) P, in func(...int) P) (P, error) {
	r, err := v.widest(ctx)
	if err != nil {
		return nil, err
	}
	switch r {
	case reachSupport:
		return func(*sql.Selector) {}, nil
	case reachDomain:
		return inDomain(v.User.DomainID), nil
	}
	ids, err := v.lookup(ctx, typ, permission)
	if err != nil {
		return nil, err
	}
	return in(ids...), nil
}

// Users is what the users connection may show: the directory of the viewer's
// domain, less the NO_PORTAL users it cannot reach (SPEC §3.2).
func (v Viewer) Users(ctx context.Context) (predicate.User, error) {
	return scoped(ctx, v, projection.TypeUser, "view", user.DomainID, user.IDIn)
}

// Sites is what the sites connection may show.
func (v Viewer) Sites(ctx context.Context) (predicate.Site, error) {
	return scoped(ctx, v, projection.TypeSite, "view", site.DomainID, site.IDIn)
}

// CallQueues is what the callQueues connection may show.
func (v Viewer) CallQueues(ctx context.Context) (predicate.CallQueue, error) {
	return scoped(ctx, v, projection.TypeQueue, "view", callqueue.DomainID, callqueue.IDIn)
}

// Groups is what the groups connection may show.
func (v Viewer) Groups(ctx context.Context) (predicate.Group, error) {
	return scoped(ctx, v, projection.TypeGroup, "view", group.DomainID, group.IDIn)
}

// Recordings is what the recordings connection may show: what the viewer may replay.
func (v Viewer) Recordings(ctx context.Context) (predicate.Recording, error) {
	return scoped(ctx, v, projection.TypeRecording, "replay", recording.DomainID, recording.IDIn)
}

// Domains is what the domains connection may show.
func (v Viewer) Domains(ctx context.Context) (predicate.Domain, error) {
	return scoped(ctx, v, projection.TypeDomain, "view", domain.ID, domain.IDIn)
}

// Contacts is what the contacts connection may show: the viewer's domain's
// shared contacts (SPEC §3.2, §3.13).
func (v Viewer) Contacts(ctx context.Context) (predicate.Contact, error) {
	r, err := v.widest(ctx)
	switch {
	case err != nil:
		return nil, err
	case r == reachSupport:
		return func(*sql.Selector) {}, nil
	}
	return contact.DomainID(v.User.DomainID), nil
}

// CallRecords is what the callRecords connection may show (SPEC §3.12): the
// domain's for an office manager; otherwise the calls of the users whose call
// history the viewer sees (itself, and a site manager's site) and the calls
// through the queues whose reports it sees (a supervisor's). Two lookups.
func (v Viewer) CallRecords(ctx context.Context) (predicate.CallRecord, error) {
	r, err := v.widest(ctx)
	switch {
	case err != nil:
		return nil, err
	case r == reachSupport:
		return func(*sql.Selector) {}, nil
	case r == reachDomain:
		return callrecord.DomainID(v.User.DomainID), nil
	}
	users, err := v.lookup(ctx, projection.TypeUser, "view_call_history")
	if err != nil {
		return nil, err
	}
	queues, err := v.lookup(ctx, projection.TypeQueue, "view_reports")
	if err != nil {
		return nil, err
	}
	return callrecord.Or(callrecord.UserIDIn(users...), callrecord.QueueIDIn(queues...)), nil
}

// AuditEvents is what the auditEvents connection may show (SPEC §3.14): all
// to support, the domain's to an office manager, its sites' to a site
// manager, nothing to anyone else.
func (v Viewer) AuditEvents(ctx context.Context) (predicate.AuditEvent, error) {
	r, err := v.widest(ctx)
	switch {
	case err != nil:
		return nil, err
	case r == reachSupport:
		return func(*sql.Selector) {}, nil
	case r == reachDomain:
		return auditevent.DomainID(v.User.DomainID), nil
	}
	sites, err := v.lookup(ctx, projection.TypeSite, "read_audit")
	if err != nil {
		return nil, err
	}
	return auditevent.SiteIDIn(sites...), nil
}

// ObjectOf names the SpiceDB object of an ent entity that has one.
func ObjectOf(obj any) (authz.Object, bool) {
	switch n := obj.(type) {
	case *ent.User:
		return projection.Obj(projection.TypeUser, n.ID), true
	case *ent.Site:
		return projection.Obj(projection.TypeSite, n.ID), true
	case *ent.CallQueue:
		return projection.Obj(projection.TypeQueue, n.ID), true
	case *ent.Group:
		return projection.Obj(projection.TypeGroup, n.ID), true
	case *ent.Domain:
		return projection.Obj(projection.TypeDomain, n.ID), true
	case *ent.Recording:
		return projection.Obj(projection.TypeRecording, n.ID), true
	case *ent.Contact:
		return projection.Obj(projection.TypeContact, n.ID), true
	}
	return authz.Object{}, false
}

// Visibility is the permission that makes an object visible: replay for a
// recording (one the viewer cannot replay looks like one that does not
// exist, SPEC §3.11), view for the rest.
func Visibility(o authz.Object) string {
	if o.Type == projection.TypeRecording {
		return "replay"
	}
	return "view"
}

// SeeEach reports, in one batched check, whether the viewer may see each of
// objs (SPEC §4, "Invisible objects"). Objects without a SpiceDB object
// (call records, queue memberships, buttons, …) are not visible on their own.
func (v Viewer) SeeEach(ctx context.Context, objs []any) ([]bool, error) {
	checks := make([]authz.Check, 0, len(objs))
	at := make([]int, 0, len(objs))
	for i, obj := range objs {
		if o, ok := ObjectOf(obj); ok {
			checks = append(checks, authz.Check{Resource: o, Permission: Visibility(o)})
			at = append(at, i)
		}
	}
	seen := make([]bool, len(objs))
	if len(checks) == 0 {
		return seen, nil
	}
	allowed, err := v.Checks.CheckMany(ctx, checks)
	if err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	for k, i := range at {
		seen[i] = allowed[k]
	}
	return seen, nil
}

// MayUsePortal reports whether a user may log into the portal: every scope
// but NO_PORTAL, and only while its Voice Portal Access is on (SPEC §3.1).
func MayUsePortal(u *ent.User) bool {
	return u.Scope != user.ScopeNO_PORTAL && u.VoicePortalAccess
}
