package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/testserver"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// TestPostJSONAnswersAsGqlgensPOST: for every kind of request, postJSON
// answers with the status, Content-Type and body of gqlgen's transport.POST.
func TestPostJSONAnswersAsGqlgensPOST(t *testing.T) {
	servers := []struct {
		name string
		new  func() *testserver.TestServer
	}{{"resolving", testserver.New}, {"failing", testserver.NewError}}
	tests := []struct {
		name, accept string
		body         io.Reader
		gone         bool // the client went away before the response
	}{
		{"query", "", strings.NewReader(`{"query":"{ name }"}`), false},
		{"accept json", "application/json", strings.NewReader(`{"query":"{ name }"}`), false},
		{"accept graphql-response+json", "application/graphql-response+json; charset=utf-8", strings.NewReader(`{"query":"{ name }"}`), false},
		{"accept anything", "text/html, */*", strings.NewReader(`{"query":"{ name }"}`), false},
		{"accept nothing it knows", "text/html", strings.NewReader(`{"query":"{ name }"}`), false},
		{"accept unparsable", ";;;", strings.NewReader(`{"query":"{ name }"}`), false},
		{"variables", "", strings.NewReader(`{"query":"query($id: Int!) { find(id: $id) }","variables":{"id":1}}`), false},
		{"missing variable", "", strings.NewReader(`{"query":"query($id: Int!) { find(id: $id) }"}`), false},
		{"parse error", "", strings.NewReader(`{"query":"{ name"}`), false},
		{"parse error, graphql-response+json", "application/graphql-response+json", strings.NewReader(`{"query":"{ name"}`), false},
		{"validation error", "", strings.NewReader(`{"query":"{ nope }"}`), false},
		{"no query", "", strings.NewReader(`{}`), false},
		{"mutation", "", strings.NewReader(`{"query":"mutation { name }"}`), false},
		{"body not JSON", "", strings.NewReader(`not json`), false},
		{"body unreadable", "", failingReader{errors.New("connection reset")}, false},
		{name: "client gone", body: strings.NewReader(`{"query":"{ name }"}`), gone: true},
	}
	for _, s := range servers {
		for _, tt := range tests {
			t.Run(s.name+"/"+tt.name, func(t *testing.T) {
				body, err := io.ReadAll(tt.body)
				if err != nil && tt.name != "body unreadable" {
					t.Fatal(err)
				}
				answer := func(tr graphql.Transport) *httptest.ResponseRecorder {
					h := s.new()
					h.AddTransport(tr)
					var r io.Reader = strings.NewReader(string(body))
					if err != nil {
						r = failingReader{err}
					}
					req := httptest.NewRequest(http.MethodPost, "/graphql", r)
					if tt.gone {
						ctx, cancel := context.WithCancel(req.Context())
						cancel()
						req = req.WithContext(ctx)
					}
					req.Header.Set("Content-Type", "application/json")
					if tt.accept != "" {
						req.Header.Set("Accept", tt.accept)
					}
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					return w
				}
				want, got := answer(transport.POST{}), answer(postJSON{})
				if got.Code != want.Code {
					t.Errorf("status %d, gqlgen's POST %d", got.Code, want.Code)
				}
				if g, w := got.Header().Values("Content-Type"), want.Header().Values("Content-Type"); strings.Join(g, ";") != strings.Join(w, ";") {
					t.Errorf("Content-Type %q, gqlgen's POST %q", g, w)
				}
				if got.Body.String() != want.Body.String() {
					t.Errorf("body\n%s\ngqlgen's POST\n%s", got.Body, want.Body)
				}
			})
		}
	}
}

// TestAppendResponseIsEncodingJSONs: appendResponse writes the bytes
// encoding/json writes for a response whose data is compact JSON without
// <, > or &, whatever its errors and extensions hold.
func TestAppendResponseIsEncodingJSONs(t *testing.T) {
	yes := true
	denied := func(i int) *gqlerror.Error {
		return &gqlerror.Error{Message: "not allowed to see this field",
			Path:       ast.Path{ast.PathName("users"), ast.PathName("edges"), ast.PathIndex(i), ast.PathName("node"), ast.PathName("email")},
			Locations:  []gqlerror.Location{{Line: 1, Column: 40}},
			Extensions: map[string]any{"code": "FORBIDDEN"}}
	}
	tests := []struct {
		name string
		resp graphql.Response
	}{
		{"data", graphql.Response{Data: json.RawMessage(`{"users":{"edges":[{"node":{"id":"VXNlcjox"}}]}}`)}},
		{"no data", graphql.Response{}},
		{"null data and an error", graphql.Response{Data: json.RawMessage(`null`), Errors: gqlerror.List{{Message: "internal error"}}}},
		{"denied fields", graphql.Response{Data: json.RawMessage(`{"a":null}`), Errors: gqlerror.List{denied(0), denied(1), denied(49)}}},
		{"every extension", graphql.Response{Data: json.RawMessage(`{}`), Errors: gqlerror.List{
			{Message: "invalid value for name", Path: ast.Path{ast.PathName("updateUser")},
				Extensions: map[string]any{"code": "BAD_USER_INPUT", "field": "name"}},
			{Message: "too many failed logins", Extensions: map[string]any{"retryAfter": 30, "code": "RATE_LIMITED"}},
			{Message: "odd values", Extensions: map[string]any{"float": 1.5, "bool": true, "nil": nil, "list": []any{"a", 1}, "map": map[string]any{"z": 1, "a": "<b>"}}},
		}}},
		{"locations in part", graphql.Response{Errors: gqlerror.List{
			{Message: "line only", Locations: []gqlerror.Location{{Line: 3}}},
			{Message: "column only", Locations: []gqlerror.Location{{Column: 7}}},
			{Message: "neither", Locations: []gqlerror.Location{{}, {Line: 1, Column: 2}}},
		}}},
		{"strings to escape", graphql.Response{Errors: gqlerror.List{
			{Message: `a "quoted" \ <tag> & more`, Path: ast.Path{ast.PathName("a\tb")}, Extensions: map[string]any{"code": "ünïcode\u2028\x01"}},
			{Message: "invalid \xff utf-8"},
		}}},
		{"a nil error", graphql.Response{Errors: gqlerror.List{nil, {Message: "x"}}}},
		{"response extensions", graphql.Response{Data: json.RawMessage(`{}`), Extensions: map[string]any{"cost": 12, "note": "n"}}},
		{"incremental", graphql.Response{Data: json.RawMessage(`{}`), Label: "l", Path: ast.Path{ast.PathName("a"), ast.PathIndex(0)}, HasNext: &yes}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(&tt.resp)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendResponse(nil, &tt.resp); string(got) != string(want) {
				t.Errorf("appendResponse\n%s\nencoding/json\n%s", got, want)
			}
		})
	}
}

// TestAppendStringIsEncodingJSONs: random strings, printable ASCII and
// every byte besides, are quoted as encoding/json quotes them.
func TestAppendStringIsEncodingJSONs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = byte(r.IntN(256))
			} else {
				b[i] = byte(0x20 + r.IntN(0x5f))
			}
		}
		want, _ := json.Marshal(string(b))
		if got := appendString(nil, string(b)); string(got) != string(want) {
			t.Fatalf("appendString(%q) = %s, encoding/json %s", b, got, want)
		}
	}
}
