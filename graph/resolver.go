// Package graph is the GraphQL layer of pbxportal: the gqlgen resolvers over
// the entgql-generated schema, and the @authz directive.
package graph

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/graph/generated"
	"github.com/pbxportal/pbxportal/internal/access"
	"github.com/pbxportal/pbxportal/internal/apperr"
	"github.com/pbxportal/pbxportal/internal/auth"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/media"
	"github.com/pbxportal/pbxportal/internal/ratelimit"
)

// Resolver is the root resolver. It is built once per server and shared by
// every request; per-request state (the viewer, its batcher) is in the context.
type Resolver struct {
	client *ent.Client
	spice  *authz.Client
	signer *auth.Signer
	media  *media.Signer
	lists  *access.Lists
	live   Live
	now    func() time.Time
	logins *ratelimit.Logins
	log    *slog.Logger
}

// NewResolver returns the root resolver over the services it needs. It
// compiles the list filters from the embedded schema.zed; an error there is a
// defect of the build, which the tests catch.
func NewResolver(client *ent.Client, spice *authz.Client, signer *auth.Signer, mediaURLs *media.Signer) (*Resolver, error) {
	lists, err := access.NewLists()
	if err != nil {
		return nil, fmt.Errorf("graph: compile the list filters: %w", err)
	}
	return &Resolver{client: client, spice: spice, signer: signer, media: mediaURLs, lists: lists, now: time.Now,
		logins: ratelimit.NewLogins(nil), log: slog.New(slog.DiscardHandler)}, nil
}

// LocalLookup answers from the database the lookups that the model
// compiles to SQL, with the compiled list filters (access.Lists.LocalLookup).
func (r *Resolver) LocalLookup() authz.LocalLookup { return r.lists.LocalLookup(r.client, r.spice) }

// LimitLogins makes login count its failures in l and log failed and
// refused logins (never the password) to log.
func (r *Resolver) LimitLogins(l *ratelimit.Logins, log *slog.Logger) {
	r.logins, r.log = l, log
}

// Schema returns the executable schema.
func (r *Resolver) Schema() graphql.ExecutableSchema {
	return generated.NewExecutableSchema(generated.Config{
		Resolvers:  r,
		Directives: generated.DirectiveRoot{Authz: authzDirective},
	})
}

// viewer returns the calling user and its per-request batcher, or
// UNAUTHENTICATED.
func (r *Resolver) viewer(ctx context.Context) (access.Viewer, error) {
	u, ok := auth.ViewerFrom[*ent.User](ctx)
	b, hasBatcher := authz.BatcherFrom(ctx)
	if !ok || !hasBatcher {
		if err, ok := ctx.Value(viewerErrorKey{}).(error); ok {
			return access.Viewer{}, err
		}
		return access.Viewer{}, apperr.New(apperr.Unauthenticated, "log in first: send Authorization: Bearer <token>")
	}
	return access.Viewer{User: u, Checks: b, Lists: r.lists}, nil
}

// authzDirective implements @authz(permission:). It asks the request's
// batcher whether the viewer holds permission on the object that owns the
// field; the batcher sends every check of one resolver wave in one
// CheckBulkPermissions call. A denied field is null with FORBIDDEN; if
// SpiceDB fails, the field is denied with AUTHZ_UNAVAILABLE.
func authzDirective(ctx context.Context, obj any, next graphql.Resolver, permission string) (any, error) {
	allowed, err := checkOn(ctx, obj, permission)
	if err != nil {
		return nil, err
	}
	if !allowed[0] {
		return nil, apperr.Denied()
	}
	return next(ctx)
}
