package graph

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
)

// EdgeVisibility is a field middleware that checks every object reached
// through an edge of a visible object: a recording reached through a visible
// user is still checked, and looks exactly like a missing one if the viewer
// may not see it (docs/product.md §4). Root fields filter for themselves, and the nodes
// of a connection were filtered by the connection's own query.
func (r *Resolver) EdgeVisibility(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	fc := graphql.GetFieldContext(ctx)
	if err != nil || res == nil || fc == nil || fc.Object == "Query" || fc.Object == "Mutation" ||
		strings.HasSuffix(fc.Object, "Edge") || strings.HasSuffix(fc.Object, "Payload") {
		return res, err
	}
	v, verr := r.viewer(ctx)
	if verr != nil {
		return res, nil // no viewer: the resolver that needs one has answered UNAUTHENTICATED
	}
	return v.Visible(ctx, res)
}

// WhereVisibility is a field middleware that makes the where argument of
// every field that has one (the root connections) match through an edge
// (has<Edge>With) only objects the viewer may see (access.RestrictWhere),
// before the field's resolver builds its query.
func (r *Resolver) WhereVisibility(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Args == nil || fc.Args["where"] == nil {
		return next(ctx)
	}
	v, err := r.viewer(ctx)
	if err != nil {
		return nil, err
	}
	if err := v.RestrictWhere(ctx, fc.Args["where"]); err != nil {
		return nil, err
	}
	return next(ctx)
}
