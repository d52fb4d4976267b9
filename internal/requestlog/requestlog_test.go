package requestlog_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pbxportal/pbxportal/internal/requestlog"
)

// TestRequestLog: one line per request with its id, status, operation,
// viewer and error codes; the id in the response header and on the
// handler's own lines; a well-formed incoming id kept, any other replaced.
func TestRequestLog(t *testing.T) {
	cases := []struct {
		name     string
		incoming string
		keep     bool
	}{
		{"no incoming id", "", false},
		{"a well-formed incoming id", "edge-proxy.42_a", true},
		{"an id with spaces", "a b", false},
		{"an id with a newline", "a\nlevel=ERROR", false},
		{"an id too long", strings.Repeat("x", 65), false},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		log := slog.New(requestlog.Handler(slog.NewJSONHandler(&buf, nil)))
		h := requestlog.Middleware(log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			requestlog.SetOperation(ctx, "Users")
			requestlog.SetRootFields(ctx, []string{"users", "viewer"})
			requestlog.SetViewer(ctx, "12")
			requestlog.AddErrorCode(ctx, "FORBIDDEN")
			requestlog.AddErrorCode(ctx, "FORBIDDEN")
			requestlog.AddErrorCode(ctx, "NOT_FOUND")
			log.InfoContext(ctx, "inside")
			w.WriteHeader(http.StatusTeapot)
		}))
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"variables":{"password":"hunter2"}}`))
		req.Header.Set("Authorization", "Bearer secret-token")
		if c.incoming != "" {
			req.Header.Set(requestlog.Header, c.incoming)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		id := rec.Header().Get(requestlog.Header)
		if c.keep && id != c.incoming || !c.keep && (id == c.incoming || len(id) != 32) {
			t.Errorf("%s: response id %q", c.name, id)
		}
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 2 {
			t.Fatalf("%s: %d log lines, want 2:\n%s", c.name, len(lines), buf.String())
		}
		var inside, line map[string]any
		_ = json.Unmarshal([]byte(lines[0]), &inside)
		_ = json.Unmarshal([]byte(lines[1]), &line)
		if inside["request_id"] != id || line["request_id"] != id {
			t.Errorf("%s: ids %v, %v, want %q on both lines", c.name, inside["request_id"], line["request_id"], id)
		}
		codes, _ := json.Marshal(line["error_codes"])
		fields, _ := json.Marshal(line["fields"])
		if string(fields) != `["users","viewer"]` {
			t.Errorf("%s: fields %s", c.name, fields)
		}
		if line["msg"] != "request" || line["status"] != float64(http.StatusTeapot) || line["operation"] != "Users" ||
			line["viewer"] != "12" || string(codes) != `["FORBIDDEN","NOT_FOUND"]` || line["path"] != "/graphql" {
			t.Errorf("%s: request line %s", c.name, lines[1])
		}
		for _, secret := range []string{"hunter2", "secret-token", "password"} {
			if strings.Contains(buf.String(), secret) {
				t.Errorf("%s: the log holds %q:\n%s", c.name, secret, buf.String())
			}
		}
	}
}
