package auth

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"
)

// ViewerLoader loads the viewer whose validly signed token has claims c. It
// also decides whether the token is still alive: an error wrapping
// ErrInvalidToken (no such user, a changed credential stamp, a logged-out
// token) refuses it. Any other error means it could not decide (its store
// failed): the token is then neither accepted nor refused.
type ViewerLoader[V any] func(ctx context.Context, c Claims) (V, error)

// Unavailable answers a request whose token could not be checked, err
// saying why (the loader's store failed).
type Unavailable func(w http.ResponseWriter, r *http.Request, err error)

type viewerKey[V any] struct{}

type claimsKey struct{}

type clientAddrKey struct{}

// ClientAddr returns the address (IP, without port) the request came from,
// as the middleware recorded it; login limits count failures per address.
// Forwarding headers are not trusted: a client could forge them.
func ClientAddr(ctx context.Context) string {
	a, _ := ctx.Value(clientAddrKey{}).(string)
	return a
}

// WithClientAddr returns ctx carrying the client address remoteAddr
// ("host:port" or a bare host).
func WithClientAddr(ctx context.Context, remoteAddr string) context.Context {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	return context.WithValue(ctx, clientAddrKey{}, host)
}

// ClaimsFrom returns the claims of the token that authenticated the request,
// if one did. Logout uses them to end that token alone.
func ClaimsFrom(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(Claims)
	return c, ok
}

// WithViewer returns ctx carrying the viewer.
func WithViewer[V any](ctx context.Context, v V) context.Context {
	return context.WithValue(ctx, viewerKey[V]{}, v)
}

// ViewerFrom returns the viewer in ctx, if the request has one.
func ViewerFrom[V any](ctx context.Context) (V, bool) {
	v, ok := ctx.Value(viewerKey[V]{}).(V)
	return v, ok
}

// Middleware verifies "Authorization: Bearer <token>" and puts the viewer and
// the token's claims in the request context. A missing, bad or expired token,
// or one the loader refuses, leaves the request anonymous; the GraphQL layer
// answers UNAUTHENTICATED for anything that needs a viewer. A token the
// loader could not check (its store failed) is neither: unavailable answers
// the request, which goes no further. The loader runs on every request, so
// that a revocation holds from the very next one. verified, if not nil,
// prepares the request once its token has verified and before the loader
// runs. It also records the client address (see ClientAddr).
func Middleware[V any](s *Signer, verified func(*http.Request) *http.Request, load ViewerLoader[V], unavailable Unavailable, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(WithClientAddr(r.Context(), r.RemoteAddr))
		if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && token != "" {
			c, err := s.Verify(strings.TrimSpace(token), time.Now())
			if err == nil {
				if verified != nil {
					r = verified(r)
				}
				var ctx context.Context
				if ctx, err = admit(r.Context(), load, c); err == nil {
					r = r.WithContext(ctx)
				}
			}
			if err != nil && !errors.Is(err, ErrInvalidToken) {
				unavailable(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Authenticate verifies a bearer token (without its "Bearer " prefix) and
// returns ctx carrying its viewer and claims, or an error: one wrapping
// ErrInvalidToken if the token is bad, expired or refused by the loader,
// another if the loader could not check it. WebSocket connections use it for
// the token of their connection_init.
func Authenticate[V any](ctx context.Context, s *Signer, load ViewerLoader[V], token string) (context.Context, error) {
	c, err := s.Verify(strings.TrimSpace(token), time.Now())
	if err != nil {
		return ctx, err
	}
	return admit(ctx, load, c)
}

// admit returns ctx carrying the viewer that load finds for the verified
// claims c, and c.
func admit[V any](ctx context.Context, load ViewerLoader[V], c Claims) (context.Context, error) {
	v, err := load(ctx, c)
	if err != nil {
		return ctx, err
	}
	return context.WithValue(WithViewer(ctx, v), claimsKey{}, c), nil
}
