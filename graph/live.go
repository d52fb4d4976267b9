package graph

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/apperr"
	"github.com/pbxportal/pbxportal/internal/auth"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
	"github.com/pbxportal/pbxportal/internal/events"
)

// Live is what the subscriptions need beyond the root resolver.
type Live struct {
	// Broker carries this process's agent-status events.
	Broker *events.Broker
	// Rescope returns ctx as a new request with the same token would have it
	// now: the viewer loaded again (UNAUTHENTICATED if the token has ended),
	// SpiceDB reads at least as fresh as the newest authorization change of
	// any replica, and a fresh batcher of checks.
	Rescope func(ctx context.Context) (context.Context, error)
	// Recheck is how long a quiet subscription waits before it checks the
	// viewer's right again, so that a revocation ends it even when no event
	// comes; zero means DefaultRecheck.
	Recheck time.Duration
}

// DefaultRecheck is how often a quiet subscription checks its right again.
const DefaultRecheck = 30 * time.Second

// WithLive gives the resolver what its subscriptions need, and returns it.
func (r *Resolver) WithLive(l Live) *Resolver {
	r.live = l
	return r
}

// queueAgentStatus streams the queue's agent-status changes to a viewer who
// may see its real-time status, checking that right, at the newest revision,
// before the first event, before every event and after every quiet spell of
// Recheck; a failed check ends the stream with its error.
func (r *Resolver) queueAgentStatus(ctx context.Context, queueID int) (<-chan *ent.QueueAgent, error) {
	scope, ok := ctx.Value(eventScopeKey{}).(*eventScope)
	if r.live.Broker == nil || !ok {
		return nil, apperr.New(apperr.Internal, "subscriptions are not served here")
	}
	if !overSocket(graphql.GetOperationContext(ctx)) {
		return nil, apperr.New(apperr.BadRequest, "subscriptions are served over WebSocket (graphql-transport-ws) only")
	}
	if err := r.mayWatchQueue(ctx, scope, queueID, false); err != nil {
		return nil, err
	}
	recheck := r.live.Recheck
	if recheck <= 0 {
		recheck = DefaultRecheck
	}
	sub := r.live.Broker.Subscribe(queueID)
	out := make(chan *ent.QueueAgent)
	go func() {
		defer close(out)
		defer sub.Close()
		for {
			evs, err := nextOrQuiet(ctx, sub, recheck)
			if ctx.Err() != nil {
				return // the subscription was stopped
			}
			if err != nil { // quiet for a while: is the right still there?
				if err := r.mayWatchQueue(ctx, scope, queueID, true); err != nil {
					endStream(ctx, err)
					return
				}
				continue
			}
			for _, ev := range evs {
				if err := r.mayWatchQueue(ctx, scope, queueID, true); err != nil {
					endStream(ctx, err)
					return
				}
				a, err := r.client.QueueAgent.Get(ctx, ev.QueueAgentID)
				if ent.IsNotFound(err) || (err == nil && a.QueueID != queueID) {
					continue // no longer an agent of the queue
				}
				if err != nil {
					endStream(ctx, err)
					return
				}
				select {
				case out <- a:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// nextOrQuiet waits for the subscription's next events, or for quiet, an
// error once it has waited that long.
func nextOrQuiet(ctx context.Context, sub *events.Subscription, quiet time.Duration) ([]events.AgentStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, quiet)
	defer cancel()
	return sub.Next(ctx)
}

// mayWatchQueue gives the subscription a fresh request scope (the viewer
// reloaded, reads at the newest revision, a new batcher), which the event's
// fields then resolve in, and checks the viewer's right to the queue's
// real-time status in it. Once the stream has started, a queue the viewer
// can no longer see is a revoked right too: FORBIDDEN, not NOT_FOUND.
func (r *Resolver) mayWatchQueue(ctx context.Context, scope *eventScope, queueID int, started bool) error {
	fresh, err := r.live.Rescope(scope.Context)
	if err != nil {
		return err
	}
	scope.current.Store(&fresh)
	_, err = r.authorize(ctx, projection.TypeQueue, queueID, "view_agent_status")
	var e *apperr.Error
	if started && errors.As(err, &e) && e.Code == apperr.NotFound {
		return apperr.New(apperr.Forbidden, "no longer allowed to see this queue's real-time status")
	}
	return err
}

// endStream ends a subscription with err, shown as every error is (the
// server's error presenter).
func endStream(ctx context.Context, err error) {
	rc := graphql.WithFreshResponseContext(ctx)
	graphql.AddError(rc, err)
	for _, e := range graphql.GetErrors(rc) {
		transport.AddSubscriptionError(ctx, e)
	}
}

type eventScopeKey struct{}

// eventScope is a subscription operation's context whose request-scoped
// values (viewer, token claims, read revision, batcher) are those of its
// current event, so that the fields of each event are checked afresh, as a
// new request's would be. Values set above it (the operation, the field, the
// response) are found before it is asked. An event still being written when
// the next one is checked finishes in the newer scope, never an older one.
type eventScope struct {
	context.Context
	current atomic.Pointer[context.Context] // derived from the embedded Context
}

// Value answers from the current event's scope once there is one.
func (s *eventScope) Value(key any) any {
	if key == (eventScopeKey{}) {
		return s
	}
	if cur := s.current.Load(); cur != nil {
		return (*cur).Value(key)
	}
	return s.Context.Value(key)
}

// EventScopes is the operation middleware that gives each subscription its
// per-event scope. A query or mutation sent over the WebSocket (whose
// connection, not an HTTP request, carries the token) gets the scope a new
// HTTP request would have; if the token has ended, or the session store
// cannot answer, it runs without a viewer, and its fields answer why.
func (r *Resolver) EventScopes(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	switch {
	case oc != nil && oc.Operation != nil && oc.Operation.Operation == ast.Subscription:
		ctx = &eventScope{Context: ctx}
	case overSocket(oc) && r.live.Rescope != nil:
		if _, authed := auth.ClaimsFrom(ctx); authed {
			if fresh, err := r.live.Rescope(ctx); err == nil {
				ctx = fresh
			} else {
				// No viewer for this operation; say why (an ended token,
				// or a session store that cannot answer now).
				ctx = context.WithValue(ctx, viewerErrorKey{}, err)
			}
		}
	}
	return next(ctx)
}

// viewerErrorKey holds why an operation over a WebSocket has no viewer.
type viewerErrorKey struct{}

// overSocket reports whether an operation came over a WebSocket, whose
// connection, not a request, carries the token.
func overSocket(oc *graphql.OperationContext) bool {
	return oc != nil && oc.Headers.Get("Upgrade") != ""
}
