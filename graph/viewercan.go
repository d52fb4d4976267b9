package graph

import (
	"context"
	"errors"

	"github.com/pbxportal/pbxportal/internal/access"
	"github.com/pbxportal/pbxportal/internal/apperr"
	"github.com/pbxportal/pbxportal/internal/authz"
)

// viewerCan answers permissions of the viewer on obj, through the request's
// batcher: the viewerCan of every object in a list goes out in one call.
func viewerCan(ctx context.Context, obj any, permissions ...string) ([]bool, error) {
	b, ok := authz.BatcherFrom(ctx)
	if !ok {
		return nil, apperr.New(apperr.Unauthenticated, "log in first")
	}
	o, ok := access.ObjectOf(obj)
	if !ok {
		return nil, apperr.Wrap(apperr.Internal, errors.New("viewerCan on an unprojected type"), "internal error")
	}
	checks := make([]authz.Check, len(permissions))
	for i, p := range permissions {
		checks[i] = authz.Check{Resource: o, Permission: p}
	}
	return b.CheckMany(ctx, checks)
}
