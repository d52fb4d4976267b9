package access

import (
	"context"
	"fmt"

	entgo "entgo.io/ent"
	"entgo.io/ent/dialect/sql"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/authz/sqlfilter"
)

// CountByParts is the interceptor that lets a list's filter split a count
// (a connection's totalCount) into disjoint parts, each counted by its own
// index, and adds them up (docs/authorization-lists.md). A count whose
// filter does not split runs once, as before. Only the list's own filter
// (the root connections' Users, Recordings, …) may split it: every other
// filter of this package is uncounted, whatever order the query's
// predicates are built in. It is registered on every client that serves
// lists (app.OpenStore).
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

// uncounted returns f applied with a selector context that carries no
// count in progress, so that f never claims a count nor splits it. A count
// is split by its list's own filter alone: a filter in a subquery (a where
// through an edge: ent gives a subquery's selector the query's context)
// that claimed it would count a row once for each part its neighbours fall
// in, and would leave the list's own filter unsplit.
func uncounted(f func(*sql.Selector)) func(*sql.Selector) {
	return func(s *sql.Selector) {
		ctx := s.Context()
		s.WithContext(withoutCount{ctx})
		defer s.WithContext(ctx)
		f(s)
	}
}

// withoutCount is a context without the count in progress its parent may
// carry (sqlfilter.CountPart): every other value is its parent's.
type withoutCount struct{ context.Context }

// Value returns the parent's value for key, but none for the count.
func (c withoutCount) Value(key any) any {
	v := c.Context.Value(key)
	if _, ok := v.(*sqlfilter.Count); ok {
		return nil
	}
	return v
}
