// Package access answers "what may the viewer reach?" as ent predicates, for
// the root connections, and "may the viewer see this object?", for node and
// nodes. It asks SpiceDB through internal/authz. A list's filter is
// compiled from schema.zed (lists.go, package sqlfilter): SpiceDB answers
// which containers grant the list's permission, SQL selects the rows that
// hang from them (docs/authorization-lists.md).
package access

import (
	"context"

	"fmt"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/predicate"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
)

// Viewer is the calling user, with the batcher that checks its permissions
// and makes its lookups for this request.
type Viewer struct {
	User   *ent.User
	Checks *authz.Batcher
	// Lists are the compiled filters of the root connections.
	Lists *Lists
}

// Object is the viewer as a SpiceDB subject.
func (v Viewer) Object() authz.Object { return projection.Obj(projection.TypeUser, v.User.ID) }

// The root connections. Each filter is compiled from the list's permission
// in schema.zed (see Lists and package sqlfilter): SpiceDB is asked which
// containers (domains, sites, queues, groups, numbers) grant the permission,
// and the rows are selected in SQL by the columns that hold those relations.

// Users is what the users connection may show: user#view.
func (v Viewer) Users(ctx context.Context) (predicate.User, error) {
	return v.listFilter(ctx, projection.TypeUser, "view")
}

// Sites is what the sites connection may show: site#view.
func (v Viewer) Sites(ctx context.Context) (predicate.Site, error) {
	return v.listFilter(ctx, projection.TypeSite, "view")
}

// CallQueues is what the callQueues connection may show: queue#view.
func (v Viewer) CallQueues(ctx context.Context) (predicate.CallQueue, error) {
	return v.listFilter(ctx, projection.TypeQueue, "view")
}

// Groups is what the groups connection may show: group#view.
func (v Viewer) Groups(ctx context.Context) (predicate.Group, error) {
	return v.listFilter(ctx, projection.TypeGroup, "view")
}

// Recordings is what the recordings connection may show: what the viewer
// may replay (recording#replay).
func (v Viewer) Recordings(ctx context.Context) (predicate.Recording, error) {
	return v.listFilter(ctx, projection.TypeRecording, "replay")
}

// Domains is what the domains connection may show: domain#view.
func (v Viewer) Domains(ctx context.Context) (predicate.Domain, error) {
	return v.listFilter(ctx, projection.TypeDomain, "view")
}

// Contacts is what the contacts connection may show: contact#view, the
// domain's shared contacts to its portal users (docs/product.md §3.2, §3.13).
func (v Viewer) Contacts(ctx context.Context) (predicate.Contact, error) {
	return v.listFilter(ctx, projection.TypeContact, "view")
}

// CallRecords is what the callRecords connection may show (docs/product.md §3.12):
// call_record#view of the list-only definitions (listSchema).
func (v Viewer) CallRecords(ctx context.Context) (predicate.CallRecord, error) {
	return v.listFilter(ctx, typeCallRecord, "view")
}

// AuditEvents is what the auditEvents connection may show (docs/product.md §3.14):
// audit_event#view of the list-only definitions (listSchema).
func (v Viewer) AuditEvents(ctx context.Context) (predicate.AuditEvent, error) {
	return v.listFilter(ctx, typeAuditEvent, "view")
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
// exist, docs/product.md §3.11), view for the rest.
func Visibility(o authz.Object) string {
	if o.Type == projection.TypeRecording {
		return "replay"
	}
	return "view"
}

// SeeEach reports, in one batched check, whether the viewer may see each of
// objs (docs/product.md §4). Objects without a SpiceDB object
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
// but NO_PORTAL, and only while its Voice Portal Access is on (docs/product.md §3.1).
func MayUsePortal(u *ent.User) bool {
	return u.Scope != user.ScopeNO_PORTAL && u.VoicePortalAccess
}
