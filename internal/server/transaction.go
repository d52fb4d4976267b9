package server

import (
	"context"
	"fmt"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/pbxportal/pbxportal/internal/dbwrite"
)

// transactioner runs each mutation in one transaction, as
// entgql.Transactioner does (watched: dbwrite.Began tells the resolvers
// whether it has begun), but sends its own errors (the transaction
// cannot be opened or committed) through the error presenter like every
// other error, instead of showing the driver's text to the client. A
// response with no operation (the request did not parse) passes untouched.
type transactioner struct {
	entgql.Transactioner
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
	graphql.ResponseInterceptor
} = transactioner{}

// InterceptResponse runs a mutation under a transaction.
func (t transactioner) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	op := graphql.GetOperationContext(ctx).Operation
	if op == nil || op.Operation != ast.Mutation || (t.SkipTxFunc != nil && t.SkipTxFunc(op)) {
		return next(ctx)
	}
	txCtx, tx, err := t.OpenTx(dbwrite.Watch(ctx))
	if err != nil {
		return presented(ctx, fmt.Errorf("open the mutation's transaction: %w", err))
	}
	defer func() {
		if r := recover(); r != nil {
			_ = tx.Rollback()
			panic(r)
		}
	}()
	rsp := next(txCtx)
	if len(rsp.Errors) > 0 {
		_ = tx.Rollback()
		return &graphql.Response{Errors: rsp.Errors}
	}
	if err := tx.Commit(); err != nil {
		return presented(ctx, fmt.Errorf("commit the mutation's transaction: %w", err))
	}
	return rsp
}

// presented is a response of err alone, through the error presenter.
func presented(ctx context.Context, err error) *graphql.Response {
	graphql.AddError(ctx, err)
	return &graphql.Response{Errors: graphql.GetErrors(ctx)}
}
