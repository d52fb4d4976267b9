package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/pbxportal/pbxportal/internal/app"
	"github.com/pbxportal/pbxportal/internal/migration"
	"github.com/pbxportal/pbxportal/internal/pgtest"
)

// TestSecurityHeaders: every response carries the security headers, API
// responses the restrictive CSP, and /graphql answers are never cached.
func TestSecurityHeaders(t *testing.T) {
	p := startPortal(t)
	tests := []struct {
		name, method, path, body string
		noStore, apiCSP          bool
	}{
		{"graphql POST", "POST", "/graphql", `{"query":"{ __typename }"}`, true, true},
		{"graphql GET", "GET", "/graphql?query={__typename}", "", true, true},
		{"graphql refused", "POST", "/graphql", `[1]`, true, true},
		{"healthz", "GET", "/healthz", "", false, true},
		{"readyz", "GET", "/readyz", "", false, true},
		{"metrics", "GET", "/metrics", "", false, true},
		{"not found", "GET", "/nothing-here", "", false, true},
		{"media", "GET", "/media/recordings/1?sig=x", "", false, true},
		{"graphiql", "GET", "/", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, p.srv.URL+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			h := res.Header
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("headers %v lack nosniff or no-referrer", h)
			}
			if got := h.Get("Cache-Control") == "no-store"; got != tt.noStore {
				t.Errorf("Cache-Control %q, want no-store: %v", h.Get("Cache-Control"), tt.noStore)
			}
			csp := h.Get("Content-Security-Policy")
			if csp == "" {
				t.Fatal("no Content-Security-Policy")
			}
			if got := strings.HasPrefix(csp, "default-src 'none'; frame-ancestors 'none'"); got != tt.apiCSP {
				t.Errorf("CSP %q; want the API's: %v", csp, tt.apiCSP)
			}
		})
	}
}

