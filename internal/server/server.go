// Package server wires pbxportal's HTTP endpoints: GraphiQL at /, the GraphQL
// API at /graphql, /healthz, /readyz and /metrics (docs/product.md §4).
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/apperr"
	"github.com/pbxportal/pbxportal/internal/audit"
	"github.com/pbxportal/pbxportal/internal/auth"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
	"github.com/pbxportal/pbxportal/internal/media"
	"github.com/pbxportal/pbxportal/internal/session"
)

// batchWindow is how long the per-request batcher waits for more checks of
// the same resolver wave before it sends them.
const batchWindow = 2 * time.Millisecond

// Deps are what the HTTP layer serves.
type Deps struct {
	Schema graphql.ExecutableSchema
	// Fields run around every field, in order: they check the objects
	// reached through edges, and prime the checks of lists.
	Fields   []graphql.FieldMiddleware
	Client   *ent.Client
	Spice    *authz.Client
	Signer   *auth.Signer
	Registry *prometheus.Registry
	Log      *slog.Logger
	// Ready reports whether the server can answer: the database and SpiceDB reachable.
	Ready func(context.Context) error
	// Media serves recordings' audio behind signed URLs.
	Media http.Handler
	// Limits bound what one GraphQL request may cost; zero fields take
	// their defaults.
	Limits Limits
	// SeparateMetrics keeps /metrics off this handler: MetricsHandler serves
	// it on an address of its own.
	SeparateMetrics bool
	// Settle brings SpiceDB up to date with every change committed to the
	// database, by any replica, and returns the revision (a ZedToken) that
	// the request's reads must be at least as fresh as.
	Settle func(context.Context) (string, error)
}

// graphiqlCSP lets the GraphiQL page load its scripts and styles from the
// CDN it names (with subresource integrity) and talk to this server only.
const graphiqlCSP = "default-src 'none'; script-src 'unsafe-inline' https://cdn.jsdelivr.net; " +
	"style-src 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://cdn.jsdelivr.net; " +
	"font-src https://cdn.jsdelivr.net; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"

// Handler returns the HTTP handler of the whole server. Every response
// carries the security headers; /graphql is guarded by the limits before
// anything else runs.
func Handler(d Deps) http.Handler {
	d.Limits = d.Limits.withDefaults()
	m := newMetrics(d.Registry)
	mux := http.NewServeMux()
	graphiql := playground.Handler("pbxportal", "/graphql")
	mux.Handle("GET /{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", graphiqlCSP)
		graphiql.ServeHTTP(w, r)
	}))
	gql := auth.Middleware(d.Signer, session.Loader(d.Client), withBatcher(d.Spice, d.Settle, d.Log, graphQL(d)))
	mux.Handle("/graphql", m.instrument(guardRequest(d.Limits, gql)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := d.Ready(r.Context()); err != nil {
			d.Log.WarnContext(r.Context(), "not ready", "error", err)
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("GET "+media.Path+"{id}", d.Media)
	if !d.SeparateMetrics {
		mux.Handle("GET /metrics", MetricsHandler(d.Registry))
	}
	return securityHeaders(mux)
}

// MetricsHandler serves the Prometheus metrics of reg.
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	return securityHeaders(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
}

// graphQL is the gqlgen handler: explicit transports, a query cache,
// introspection, one transaction per mutation, and the one error presenter.
func graphQL(d Deps) http.Handler {
	srv := handler.New(d.Schema)
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetParserTokenLimit(d.Limits.MaxQueryTokens)
	srv.Use(extension.Introspection{})
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](100)})
	srv.Use(&costGuard{limits: d.Limits})
	srv.Use(transactioner{entgql.Transactioner{TxOpener: d.Client}})
	srv.AroundFields(limitPageSize)
	for _, f := range d.Fields {
		srv.AroundFields(f)
	}
	srv.AroundRootFields(nameAuditedAction)
	srv.SetErrorPresenter(presentError(d.Log))
	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		d.Log.ErrorContext(ctx, "panic in resolver", "panic", p)
		return apperr.New(apperr.Internal, "internal error")
	})
	return srv
}

// nameAuditedAction names each mutation's audit events after the mutation.
func nameAuditedAction(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	if oc := graphql.GetOperationContext(ctx); oc != nil && oc.Operation != nil && oc.Operation.Operation == ast.Mutation {
		ctx = audit.WithAction(ctx, graphql.GetRootFieldContext(ctx).Field.Name)
	}
	return next(ctx)
}

// presentError shows every error with its docs/product.md §4 code and a client-safe
// message. Internal errors are logged and shown as "internal error".
func presentError(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		var gqlErr *gqlerror.Error
		if errors.As(err, &gqlErr) && gqlErr.Err == nil {
			// Parse and validation errors: client-safe, and the client's
			// mistake, but for pagination arguments that contradict
			// each other, which are bad input.
			code := apperr.BadRequest
			switch {
			case gqlErr.Extensions["code"] == "INVALID_PAGINATION":
				code = apperr.BadUserInput
			case strings.HasPrefix(gqlErr.Message, "exceeded token limit"):
				code = apperr.LimitExceeded // the parser's only sign of Limits.MaxQueryTokens
			}
			gqlErr.Extensions = map[string]any{"code": string(code)}
			return gqlErr
		}
		out := graphql.DefaultErrorPresenter(ctx, err)
		if out.Err != nil {
			err = out.Err
		}
		e := apperr.Classify(err)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && (e.Code == apperr.Internal || e.Code == apperr.AuthzUnavailable) {
			e = apperr.Wrap(apperr.LimitExceeded, err, "the request ran out of time")
		}
		if e.Code == apperr.BadUserInput && e.Field == "" && len(out.Path) > 0 {
			if name, ok := out.Path[len(out.Path)-1].(ast.PathName); ok {
				e = &apperr.Error{Code: e.Code, Message: e.Message, Field: string(name)}
			}
		}
		if e.Code == apperr.Internal {
			log.ErrorContext(ctx, "internal error", "error", err, "path", out.Path.String())
		}
		out.Message = e.Message
		out.Extensions = map[string]any{"code": string(e.Code)}
		if e.Field != "" {
			out.Extensions["field"] = e.Field
		}
		return out
	}
}

// withBatcher gives each authenticated request its own batcher of permission
// checks, so that results are memoised for exactly one request, reading at
// the revision withReadRevision settled.
func withBatcher(spice *authz.Client, settle func(context.Context) (string, error), log *slog.Logger, next http.Handler) http.Handler {
	batched := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := auth.ViewerFrom[*ent.User](r.Context())
		b := authz.NewBatcher(r.Context(), spice, projection.Obj(projection.TypeUser, u.ID), batchWindow)
		next.ServeHTTP(w, r.WithContext(authz.WithBatcher(r.Context(), b)))
	})
	settled := withReadRevision(settle, log, batched)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := auth.ViewerFrom[*ent.User](r.Context()); ok {
			settled.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withReadRevision makes every SpiceDB read of the request at least as fresh
// as the newest change committed to the database by any replica: a
// revocation made through one replica holds on the very next request to
// every other. If the changes cannot be brought to SpiceDB (it is down), the
// request's checks deny.
func withReadRevision(settle func(context.Context) (string, error), log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if token, err := settle(ctx); err != nil {
			log.WarnContext(ctx, "authorization changes are not yet in SpiceDB; this request's checks deny", "error", err)
			ctx = authz.WithUnsettled(ctx, err)
		} else {
			ctx = authz.WithRevision(ctx, token)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
