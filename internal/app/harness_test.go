package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/app"
)

// portal is a running pbxportal on a fresh data dir, with the demo loaded,
// served over real HTTP.
type portal struct {
	t   *testing.T
	app *app.App
	srv *httptest.Server
	dir string
}

func startPortal(t *testing.T) *portal {
	t.Helper()
	return startPortalIn(t, t.TempDir())
}

func startPortalIn(t *testing.T, dir string) *portal {
	t.Helper()
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{
		DataDir: dir,
		Demo:    true,
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	p := &portal{t: t, app: a, srv: httptest.NewServer(a.Handler()), dir: dir}
	t.Cleanup(p.stop)
	return p
}

func (p *portal) stop() {
	p.srv.Close()
	p.app.Close()
}

// tokenFor mints a token for a demo user, as `pbxportal token` does.
func (p *portal) tokenFor(username string) string {
	p.t.Helper()
	u, err := p.app.Client.User.Query().Where(user.Username(username)).Only(context.Background())
	if err != nil {
		p.t.Fatalf("user %s: %v", username, err)
	}
	tok, _, err := p.app.Signer.Mint(u.ID, u.CredentialStamp, time.Now())
	if err != nil {
		p.t.Fatal(err)
	}
	return tok
}

// gqlError is one entry of a response's errors.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

func (e gqlError) code() string { s, _ := e.Extensions["code"].(string); return s }

// response is a decoded GraphQL response.
type response struct {
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

// do posts a query as the holder of token ("" for anonymous).
func (p *portal) do(token, query string, vars map[string]any) response {
	p.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, p.srv.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("post: %v", err)
	}
	defer res.Body.Close()
	var r response
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		p.t.Fatalf("decode response (status %d): %v", res.StatusCode, err)
	}
	return r
}

// as runs a query as a demo persona and decodes data into out.
func (p *portal) as(username, query string, vars map[string]any, out any) []gqlError {
	p.t.Helper()
	r := p.do(p.tokenFor(username), query, vars)
	if out != nil && len(r.Data) > 0 {
		if err := json.Unmarshal(r.Data, out); err != nil {
			p.t.Fatalf("decode data %s: %v", r.Data, err)
		}
	}
	return r.Errors
}

// codes lists the extensions.code of each error.
func codes(errs []gqlError) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.code()
	}
	return out
}

// get fetches a plain HTTP path.
func (p *portal) get(path string) (int, string) {
	p.t.Helper()
	res, err := http.Get(p.srv.URL + path)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }
