package server

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestSocketOperationsAreTimed: over a WebSocket a query or mutation gets
// the request timeout; a subscription does not, nor does an HTTP request
// (the HTTP guard times those).
func TestSocketOperationsAreTimed(t *testing.T) {
	socket := http.Header{"Upgrade": {"websocket"}}
	tests := []struct {
		name      string
		op        ast.Operation
		headers   http.Header
		wantTimed bool
	}{
		{"query over a socket", ast.Query, socket, true},
		{"mutation over a socket", ast.Mutation, socket, true},
		{"subscription", ast.Subscription, socket, false},
		{"query over HTTP", ast.Query, http.Header{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := graphql.WithOperationContext(context.Background(), &graphql.OperationContext{
				Operation: &ast.OperationDefinition{Operation: tt.op}, Headers: tt.headers,
			})
			var timed bool
			respond := boundSocketOperations(time.Minute)(ctx, func(ctx context.Context) graphql.ResponseHandler {
				_, timed = ctx.Deadline()
				return func(context.Context) *graphql.Response { return &graphql.Response{} }
			})
			if respond(ctx) == nil {
				t.Fatal("no response")
			}
			if timed != tt.wantTimed {
				t.Fatalf("timed %v, want %v", timed, tt.wantTimed)
			}
		})
	}
}
