package app_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/app"
	"github.com/pbxportal/pbxportal/internal/media"
)

// The fuzz targets send what a hostile client could to the real handler
// (in process, on the demo): none may panic, answer HTTP 500, or answer
// INTERNAL, since everything they send is at worst the client's mistake.
// CI runs each briefly (.ci/run); `go test` runs their seed corpus
// (testdata/fuzz) as ordinary tests.

// fuzzPortal is a pbxportal on the demo, served in process, with a token of
// bob's.
type fuzzPortal struct {
	app   *app.App
	h     http.Handler
	bob   string
	bobID int
	grant media.Grant   // bob's, but for the recording
	logs  *lockedBuffer // the server's errors, shown when a case fails
}

func startFuzzPortal(f *testing.F) *fuzzPortal {
	f.Helper()
	logs := &lockedBuffer{}
	a, err := app.Open(context.Background(), app.Config{
		DataDir: f.TempDir(), Demo: true,
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		f.Fatalf("open app: %v", err)
	}
	f.Cleanup(a.Close)
	u, err := a.Client.User.Query().Where(user.Username("bob@acme.example")).Only(context.Background())
	if err != nil {
		f.Fatal(err)
	}
	tok, claims, err := a.Signer.Mint(u.ID, u.CredentialStamp, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	grant := media.Grant{User: u.ID, Action: media.Replay, Stamp: u.CredentialStamp, Session: claims.ID}
	return &fuzzPortal{app: a, h: a.Handler(), bob: tok, bobID: u.ID, grant: grant, logs: logs}
}

// serve runs req and checks the answer: no 500, and a GraphQL response
// (for /graphql) whose every error has a contract code other than INTERNAL.
func (p *fuzzPortal) serve(t *testing.T, req *http.Request) response {
	t.Helper()
	logged := len(p.logs.String())
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("HTTP %d: %.300s\nthe server logged: %.2000s", rec.Code, rec.Body.String(), p.logs.String()[logged:])
	}
	if req.URL.Path != "/graphql" {
		return response{}
	}
	var r response
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("HTTP %d, not a GraphQL response: %v: %.300s", rec.Code, err, rec.Body.String())
	}
	contract := []string{"UNAUTHENTICATED", "PORTAL_ACCESS_DISABLED", "FORBIDDEN", "NOT_FOUND", "BAD_USER_INPUT",
		"CONFLICT", "BAD_REQUEST", "RATE_LIMITED", "LIMIT_EXCEEDED"}
	for _, e := range r.Errors {
		if !slices.Contains(contract, e.code()) {
			t.Fatalf("an error with code %q: %q at %v\nthe server logged: %.2000s", e.code(), e.Message, e.Path, p.logs.String()[logged:])
		}
	}
	return r
}

// graphQLPost is a POST /graphql of body, with bob's token if asked.
func (p *fuzzPortal) graphQLPost(body string, asBob bool) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if asBob {
		req.Header.Set("Authorization", "Bearer "+p.bob)
	}
	return req
}

// FuzzGraphQLHandler fuzzes the query text, the variables and the JSON
// shape of a request.
func FuzzGraphQLHandler(f *testing.F) {
	f.Add(uint8(0), `{ viewer { id displayName } }`, `{}`, true)
	f.Add(uint8(1), `query($n: String) { users(where: {displayNameContains: $n}) { totalCount } }`, `{"n": "a"}`, true)
	p := startFuzzPortal(f)
	f.Fuzz(func(t *testing.T, shape uint8, query, variables string, asBob bool) {
		var req *http.Request
		switch shape % 4 {
		case 0: // a request with its variables as raw JSON
			body := `{"query": ` + quote(query) + `, "variables": ` + variables + `}`
			req = p.graphQLPost(body, asBob)
		case 1: // the query text as the whole body
			req = p.graphQLPost(query, asBob)
		case 2: // a batch
			req = p.graphQLPost(`[{"query": `+quote(query)+`}, `+variables+`]`, asBob)
		default: // GET
			q := url.Values{"query": {query}, "variables": {variables}}
			req = httptest.NewRequest(http.MethodGet, "/graphql?"+q.Encode(), nil)
			if asBob {
				req.Header.Set("Authorization", "Bearer "+p.bob)
			}
		}
		p.serve(t, req)
	})
}

// FuzzIDsAndCursors fuzzes global ids and connection cursors as arguments.
func FuzzIDsAndCursors(f *testing.F) {
	f.Add("1", "")
	f.Add("51539607561", "gaFpzwAAAAwAAAAJ")
	p := startFuzzPortal(f)
	f.Fuzz(func(t *testing.T, id, cursor string) {
		vars := map[string]any{"id": id, "ids": []string{id, id + "0"}, "c": cursor}
		if cursor == "" {
			vars["c"] = nil
		}
		body, _ := json.Marshal(map[string]any{
			"query": `query($id: ID!, $ids: [ID!]!, $c: Cursor) {
				node(id: $id) { id }
				nodes(ids: $ids) { id }
				users(after: $c, first: 2) { totalCount edges { cursor } }
				groups(before: $c, last: 2) { totalCount }
			}`,
			"variables": vars,
		})
		p.serve(t, p.graphQLPost(string(body), true))
	})
}

// FuzzSignedRecordingURL fuzzes the recording id and the query string of
// a signed media URL, starting from a good one.
func FuzzSignedRecordingURL(f *testing.F) {
	p := startFuzzPortal(f)
	rec, err := p.app.Client.Recording.Query().First(context.Background())
	if err != nil {
		f.Fatal(err)
	}
	g := p.grant
	g.Recording = rec.ID
	good := p.app.Media.URL(g, time.Now())
	id, query, _ := strings.Cut(strings.TrimPrefix(good, media.Path), "?")
	f.Add(id, query)
	f.Fuzz(func(t *testing.T, id, rawQuery string) {
		u, err := url.Parse(media.Path + url.PathEscape(id) + "?" + rawQuery)
		if err != nil {
			t.Skip()
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL, req.RequestURI = u, u.RequestURI()
		p.serve(t, req)
	})
}

// FuzzBearerToken fuzzes the bearer token: a token that is not exactly one
// the server minted never authenticates anyone else.
func FuzzBearerToken(f *testing.F) {
	p := startFuzzPortal(f)
	f.Add(p.bob)
	f.Fuzz(func(t *testing.T, token string) {
		req := p.graphQLPost(`{"query": "{ viewer { id } }"}`, false)
		req.Header.Set("Authorization", "Bearer "+token)
		r := p.serve(t, req)
		var out struct{ Viewer *struct{ ID string } }
		if len(r.Data) > 0 {
			_ = json.Unmarshal(r.Data, &out)
		}
		if out.Viewer != nil && token != p.bob {
			claims, err := p.app.Signer.Verify(strings.TrimSpace(token), time.Now())
			if err != nil || claims.UserID != p.bobID {
				t.Fatalf("token %q authenticated viewer %s", token, out.Viewer.ID)
			}
		}
	})
}

// quote is s as a JSON string.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
