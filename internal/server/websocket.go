package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/apperr"
	"github.com/pbxportal/pbxportal/internal/auth"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/session"
)

// closeUnauthenticated is the close code of a connection_init without a
// valid token: graphql-ws's "Unauthorized", which its clients do not retry.
const closeUnauthenticated = 4401

// websocketTransport serves GraphQL over WebSocket (graphql-transport-ws,
// and the older graphql-ws): subscriptions, and any operation a client sends
// that way. The connection authenticates with the bearer token of its
// connection_init payload; the Origin was checked before the upgrade
// (checkOrigin), so the WebSocket library's own check is off.
func websocketTransport(d Deps) transport.Websocket {
	load := session.Loader(d.Client)
	return transport.Websocket{
		Implementation: transport.CoderWebsocketImplementation{
			AcceptOptions: websocket.AcceptOptions{InsecureSkipVerify: true},
		},
		InitTimeout:      10 * time.Second,
		PongOnlyInterval: 25 * time.Second, // a heartbeat that keeps proxies from closing idle sockets
		InitFunc: func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			token, _ := strings.CutPrefix(p.Authorization(), "Bearer ")
			if token == "" {
				token = p.GetString("token")
			}
			if token != "" {
				authed, err := auth.Authenticate(ctx, d.Signer, load, token)
				switch {
				case err == nil:
					return authed, nil, nil
				case !errors.Is(err, auth.ErrInvalidToken):
					// The store failed: retry later, do not log in again.
					// The error's text is sent to the client: no cause in it.
					d.Log.ErrorContext(ctx, "the session store cannot be read; the connection is closed for a retry", "error", err)
					e := sessionUnavailable(err)
					ctx = transport.WithWebsocketCloseCode(ctx, closeSessionUnavailable)
					ctx = transport.AppendCloseReason(ctx, string(e.Code)+": try again")
					return ctx, nil, apperr.New(e.Code, "%s", e.Message)
				}
			} else if _, ok := auth.ClaimsFrom(ctx); ok {
				return ctx, nil, nil // authenticated by the upgrade request's Authorization header
			}
			ctx = transport.WithWebsocketCloseCode(ctx, closeUnauthenticated)
			ctx = transport.AppendCloseReason(ctx, string(apperr.Unauthenticated)+": send a valid token in connectionParams")
			return ctx, nil, apperr.New(apperr.Unauthenticated, "send a valid token in connectionParams: {Authorization: \"Bearer <token>\"}")
		},
	}
}

// checkOrigin refuses, with 403, a WebSocket upgrade from a browser page of
// an origin that is neither the server's own nor allowed. Requests without
// an Origin (not from a browser) pass, as do all non-upgrade requests, whose
// cross-origin use CORS governs.
func checkOrigin(allowed func(origin string) bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && isWebSocket(r.Header) && !sameOrigin(origin, r.Host) && (allowed == nil || !allowed(origin)) {
			http.Error(w, "origin not allowed", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sameOrigin reports whether origin names the host the request was sent to.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}

// Rescope returns the function that gives a subscription's context, before
// each event, the scope a new request with the same token would have now:
// the viewer loaded again (UNAUTHENTICATED once the token has expired, been
// logged out or lost its credential stamp; AUTHZ_UNAVAILABLE while the
// session store fails), SpiceDB reads at least as fresh
// as the newest change committed by any replica (settle), and a fresh
// batcher.
func Rescope(client *ent.Client, spice *authz.Client, settle func(context.Context) (string, error), log *slog.Logger) func(context.Context) (context.Context, error) {
	load := session.Loader(client)
	return func(ctx context.Context) (context.Context, error) {
		c, ok := auth.ClaimsFrom(ctx)
		if !ok {
			return ctx, apperr.New(apperr.Unauthenticated, "log in first: send a token in connectionParams")
		}
		if !time.Now().Before(c.ExpiresAt) {
			return ctx, apperr.New(apperr.Unauthenticated, "the token has expired; log in again")
		}
		// Settled first, as an HTTP request is (settleFirst).
		ctx = readRevision(ctx, settle, log)
		u, err := load(ctx, c)
		switch {
		case errors.Is(err, session.ErrEnded):
			return ctx, apperr.Wrap(apperr.Unauthenticated, err, "the token has ended; log in again")
		case err != nil:
			log.ErrorContext(ctx, "the session store cannot be read; the event is not sent", "error", err)
			return ctx, sessionUnavailable(err)
		}
		return withNewBatcher(auth.WithViewer(ctx, u), spice, u), nil
	}
}

// isWebSocket reports whether a request (or the operation it carries) came
// as a WebSocket upgrade, which is long-lived and authenticated by its
// connection rather than by each request.
func isWebSocket(h http.Header) bool { return h.Get("Upgrade") != "" }
