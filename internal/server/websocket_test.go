package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
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

// TestWebSocketsAreNotTimedAsRequests: a WebSocket's lifetime would swamp
// the request-latency histogram, so upgrades are not counted as requests.
func TestWebSocketsAreNotTimedAsRequests(t *testing.T) {
	cases := []struct {
		upgrade string
		want    float64
	}{
		{"", 1},
		{"websocket", 0},
	}
	for _, c := range cases {
		reg := prometheus.NewRegistry()
		m := newMetrics(reg)
		r := httptest.NewRequest(http.MethodGet, "/graphql", nil)
		if c.upgrade != "" {
			r.Header.Set("Upgrade", c.upgrade)
		}
		m.instrument(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(httptest.NewRecorder(), r)
		if got := counted(t, reg); got != c.want {
			t.Errorf("Upgrade %q: %v requests counted, want %v", c.upgrade, got, c.want)
		}
	}
}

// counted is the value of pbxportal_graphql_requests_total in reg.
func counted(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "pbxportal_graphql_requests_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("no pbxportal_graphql_requests_total")
	return 0
}
