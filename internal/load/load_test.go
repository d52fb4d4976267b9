package load_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pbxportal/pbxportal/internal/app"
	"github.com/pbxportal/pbxportal/internal/demo"
	"github.com/pbxportal/pbxportal/internal/load"
	"github.com/pbxportal/pbxportal/internal/migration"
	"github.com/pbxportal/pbxportal/internal/pgtest"
)

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.8.9.10/", true},
		{"http://[::1]:8080", true},
		{"http://localhost:8080", true},
		{"https://localhost", true},
		{"http://10.0.0.1:8080", false},
		{"http://example.com", false},
		{"http://localhost.example.com", false},
		{"http://0.0.0.0:8080", false},
		{"ftp://127.0.0.1", false},
		{"127.0.0.1:8080", false},
		{"", false},
	}
	for _, tt := range tests {
		if err := load.CheckLoopback(tt.url); (err == nil) != tt.ok {
			t.Errorf("CheckLoopback(%q) = %v, want ok: %v", tt.url, err, tt.ok)
		}
	}
	if _, err := load.Run(context.Background(), load.Options{URL: "http://192.0.2.1", Clients: 1, Duration: time.Second}); err == nil {
		t.Error("Run accepted a target off loopback")
	}
}

// TestShortRun drives the whole workload briefly against a real server, on
// SQLite and on PostgreSQL: every persona's reads and mutations succeed,
// and none is wrong for its persona.
func TestShortRun(t *testing.T) {
	tests := []struct {
		name     string
		postgres bool
	}{
		{"sqlite", false},
		{"postgres", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := app.Config{DataDir: t.TempDir(), Demo: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			if tt.postgres {
				cfg.DatabaseURL = pgtest.URL(t)
				if _, err := app.Migrate(context.Background(), cfg, migration.Options{}); err != nil {
					t.Fatal(err)
				}
			}
			a, err := app.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			srv := httptest.NewServer(a.Handler())
			defer srv.Close()
			r, err := load.Run(context.Background(), load.Options{
				URL: srv.URL, Clients: 8, Duration: 3 * time.Second, Password: demo.Password,
				RSS: load.MetricsRSS(srv.URL + "/metrics"),
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("\n%s", r)
			if !r.OK() || len(r.Reads) == 0 || len(r.Mutations) == 0 || r.RSSStart == 0 {
				t.Fatalf("the run failed, or measured nothing:\n%s", r)
			}
		})
	}
}

// TestWrongResponsesAreReported: a server that shows bob another user's
// email, answers as another viewer, changes counts and ignores a profile
// update is caught by the persona checks.
func TestWrongResponsesAreReported(t *testing.T) {
	answers := []struct{ in, data string }{
		{"login(", `{"login":{"token":"t"}}`},
		{"agentMemberships", `{"viewer":{"id":"1","domainID":"9"},"users":{"totalCount":2},"recordings":{"totalCount":0}}`},
		{"users(first: 20)", `{"users":{"totalCount":2,"edges":[{"node":{"id":"2","email":"bea@acme.example"}}]}}`},
		{"viewer { id displayName }", `{"viewer":{"id":"3"}}`},
		{"recordings(first: 20)", `{"recordings":{"totalCount":5}}`},
		{"updateMyProfile", `{"updateMyProfile":{"id":"1","department":"something else"}}`},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Query string }
		_ = json.NewDecoder(r.Body).Decode(&req)
		for _, a := range answers {
			if strings.Contains(req.Query, a.in) {
				_, _ = io.WriteString(w, `{"data":`+a.data+`}`)
				return
			}
		}
		_, _ = io.WriteString(w, `{"errors":[{"message":"?","extensions":{"code":"BAD_REQUEST"}}]}`)
	}))
	defer srv.Close()
	r, err := load.Run(context.Background(), load.Options{URL: srv.URL, Clients: 1, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(r.Wrong, "\n")
	for _, want := range []string{"private email of user 2", "viewer is", "sees 5 recordings", "updateMyProfile answered"} {
		if !strings.Contains(all, want) {
			t.Errorf("no wrong response reported with %q; got:\n%s", want, all)
		}
	}
	if r.OK() {
		t.Error("the report says OK")
	}
}
