package app_test

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/pbxportal/pbxportal/internal/app"
)

// TestGraphiQLPersonaPicker: GraphiQL is served unless turned off, and its
// persona picker lists exactly the demo users who may log in, only on the
// demo dataset.
func TestGraphiQLPersonaPicker(t *testing.T) {
	dir := t.TempDir()
	// Load the demo once, then serve the same data as demo and as not.
	first, err := app.Open(context.Background(), app.Config{DataDir: dir, Demo: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	cases := []struct {
		name     string
		cfg      app.Config
		status   int
		personas []string // usernames on the picker, in order
	}{
		{"demo", app.Config{Demo: true}, http.StatusOK, []string{
			"olivia@acme.example", "oscar@acme.example", "sam@acme.example", "sue@acme.example",
			"cora@acme.example", "carl@acme.example", "alice@acme.example", "adam@acme.example",
			"bob@acme.example", "bea@acme.example", "ava@acme.example",
			"gina@globex.example", "gus@globex.example", "support@provider.example"}},
		{"not the demo dataset", app.Config{}, http.StatusOK, nil},
		{"turned off", app.Config{Demo: true, DisableGraphiQL: true}, http.StatusNotFound, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg
			cfg.DataDir, cfg.Log = dir, slog.New(slog.NewTextHandler(io.Discard, nil))
			a, err := app.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			srv := httptest.NewServer(a.Handler())
			defer srv.Close()
			res, err := http.Get(srv.URL + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != c.status {
				t.Fatalf("GET /: %d, want %d", res.StatusCode, c.status)
			}
			if c.status != http.StatusOK {
				return
			}
			cfgJSON := html.UnescapeString(regexp.MustCompile(`data-config="([^"]*)"`).FindStringSubmatch(string(body))[1])
			var got []string
			for _, m := range regexp.MustCompile(`"username":"([^"]+)"`).FindAllStringSubmatch(cfgJSON, -1) {
				got = append(got, m[1])
			}
			if strings.Join(got, " ") != strings.Join(c.personas, " ") {
				t.Fatalf("personas %v, want %v", got, c.personas)
			}
		})
	}
}
