package server

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// boundSocketOperations gives a query or mutation sent over a WebSocket the
// timeout an HTTP request has: the upgrade itself is not timed, since the
// connection lives as long as the client wants. Subscriptions run until
// they end; everything else stops after timeout.
func boundSocketOperations(timeout time.Duration) graphql.OperationMiddleware {
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		oc := graphql.GetOperationContext(ctx)
		if oc == nil || oc.Operation == nil || oc.Operation.Operation == ast.Subscription || !isWebSocket(oc.Headers) {
			return next(ctx)
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		respond := next(ctx)
		return func(ctx context.Context) *graphql.Response {
			defer cancel()
			return respond(ctx)
		}
	}
}
