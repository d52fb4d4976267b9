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
