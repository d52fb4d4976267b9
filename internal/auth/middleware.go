package auth

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// ViewerLoader loads the viewer a valid token names. An error makes the
// request anonymous.
type ViewerLoader[V any] func(ctx context.Context, userID int) (V, error)

type viewerKey[V any] struct{}

// WithViewer returns ctx carrying the viewer.
func WithViewer[V any](ctx context.Context, v V) context.Context {
	return context.WithValue(ctx, viewerKey[V]{}, v)
}

// ViewerFrom returns the viewer in ctx, if the request has one.
func ViewerFrom[V any](ctx context.Context) (V, bool) {
	v, ok := ctx.Value(viewerKey[V]{}).(V)
	return v, ok
}

// Middleware verifies "Authorization: Bearer <token>" and puts the viewer in
// the request context. A missing, bad or expired token, or a viewer that no
// longer loads, leaves the request anonymous; the GraphQL layer answers
// UNAUTHENTICATED for anything that needs a viewer.
func Middleware[V any](s *Signer, load ViewerLoader[V], next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if ok && token != "" {
			if id, err := s.Verify(strings.TrimSpace(token), time.Now()); err == nil {
				if v, err := load(r.Context(), id); err == nil {
					r = r.WithContext(WithViewer(r.Context(), v))
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}
