package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestCheckOrigin: a WebSocket upgrade passes without an Origin (not a
// browser), from the server's own origin, or from an origin the allowlist
// accepts; any other is 403. Requests that are not upgrades are left to CORS.
func TestCheckOrigin(t *testing.T) {
	allow := func(origin string) bool { return origin == "http://localhost:5173" }
	cases := []struct {
		name    string
		allowed func(string) bool
		origin  string
		upgrade bool
		want    int
	}{
		{"no origin", nil, "", true, http.StatusOK},
		{"same origin", nil, "http://portal.example:8080", true, http.StatusOK},
		{"same origin, other case", nil, "http://PORTAL.example:8080", true, http.StatusOK},
		{"other port", nil, "http://portal.example:9090", true, http.StatusForbidden},
		{"other origin, no allowlist", nil, "http://localhost:5173", true, http.StatusForbidden},
		{"allowed origin", allow, "http://localhost:5173", true, http.StatusOK},
		{"origin not in the allowlist", allow, "https://evil.example", true, http.StatusForbidden},
		{"opaque origin", allow, "null", true, http.StatusForbidden},
		{"not an upgrade", nil, "https://evil.example", false, http.StatusOK},
	}
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "http://portal.example:8080/graphql", nil)
			if c.origin != "" {
				r.Header.Set("Origin", c.origin)
			}
			if c.upgrade {
				r.Header.Set("Upgrade", "websocket")
			}
			w := httptest.NewRecorder()
			checkOrigin(c.allowed, ok).ServeHTTP(w, r)
			if w.Code != c.want {
				t.Fatalf("status %d, want %d", w.Code, c.want)
			}
		})
	}
}
