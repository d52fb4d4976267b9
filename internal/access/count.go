package access

import (
	"context"
	"fmt"

	entgo "entgo.io/ent"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/authz/sqlfilter"
)

// CountByParts is the interceptor that lets a list's filter split a count
// (a connection's totalCount) into disjoint parts, each counted by its own
// index, and adds them up (docs/authorization-lists.md). A count whose
// filter does not split runs once, as before. It is registered on every
// client that serves lists (app.OpenStore).
func CountByParts() ent.Interceptor {
	return ent.InterceptFunc(func(next ent.Querier) ent.Querier {
		return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
			if qc := entgo.QueryFromContext(ctx); qc == nil || qc.Op != entgo.OpQueryCount {
				return next.Query(ctx, q)
			}
			pctx, part := sqlfilter.CountPart(ctx)
			total := 0
			for {
				v, err := next.Query(pctx, q)
				if err != nil {
					return nil, err
				}
				n, ok := v.(int)
				if !ok {
					return nil, fmt.Errorf("access: a count returned %T", v)
				}
				total += n
				if part.Last() {
					return total, nil
				}
				pctx, part = part.Next(ctx)
			}
		})
	})
}
