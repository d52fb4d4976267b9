package graph

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"

	"github.com/pbxportal/pbxportal/internal/apperr"
	"github.com/pbxportal/pbxportal/internal/auth"
	"github.com/pbxportal/pbxportal/internal/dbwrite"
)

// MaxSecretsPerOperation is how many passwords or PINs one operation may
// hash or check. bcrypt is slow by design; without a bound, one request of
// aliased login, updateMyProfile(voicemailPin) or createUser fields would
// buy seconds of CPU for the price of a few bytes. It is one because a secret is hashed
// before the mutation's transaction begins, and the first field that writes
// begins it: a later field could only hash inside it.
const MaxSecretsPerOperation = 1

// secretBudget counts what an operation may still hash.
type secretBudget struct{ left atomic.Int32 }

type secretBudgetKey struct{}

// SecretBudget is the operation middleware that gives every operation its
// budget of MaxSecretsPerOperation hashes (hashSecret).
func (r *Resolver) SecretBudget(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	b := &secretBudget{}
	b.left.Store(MaxSecretsPerOperation)
	return next(context.WithValue(ctx, secretBudgetKey{}, b))
}

// hashSecret hashes a password or PIN. bcrypt is slow by design, so it runs
// before the mutation's transaction has begun (the transaction begins at
// its first statement): a hash inside it would hold the write lock, and on
// SQLite the process's write slot, for its whole duration. It is refused
// past the operation's budget, and inside a begun transaction: a field that
// sets a secret must come before any field that writes.
func hashSecret(ctx context.Context, plain string) (string, error) {
	if err := spendSecret(ctx); err != nil {
		return "", err
	}
	if dbwrite.Began(ctx) {
		return "", apperr.New(apperr.BadRequest,
			"a password or PIN is set only by the first field of a mutation that writes; send it in a request of its own")
	}
	h, err := auth.HashPassword(plain)
	if err != nil {
		return "", fmt.Errorf("hash a secret: %w", err)
	}
	return h, nil
}

// spendSecret takes one bcrypt run (a hash, or a password check at login)
// from the operation's budget.
func spendSecret(ctx context.Context) error {
	b, ok := ctx.Value(secretBudgetKey{}).(*secretBudget)
	if !ok {
		return errors.New("graph: bcrypt was to run outside an operation's budget")
	}
	if b.left.Add(-1) < 0 {
		return apperr.New(apperr.LimitExceeded,
			"one request may check or set at most %d password or PIN; send the others in requests of their own", MaxSecretsPerOperation)
	}
	return nil
}
