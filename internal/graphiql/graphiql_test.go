package graphiql_test

import (
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/pbxportal/pbxportal/internal/graphiql"
)

func serve(t *testing.T, o graphiql.Options) *httptest.Server {
	t.Helper()
	h, err := graphiql.New(o)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.Page)
	mux.HandleFunc("GET "+graphiql.Prefix, h.Assets)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// TestPageLoadsOnlyItsOwnAssets: the page has no inline script and names
// only assets this server serves, every one of them under the CSP.
func TestPageLoadsOnlyItsOwnAssets(t *testing.T) {
	srv := serve(t, graphiql.Options{Endpoint: "/graphql"})
	res, page := get(t, srv.URL+"/")
	if res.Header.Get("Content-Security-Policy") != graphiql.ContentSecurityPolicy {
		t.Fatalf("page CSP %q", res.Header.Get("Content-Security-Policy"))
	}
	if regexp.MustCompile(`<script>|<script [^>]*>[^<]`).MatchString(page) || strings.Contains(page, "http") {
		t.Fatalf("the page has an inline script or an absolute URL:\n%s", page)
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) != 6 {
		t.Fatalf("%d assets on the page, want 6 (4 scripts, 2 style sheets)", len(refs))
	}
	for _, m := range refs {
		res, body := get(t, srv.URL+m[1])
		if res.StatusCode != http.StatusOK || len(body) == 0 ||
			res.Header.Get("Content-Security-Policy") != graphiql.ContentSecurityPolicy ||
			!strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: %d, %d bytes, headers %v", m[1], res.StatusCode, len(body), res.Header)
		}
		if strings.Contains(body, "sourceMappingURL") {
			t.Errorf("%s names a source map that is not shipped", m[1])
		}
	}
	for _, bad := range []string{"/graphiql/0000/graphiql.min.js", refs[0][1] + "x", "/graphiql/" + strings.Split(refs[0][1], "/")[2] + "/LICENSE.react"} {
		if res, _ := get(t, srv.URL+bad); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", bad, res.StatusCode)
		}
	}
}

// TestPersonasReachThePage: the picker's personas and password are in the
// page's configuration only when given.
func TestPersonasReachThePage(t *testing.T) {
	cases := []struct {
		name string
		opts graphiql.Options
		want []string
		not  []string
	}{
		{"demo", graphiql.Options{Endpoint: "/graphql", Password: "demo-password",
			Personas: []graphiql.Persona{{Username: "bob@acme.example", Name: "Bob <Brown>", Scope: "BASIC_USER"}}},
			[]string{`"username":"bob@acme.example"`, `"password":"demo-password"`, `"name":"Bob \u003cBrown\u003e"`}, nil},
		{"production data", graphiql.Options{Endpoint: "/graphql"},
			[]string{`"personas":[]`, `"password":""`}, []string{"demo-password"}},
	}
	for _, c := range cases {
		srv := serve(t, c.opts)
		_, page := get(t, srv.URL+"/")
		cfg := html.UnescapeString(regexp.MustCompile(`data-config="([^"]*)"`).FindStringSubmatch(page)[1])
		for _, w := range c.want {
			if !strings.Contains(cfg, w) {
				t.Errorf("%s: config %s lacks %s", c.name, cfg, w)
			}
		}
		for _, n := range c.not {
			if strings.Contains(page, n) {
				t.Errorf("%s: page holds %s", c.name, n)
			}
		}
	}
}
