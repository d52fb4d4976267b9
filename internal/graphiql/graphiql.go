// Package graphiql serves GraphiQL from the binary itself: React, ReactDOM
// and GraphiQL's browser bundles are embedded (assets/, refreshed by
// scripts/update-graphiql.sh), so the page needs no request to leave the
// machine and runs under a strict Content-Security-Policy with no inline
// script. On the demo dataset it adds a persona picker that logs in as a
// demo user and sets the Authorization header.
package graphiql

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
)

//go:embed assets
var assets embed.FS

// Prefix is where the versioned assets are served: Prefix + version + "/" + file.
const Prefix = "/graphiql/"

// ContentSecurityPolicy is what the GraphiQL page and its assets need, and
// no more: scripts and style sheets from this server only (no inline script
// or style), requests to this server only (over HTTP and WebSocket), never
// framed. The browser tests fail on any violation of it.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Persona is a demo user the picker can log in as.
type Persona struct {
	Username string `json:"username"`
	Name     string `json:"name"`
	Scope    string `json:"scope"`
}

// Options configure the page.
type Options struct {
	// Endpoint is the GraphQL endpoint's path, e.g. "/graphql". Subscriptions
	// use the same path over WebSocket.
	Endpoint string
	// Personas, when not empty, show the persona picker: choosing one logs in
	// with Password and sets the Authorization header.
	Personas []Persona
	// Password is the demo personas' password.
	Password string
}

// Handler serves the page and its assets.
type Handler struct {
	version string
	page    []byte
	files   http.Handler
}

// New builds the handler. The assets' version is a hash of their content,
// so a new build with new assets never meets a stale browser cache.
func New(o Options) (*Handler, error) {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, fmt.Errorf("graphiql assets: %w", err)
	}
	version, err := hashOf(sub)
	if err != nil {
		return nil, err
	}
	if o.Personas == nil {
		o.Personas = []Persona{}
	}
	cfg, err := json.Marshal(map[string]any{"endpoint": o.Endpoint, "personas": o.Personas, "password": o.Password})
	if err != nil {
		return nil, fmt.Errorf("graphiql config: %w", err)
	}
	var page bytes.Buffer
	if err := pageTemplate.Execute(&page, map[string]string{"Base": Prefix + version, "Config": string(cfg)}); err != nil {
		return nil, fmt.Errorf("graphiql page: %w", err)
	}
	return &Handler{version: version, page: page.Bytes(), files: http.FileServerFS(sub)}, nil
}

// Page serves the GraphiQL page.
func (h *Handler) Page(w http.ResponseWriter, _ *http.Request) {
	setHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(h.page)
}

// Assets serves Prefix + "{version}/{file}". An asset of another version is
// not found: the page names only the current one.
func (h *Handler) Assets(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, Prefix)
	version, file, ok := strings.Cut(rest, "/")
	if !ok || version != h.version || file == "" || strings.Contains(file, "/") || strings.HasPrefix(file, "LICENSE") {
		http.NotFound(w, r)
		return
	}
	setHeaders(w.Header())
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + file
	h.files.ServeHTTP(w, r2)
}

// setHeaders replaces whatever policy a middleware set with GraphiQL's.
func setHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
}

// hashOf is a short hash of every file of fsys.
func hashOf(fsys fs.FS) (string, error) {
	var names []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("graphiql assets: %w", err)
	}
	sort.Strings(names)
	sum := sha256.New()
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return "", fmt.Errorf("graphiql assets: %w", err)
		}
		fmt.Fprintf(sum, "%s %d\n", path.Clean(n), len(b))
		sum.Write(b)
	}
	return hex.EncodeToString(sum.Sum(nil))[:12], nil
}

var pageTemplate = template.Must(template.New("graphiql").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pbxportal · GraphiQL</title>
<link rel="stylesheet" href="{{.Base}}/graphiql.min.css">
<link rel="stylesheet" href="{{.Base}}/pbxportal.css">
</head>
<body>
<div id="pbxportal" data-config="{{.Config}}">Loading GraphiQL…</div>
<script src="{{.Base}}/react.production.min.js"></script>
<script src="{{.Base}}/react-dom.production.min.js"></script>
<script src="{{.Base}}/graphiql.min.js"></script>
<script src="{{.Base}}/pbxportal.js"></script>
</body>
</html>
`))
