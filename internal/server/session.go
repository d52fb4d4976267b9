package server

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/pbxportal/pbxportal/internal/apperr"
	"github.com/pbxportal/pbxportal/internal/auth"
)

// closeSessionUnavailable is the close code of a connection_init whose token
// could not be checked: "Try Again Later", which graphql-ws clients retry
// (unlike 4401, 4500 or 1011, after which they give up).
const closeSessionUnavailable = int(websocket.StatusTryAgainLater)

// sessionUnavailable is the error of a token that could not be checked
// because the session store failed (the database is down): the request is
// neither authenticated nor anonymous, and the client should retry, not log
// in again. It is never UNAUTHENTICATED, which clients take for "log in
// again".
func sessionUnavailable(err error) *apperr.Error {
	return apperr.Wrap(apperr.AuthzUnavailable, err, "your session cannot be checked now; try again")
}

// answerSessionUnavailable answers a request whose token could not be
// checked (auth.Middleware): HTTP 503, with the error as the one presenter
// shows it. The store's failure is logged, never shown.
func answerSessionUnavailable(log *slog.Logger) auth.Unavailable {
	present := presentError(log)
	return func(w http.ResponseWriter, r *http.Request, err error) {
		log.ErrorContext(r.Context(), "the session store cannot be read; the request is refused, not made anonymous", "error", err)
		e := present(r.Context(), sessionUnavailable(err))
		w.Header().Set("Content-Type", plainJSON)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(graphql.Response{Errors: gqlerror.List{e}})
	}
}
