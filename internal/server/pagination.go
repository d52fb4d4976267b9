package server

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/pbxportal/pbxportal/internal/apperr"
)

// Page sizes of connections: a page without first or last holds
// defaultPageSize nodes, and none holds more than maxPageSize.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// limitPageSize bounds every connection's page, so that no query reads a
// whole table.
func limitPageSize(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Args == nil {
		return next(ctx)
	}
	first, hasFirst := fc.Args["first"].(*int)
	last, hasLast := fc.Args["last"].(*int)
	if !hasFirst || !hasLast {
		return next(ctx) // not a connection
	}
	for name, n := range map[string]*int{"first": first, "last": last} {
		if n != nil && *n > maxPageSize {
			return nil, apperr.BadInput(name, "at most %d items per page", maxPageSize)
		}
	}
	if first == nil && last == nil {
		n := defaultPageSize
		fc.Args["first"] = &n
	}
	return next(ctx)
}
