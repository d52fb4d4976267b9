package authz

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
)

// ErrUnsettled is wrapped (with ErrUnavailable) by the reads of a request
// that could not first bring SpiceDB up to date with the database: such a
// request denies rather than read a projection that may still grant what was
// revoked.
var ErrUnsettled = errors.New("authorization changes are still waiting to reach SpiceDB")

type revisionKey struct{}

// readRevision is how fresh a request's reads must be.
type readRevision struct {
	token string
	err   error
	// once holds the answers of RequestOnce, read after the revision.
	once *onceAnswers
}

// WithRevision returns ctx whose SpiceDB reads are at least as fresh as the
// ZedToken token, the newest revision that any replica has written. An empty
// token asks for full consistency. It begins a request: RequestOnce's
// answers are shared under it.
func WithRevision(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, revisionKey{}, readRevision{token: token, once: &onceAnswers{}})
}

// WithUnsettled returns ctx whose SpiceDB reads all fail with cause, wrapped
// with ErrUnsettled and ErrUnavailable.
func WithUnsettled(ctx context.Context, cause error) context.Context {
	return context.WithValue(ctx, revisionKey{}, readRevision{err: cause})
}

// consistency is how fresh a read made with ctx must be: at least as fresh as
// the request's revision if it has one, else as the newest token this client
// wrote, else fully consistent.
func (c *Client) consistency(ctx context.Context) (*v1.Consistency, error) {
	if rev, ok := ctx.Value(revisionKey{}).(readRevision); ok {
		if rev.err != nil {
			return nil, fmt.Errorf("%w: %w", errors.Join(ErrUnavailable, ErrUnsettled), rev.err)
		}
		if rev.token != "" {
			return atLeastAsFresh(rev.token), nil
		}
		return fullyConsistent(), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.newest == nil {
		return fullyConsistent(), nil
	}
	return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: c.newest}}, nil
}

// requestToken is the revision token under which the answers of ctx's
// request are remembered (answercache.go): "" when it has none, asks for
// full consistency, or cannot read (WithUnsettled).
func requestToken(ctx context.Context) string {
	rev, _ := ctx.Value(revisionKey{}).(readRevision)
	if rev.err != nil {
		return ""
	}
	return rev.token
}

func atLeastAsFresh(token string) *v1.Consistency {
	return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: &v1.ZedToken{Token: token}}}
}

func fullyConsistent() *v1.Consistency {
	return &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
}

// Newest returns the newest ZedToken this client has written, "" before its
// first write. The outbox relay records it in the database for every replica.
func (c *Client) Newest() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.newest.GetToken()
}
