// Package server wires pbxportal's HTTP endpoints: GraphiQL at / (unless
// turned off), the GraphQL API at /graphql (with CORS for the allowed
// origins, and over WebSocket for subscriptions), /healthz, /readyz and
// /metrics (docs/product.md §4), every request logged with its request id.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
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
	"github.com/pbxportal/pbxportal/internal/cors"
	"github.com/pbxportal/pbxportal/internal/graphiql"
	"github.com/pbxportal/pbxportal/internal/media"
	"github.com/pbxportal/pbxportal/internal/requestlog"
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
	// SeparateMetrics keeps /metrics off this handler: OperatorHandler serves
	// it on an address of its own.
	SeparateMetrics bool
	// Settle brings SpiceDB up to date with every change committed to the
	// database, by any replica, and returns the revision (a ZedToken) that
	// the request's reads must be at least as fresh as.
	Settle func(context.Context) (string, error)
	// GraphiQL, when not nil, is served at /.
	GraphiQL *graphiql.Handler
	// CORS is the allowlist of other origins that may call /graphql; nil
	// allows none.
	CORS *cors.Policy
	// Operations run around every operation: the subscriptions' per-event
	// scope is one.
	Operations []graphql.OperationMiddleware
	// OriginAllowed says whether a browser page of another origin may open
	// a WebSocket; nil allows none. Requests without an Origin and from the
	// server's own origin are always allowed.
	OriginAllowed func(origin string) bool
}

// Handler returns the HTTP handler of the whole server. Every response
// carries the security headers; /graphql is guarded by the limits before
// anything else runs.
func Handler(d Deps) http.Handler {
	d.Log = slog.New(requestlog.Handler(d.Log.Handler()))
	if d.CORS == nil {
		d.CORS = &cors.Policy{}
	}
	d.Limits = d.Limits.withDefaults()
	m := newMetrics(d.Registry)
	mux := http.NewServeMux()
	if d.GraphiQL != nil {
		mux.HandleFunc("GET /{$}", d.GraphiQL.Page)
		mux.HandleFunc("GET "+graphiql.Prefix, d.GraphiQL.Assets)
	}
	gql := auth.Middleware(d.Signer, settleFirst(d.Settle, d.Log), session.Loader(d.Client), answerSessionUnavailable(d.Log), withBatcher(d.Spice, graphQL(d)))
	mux.Handle("/graphql", d.CORS.Middleware(checkOrigin(d.OriginAllowed, m.instrument(guardRequest(d.Limits, gql)))))
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
		mux.Handle("GET /metrics", metricsHandler(d.Registry))
	}
	return requestlog.Middleware(d.Log, securityHeaders(mux))
}

// metricsHandler serves the Prometheus metrics of reg.
func metricsHandler(reg *prometheus.Registry) http.Handler {
	return securityHeaders(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
}

// graphQL is the gqlgen handler: explicit transports, a query cache,
// introspection, one transaction per mutation, and the one error presenter.
func graphQL(d Deps) http.Handler {
	srv := handler.New(d.Schema)
	srv.AddTransport(websocketTransport(d))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(postJSON{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetParserTokenLimit(d.Limits.MaxQueryTokens)
	srv.Use(extension.Introspection{})
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](100)})
	srv.Use(&costGuard{limits: d.Limits})
	srv.Use(transactioner{entgql.Transactioner{TxOpener: d.Client, SkipTxFunc: needsNoTx}})
	srv.AroundFields(limitPageSize)
	for _, f := range d.Fields {
		srv.AroundFields(f)
	}
	srv.AroundOperations(boundSocketOperations(d.Limits.Timeout))
	for _, o := range d.Operations {
		srv.AroundOperations(o)
	}
	srv.AroundRootFields(nameAuditedAction)
	srv.AroundOperations(logOperation)
	srv.AroundResponses(logErrorCodes)
	srv.SetErrorPresenter(presentError(d.Log))
	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		d.Log.ErrorContext(ctx, "panic while serving a request", "panic", p, "stack", string(debug.Stack()))
		return apperr.New(apperr.Internal, "internal error")
	})
	return srv
}

// writesNothing reports whether the mutation field name writes nothing to
// the database: an operation made of such fields alone runs outside any
// transaction, so that login checks its password without holding the
// database's write lock.
func writesNothing(name string) bool { return name == "login" }

