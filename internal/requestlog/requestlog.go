// Package requestlog logs one structured line per HTTP request: a request
// id (also returned in the X-Request-Id header and added to every log line
// written during the request), method, path, status, duration and, for
// GraphQL, the operation name, its root fields, the viewer and the errors'
// codes. It never
// logs variables, queries, headers or tokens.
package requestlog

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"sort"
	"sync"
	"time"
)

// Header carries the request id, both ways: a well-formed one sent by a
// proxy is kept, anything else is replaced by a new one.
const Header = "X-Request-Id"

var validID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

type key struct{}

// entry is what the request's handlers add to its log line.
type entry struct {
	id string

	mu        sync.Mutex
	operation string
	fields    []string
	viewer    string
	codes     map[string]int
}

// ID returns the request id of ctx, or "".
func ID(ctx context.Context) string {
	if e, ok := ctx.Value(key{}).(*entry); ok {
		return e.id
	}
	return ""
}

// SetOperation records the GraphQL operation's name.
func SetOperation(ctx context.Context, name string) {
	if e, ok := ctx.Value(key{}).(*entry); ok {
		e.mu.Lock()
		e.operation = name
		e.mu.Unlock()
	}
}

// SetRootFields records the operation's root fields (e.g. login), so a
// failed login is found whatever the client named its operation.
func SetRootFields(ctx context.Context, names []string) {
	if e, ok := ctx.Value(key{}).(*entry); ok {
		e.mu.Lock()
		e.fields = names
		e.mu.Unlock()
	}
}

// SetViewer records who made the request.
func SetViewer(ctx context.Context, id string) {
	if e, ok := ctx.Value(key{}).(*entry); ok {
		e.mu.Lock()
		e.viewer = id
		e.mu.Unlock()
	}
}

// AddErrorCode counts an error code of the response.
func AddErrorCode(ctx context.Context, code string) {
	if e, ok := ctx.Value(key{}).(*entry); ok {
		e.mu.Lock()
		if e.codes == nil {
			e.codes = map[string]int{}
		}
		e.codes[code]++
		e.mu.Unlock()
	}
}

// Middleware gives each request an id and logs it once served.
func Middleware(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(Header)
		if !validID.MatchString(id) {
			id = newID()
		}
		w.Header().Set(Header, id)
		e := &entry{id: id}
		ctx := context.WithValue(r.Context(), key{}, e)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(ctx))

		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)),
		}
		e.mu.Lock()
		if e.operation != "" {
			attrs = append(attrs, slog.String("operation", e.operation))
		}
		if len(e.fields) > 0 {
			attrs = append(attrs, slog.Any("fields", e.fields))
		}
		if e.viewer != "" {
			attrs = append(attrs, slog.String("viewer", e.viewer))
		}
		if len(e.codes) > 0 {
			codes := make([]string, 0, len(e.codes))
			for c := range e.codes {
				codes = append(codes, c)
			}
			sort.Strings(codes)
			attrs = append(attrs, slog.Any("error_codes", codes))
		}
		e.mu.Unlock()
		log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
	})
}

// newID is 16 random bytes in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusRecorder remembers the status written, and lets the writer be
// unwrapped (http.ResponseController) for flushing and hijacking, as the
// WebSocket upgrade needs.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush passes a flush on, for streaming responses.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack hands the connection over, for the WebSocket upgrade.
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	s.status, s.wrote = http.StatusSwitchingProtocols, true
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

// Handler adds the request id to every record logged with a request's
// context, so each log line of a request can be found by its id. A handler
// that already does is returned as it is.
func Handler(h slog.Handler) slog.Handler {
	if _, ok := h.(idHandler); ok {
		return h
	}
	return idHandler{h}
}

type idHandler struct{ slog.Handler }

func (h idHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := ID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h idHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return idHandler{h.Handler.WithAttrs(as)}
}

func (h idHandler) WithGroup(name string) slog.Handler {
	return idHandler{h.Handler.WithGroup(name)}
}
