// Package apperr holds the error codes of the GraphQL contract (docs/product.md §4) and
// the one function that maps any error to its code.
package apperr

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/dbwrite"
)

// Code is a value of extensions.code.
type Code string

// The codes of docs/product.md §4.
const (
	Unauthenticated      Code = "UNAUTHENTICATED"
	PortalAccessDisabled Code = "PORTAL_ACCESS_DISABLED"
	Forbidden            Code = "FORBIDDEN"
	NotFound             Code = "NOT_FOUND"
	BadUserInput         Code = "BAD_USER_INPUT"
	Conflict             Code = "CONFLICT"
	AuthzUnavailable     Code = "AUTHZ_UNAVAILABLE"
	RateLimited          Code = "RATE_LIMITED"
	// BadRequest is a request that is not a valid GraphQL request for its
	// transport: a body that is not one JSON object, a query that does not
	// parse or validate, a subscription sent over plain HTTP.
	BadRequest Code = "BAD_REQUEST"
	// LimitExceeded is a request refused, before it runs, for exceeding one
	// of the server's bounds on cost (complexity, depth, aliases, root
	// fields, body size), or stopped by the per-request timeout.
	LimitExceeded Code = "LIMIT_EXCEEDED"
	Internal      Code = "INTERNAL"
)

// Error is an error with a code and a message safe to show to the client.
// Field names the input field at fault, for BAD_USER_INPUT; RetryAfter is
// how many seconds a RATE_LIMITED client must wait.
type Error struct {
	Code       Code
	Message    string
	Field      string
	RetryAfter int
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// NotVisible is the one answer for an object the viewer may not see, one of
// another domain, and one that does not exist: the same code and message,
// so that no answer tells them apart (docs/product.md §4).
func NotVisible() *Error { return New(NotFound, "not found") }

// Denied is the error of a field the viewer may not see, made without
// formatting: a page can deny a field on every one of its objects.
func Denied() *Error { return &Error{Code: Forbidden, Message: "not allowed to see this field"} }

// New returns an error with a code and a client-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// BadInput returns a BAD_USER_INPUT error naming the input field at fault.
func BadInput(field, format string, args ...any) *Error {
	return &Error{Code: BadUserInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Limited returns a RATE_LIMITED error that asks the client to wait d
// (rounded up to whole seconds, at least one).
func Limited(d time.Duration, message string) *Error {
	return &Error{Code: RateLimited, Message: message, RetryAfter: max(int((d+time.Second-1)/time.Second), 1)}
}

// Wrap attaches a code and a client-safe message to err; err itself is
// never shown to the client.
func Wrap(code Code, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// Classify maps any error to the coded, client-safe error it is shown as.
// Errors it does not know are INTERNAL, with a message that reveals nothing.
func Classify(err error) *Error {
	var ve *ent.ValidationError
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	switch {
	case errors.Is(err, authz.ErrUnavailable):
		return Wrap(AuthzUnavailable, err, "authorization is unavailable; try again")
	case errors.As(err, &ve):
		return &Error{Code: BadUserInput, Field: ve.Name, Message: fmt.Sprintf("invalid value for %s", ve.Name), Err: err}
	case ent.IsNotFound(err):
		return Wrap(NotFound, err, "not found")
	case ent.IsConstraintError(err):
		return Wrap(Conflict, err, "conflicts with existing data")
	case storeRefusedInput(err):
		return Wrap(BadUserInput, err, "a value of the input cannot be stored")
	case errors.Is(err, dbwrite.ErrBusy):
		return Wrap(Conflict, err, "the database is busy; try again")
	case concurrentConflict(err):
		return Wrap(Conflict, err, "the change collided with a concurrent change; try again")
	default:
		return Wrap(Internal, err, "internal error")
	}
}

// concurrentConflict reports whether PostgreSQL aborted the transaction
// because it collided with a concurrent one (a deadlock or a serialization
// failure): the client may simply retry.
func concurrentConflict(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40P01" || pg.Code == "40001")
}

// storeRefusedInput reports whether PostgreSQL refused a value of the
// request (SQLSTATE class 22, "data exception": a NUL byte, a string too
// long for its column, text that is not a number). The inputs are checked
// before they reach the store; this is the backstop for a check missed.
func storeRefusedInput(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && strings.HasPrefix(pg.Code, "22")
}
