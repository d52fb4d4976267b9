package graph

import (
	"context"
	"fmt"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/access"
	"github.com/pbxportal/pbxportal/internal/apperr"
	"github.com/pbxportal/pbxportal/internal/authz"
)

// viewerCanPermissions are the permissions behind the viewerCan booleans of
// an object's type, in the order of the fields of its *ViewerCan type.
func viewerCanPermissions(obj any) []string {
	switch obj.(type) {
	case *ent.CallQueue:
		return []string{"manage", "manage", "assign_supervisors", "manage_agents", "log_agents", "view_agent_status", "view_reports"}
	case *ent.Contact:
		return []string{"edit", "edit"}
	case *ent.Domain:
		return []string{"edit", "create_sites", "manage_scopes", "edit_contacts", "read_audit", "view_call_summary"}
	case *ent.Group:
		return []string{"manage"}
	case *ent.Recording:
		return []string{"replay", "download"}
	case *ent.Site:
		return []string{"edit_defaults", "manage", "manage"}
	case *ent.User:
		return []string{"view_private", "edit", "reset_password", "change_email", "change_scope", "change_media_rights", "change_self_admin_access"}
	}
	return nil
}

// viewerCan answers the viewerCan permissions of obj, through the request's
// batcher: the viewerCan of every object in a list goes out in one call.
func viewerCan(ctx context.Context, obj any) ([]bool, error) {
	return checkOn(ctx, obj, viewerCanPermissions(obj)...)
}

// checkOn asks the request's batcher for the viewer's permissions on the
// SpiceDB object of obj, an ent entity.
func checkOn(ctx context.Context, obj any, permissions ...string) ([]bool, error) {
	b, ok := authz.BatcherFrom(ctx)
	if !ok {
		return nil, apperr.New(apperr.Unauthenticated, "log in first")
	}
	o, ok := access.ObjectOf(obj)
	if !ok {
		return nil, apperr.Wrap(apperr.Internal, fmt.Errorf("permission check on %T, which has no SpiceDB object", obj), "internal error")
	}
	checks := make([]authz.Check, len(permissions))
	for i, p := range permissions {
		checks[i] = authz.Check{Resource: o, Permission: p}
	}
	return b.CheckMany(ctx, checks)
}