// TestMetricsOnTheirOwnAddress: with SeparateMetrics, /metrics is not on
// the API's handler, and MetricsHandler serves it; Go's profiles are only
// ever on the metrics address.
func TestMetricsOnTheirOwnAddress(t *testing.T) {
	p := openPortal(t, app.Config{DataDir: t.TempDir(), Demo: true, SeparateMetrics: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if status, _ := p.get("/metrics"); status != http.StatusNotFound {
		t.Errorf("/metrics on the API answers %d, want 404", status)
	}
	metrics := httptest.NewServer(p.app.MetricsHandler())
	defer metrics.Close()
	res, err := http.Get(metrics.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), "pbxportal_graphql_requests_total") {
		t.Errorf("the metrics address answers %d: %.200s", res.StatusCode, b)
	}
	if status, _ := p.get("/debug/pprof/heap"); status != http.StatusNotFound {
		t.Errorf("/debug/pprof/heap on the API answers %d, want 404", status)
	}
	heap, err := http.Get(metrics.URL + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer heap.Body.Close()
	hb, _ := io.ReadAll(heap.Body)
	if heap.StatusCode != http.StatusOK || !strings.Contains(string(hb), "heap profile") {
		t.Errorf("/debug/pprof/heap on the metrics address answers %d: %.200s", heap.StatusCode, hb)
	}
}

// TestDataDirIsPrivate: whatever modes the data dir and its files had, the
// server leaves the dir 0700 and every file in it 0600.
func TestDataDirIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(filepath.Join(dir, "media"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"pbxportal.db", "leftover.txt", "media/old.wav"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "media"), 0o755); err != nil {
		t.Fatal(err)
	}
	store, err := app.OpenStore(context.Background(), app.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Client.Close()
	files := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, info.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 4 { // the three above and the signing key
		t.Fatalf("only %d files walked", files)
	}
}

// TestSpiceDBKeyFromFile: the preshared key of a remote SpiceDB can come
// from a file, which wins over the flag.
func TestSpiceDBKeyFromFile(t *testing.T) {
	spice := startSpiceDBServer(t)
	keyFile := filepath.Join(t.TempDir(), "spicedb.key")
	if err := os.WriteFile(keyFile, []byte(spice.key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := spice.config(t.TempDir(), postgresURL(t), true)
	cfg.SpiceDBToken = "not-the-key"
	if _, err := app.Open(context.Background(), cfg); err == nil {
		t.Fatal("opened with a wrong key: the test shows nothing")
	}
	cfg.SpiceDBTokenFile = keyFile
	p := openPortal(t, cfg)
	if status, body := p.get("/readyz"); status != http.StatusOK {
		t.Fatalf("/readyz %d %s with the key from its file", status, body)
	}
}

// TestDatabaseRefusingConnections: while PostgreSQL refuses connections,
// /readyz says not ready, and no answer shows the driver's text. A
// logged-in user is not told to log in again: its token cannot be checked,
// which is the server's trouble (HTTP 503, AUTHZ_UNAVAILABLE; a WebSocket
// closed with a code clients retry; a media URL 503), never
// UNAUTHENTICATED.
func TestDatabaseRefusingConnections(t *testing.T) {
	dbURL := pgtest.Database(t)
	if _, err := app.Migrate(context.Background(), app.Config{DatabaseURL: dbURL}, migration.Options{}); err != nil {
		t.Fatal(err)
	}
	p := openPortal(t, app.Config{DataDir: t.TempDir(), DatabaseURL: dbURL, Demo: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	token := p.tokenFor("olivia@acme.example")
	if status, _ := p.get("/readyz"); status != http.StatusOK {
		t.Fatalf("/readyz %d before the outage", status)
	}
	replay, _ := p.mediaURLs(p.tokenFor("ava@acme.example"), "acme-0001")
	if replay == "" {
		t.Fatal("no replay URL before the outage")
	}

	// A WebSocket opened before the outage, to send a query over during it.
	open := connectWS(t, p, map[string]any{"Authorization": "Bearer " + token})
	if m := open.next(); m.Type != "connection_ack" {
		t.Fatalf("connection_init answered %s, want connection_ack", m.Type)
	}

	u, _ := url.Parse(dbURL)
	name := strings.TrimPrefix(u.Path, "/")
	admin, err := sql.Open("pgx", os.Getenv(pgtest.EnvURL))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, stmt := range []string{
		"ALTER DATABASE " + name + " ALLOW_CONNECTIONS false",
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name + "' AND pid <> pg_backend_pid()",
	} {
		if _, err := admin.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Cleanup(func() { _, _ = admin.Exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS true") })

	if status, _ := p.get("/readyz"); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz %d while the database refuses connections, want 503", status)
	}
	for _, q := range []struct{ token, query string }{
		{"", `mutation { login(input: {username: "bob@acme.example", password: "demo-password"}) { token } }`},
		{token, `mutation { updateMyProfile(input: {department: "x"}) { id } }`},
		{token, `{ users(first: 5) { edges { node { displayName } } } }`},
		{token, `{ viewer { displayName } }`},
	} {
		body, _ := json.Marshal(map[string]string{"query": q.query})
		raw := p.raw(http.MethodPost, "application/json", bytes.NewReader(body), q.token)
		r := raw.body
		if len(r.Errors) == 0 {
			t.Errorf("%s: answered without error while the database refuses connections", q.query)
		}
		if q.token != "" {
			if got := codes(r.Errors); raw.status != http.StatusServiceUnavailable || strings.Join(got, ",") != "AUTHZ_UNAVAILABLE" {
				t.Errorf("%s as a logged-in user: HTTP %d %v, want 503 AUTHZ_UNAVAILABLE (the session cannot be checked; not UNAUTHENTICATED)",
					q.query, raw.status, got)
			}
		}
		for _, e := range r.Errors {
			if e.code() == "" {
				t.Errorf("%s: an error without a code: %q", q.query, e.Message)
			}
			for _, leak := range []string{"connect", "user=", "database", "transaction", "ent:", name} {
				if strings.Contains(e.Message, leak) {
					t.Errorf("%s: the message shows internal text %q: %q", q.query, leak, e.Message)
				}
			}
		}
	}
	if status := p.status(replay); status != http.StatusServiceUnavailable {
		t.Errorf("a media URL: HTTP %d while the database refuses connections, want 503 (not 403: the URL may be good)", status)
	}
	open.send(wsMessage{Type: "subscribe", ID: "q", Payload: mustJSON(t, map[string]any{"query": `{ viewer { username } }`})})
	if m := open.next(); m.Type != "next" {
		t.Errorf("a query over an open WebSocket answered %s %s, want a result", m.Type, m.Payload)
	} else {
		var r response
		_ = json.Unmarshal(m.Payload, &r)
		if got := strings.Join(codes(r.Errors), ","); got != "AUTHZ_UNAVAILABLE" {
			t.Errorf("a query over an open WebSocket: codes %q, want AUTHZ_UNAVAILABLE (not UNAUTHENTICATED: the token may be good)", got)
		}
	}
	ws := connectWS(t, p, map[string]any{"Authorization": "Bearer " + token})
	m, err := ws.read(15 * time.Second)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusTryAgainLater || !strings.HasPrefix(ce.Reason, "AUTHZ_UNAVAILABLE") {
		t.Errorf("connection_init: %+v, %v; want closed with 1013 (try again later) AUTHZ_UNAVAILABLE, not 4401", m, err)
	}
}
