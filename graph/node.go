package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/access"
)

// loadNodes loads the objects named by ids that the viewer may see, for
// node and nodes. An id the viewer may not see and one that names nothing
// (no such row, or no type's id range) answer the same: a nil node and
// the same NOT_FOUND error (docs/product.md §4).
// Other failures are returned as they are, per id.
func (r *Resolver) loadNodes(ctx context.Context, ids []int) ([]ent.Noder, []error, error) {
	v, err := r.viewer(ctx)
	if err != nil {
		return nil, nil, err
	}
	nodes := make([]ent.Noder, len(ids))
	errs := make([]error, len(ids))
	found := make([]any, 0, len(ids))
	at := make([]int, 0, len(ids))
	for i, id := range ids {
		n, err := r.client.Noder(ctx, id)
		switch {
		case ent.IsNotFound(err):
			errs[i] = access.OrNotVisible(nil)
		case err != nil:
			errs[i] = err
		default:
			found = append(found, n)
			at = append(at, i)
		}
	}
	seen, err := v.SeeNodes(ctx, r.client, found)
	if err != nil {
		return nil, nil, err
	}
	for k, i := range at {
		if seen[k] {
			nodes[i] = found[k].(ent.Noder)
		} else {
			errs[i] = access.OrNotVisible(nil)
		}
	}
	return nodes, errs, nil
}

// addItemError reports the error of item i of a list field at the item's
// path, as ["nodes", i], so that only that item is null.
func addItemError(ctx context.Context, i int, err error) {
	path := append(graphql.GetPath(ctx), ast.PathIndex(i))
	graphql.AddError(ctx, &gqlerror.Error{Err: err, Message: err.Error(), Path: path})
}