// needsNoTx reports whether every root field of op writes nothing.
func needsNoTx(op *ast.OperationDefinition) bool {
	for _, s := range op.SelectionSet {
		if f, ok := s.(*ast.Field); !ok || !writesNothing(f.Name) {
			return false
		}
	}
	return len(op.SelectionSet) > 0
}

// nameAuditedAction names each mutation's audit events after the mutation.
func nameAuditedAction(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	if oc := graphql.GetOperationContext(ctx); oc != nil && oc.Operation != nil && oc.Operation.Operation == ast.Mutation {
		ctx = audit.WithAction(ctx, graphql.GetRootFieldContext(ctx).Field.Name)
	}
	return next(ctx)
}

// logOperation names the request log's operation, its root fields and the
// viewer.
func logOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if oc := graphql.GetOperationContext(ctx); oc != nil {
		name := oc.OperationName
		if name == "" && oc.Operation != nil {
			name = oc.Operation.Name
		}
		if name == "" && oc.Operation != nil {
			name = "(anonymous " + string(oc.Operation.Operation) + ")"
		}
		requestlog.SetOperation(ctx, name)
		if oc.Operation != nil {
			var fields []string
			for _, sel := range oc.Operation.SelectionSet {
				if f, ok := sel.(*ast.Field); ok {
					fields = append(fields, f.Name)
				}
			}
			requestlog.SetRootFields(ctx, fields)
		}
	}
	if u, ok := auth.ViewerFrom[*ent.User](ctx); ok {
		requestlog.SetViewer(ctx, strconv.Itoa(u.ID))
	}
	return next(ctx)
}

// logErrorCodes adds each error's code, as presented, to the request log.
func logErrorCodes(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp != nil {
		for _, e := range resp.Errors {
			code, _ := e.Extensions["code"].(string)
			if code == "" {
				code = "UNKNOWN"
			}
			requestlog.AddErrorCode(ctx, code)
		}
	}
	return resp
}

// presentError shows every error with its docs/product.md §4 code and a client-safe
// message. Internal errors are logged and shown as "internal error".
func presentError(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		if gqlErr, ok := errors.AsType[*gqlerror.Error](err); ok && gqlErr.Err == nil {
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
		if e.RetryAfter > 0 {
			out.Extensions["retryAfter"] = e.RetryAfter
		}
		return out
	}
}

// settleFirst settles the read revision of a request whose bearer token
// verified (readRevision), before auth.Middleware checks its session.
// The viewer's row that the check reads is then at least as fresh as every
// SpiceDB read of the request, and the request's lookups of the viewer's
// own relations read it from there (projection.UserRow) rather than again.
// A token the server did not sign, or that has expired, costs no read. A
// WebSocket lives on: each of its operations and events settles its own
// (Rescope).
func settleFirst(settle func(context.Context) (string, error), log *slog.Logger) func(*http.Request) *http.Request {
	return func(r *http.Request) *http.Request {
		if isWebSocket(r.Header) {
			return r
		}
		return r.WithContext(readRevision(r.Context(), settle, log))
	}
}

// withBatcher gives each authenticated request its own batcher of permission
// checks, so that results are memoised for exactly one request, reading at
// the revision settleFirst settled. A WebSocket's operations and events get
// a fresh scope of their own (graph.Resolver.EventScopes).
func withBatcher(spice *authz.Client, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, ok := auth.ViewerFrom[*ent.User](r.Context()); ok && !isWebSocket(r.Header) {
			r = r.WithContext(withNewBatcher(r.Context(), spice, u))
		}
		next.ServeHTTP(w, r)
	})
}

// withNewBatcher returns ctx with a new batcher of u's checks, reading at
// ctx's revision.
func withNewBatcher(ctx context.Context, spice *authz.Client, u *ent.User) context.Context {
	return authz.WithBatcher(ctx, authz.NewBatcher(ctx, spice, projection.Obj(projection.TypeUser, u.ID), batchWindow))
}

// readRevision returns ctx whose SpiceDB reads are at least as fresh as the
// newest change committed to the database by any replica: a revocation made
// through one replica holds on the very next request to every other. If the
// changes cannot be brought to SpiceDB (it is down), the request's checks
// deny.
func readRevision(ctx context.Context, settle func(context.Context) (string, error), log *slog.Logger) context.Context {
	token, err := settle(ctx)
	if err != nil {
		log.WarnContext(ctx, "authorization changes are not yet in SpiceDB; this request's checks deny", "error", err)
		return authz.WithUnsettled(ctx, err)
	}
	return authz.WithRevision(ctx, token)
}
