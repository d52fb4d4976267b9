package server

import "net/http"

// apiCSP is the Content-Security-Policy of API responses: they are JSON,
// and a browser that renders one anyway may run and load nothing.
const apiCSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"

// securityHeaders sets the security headers of every response before the
// handler runs, so that a handler may override one (GraphiQL sets a CSP
// that lets its page run): no content-type sniffing, no referrer, the
// restrictive API CSP, and no caching of anything under /graphql, whose
// answers depend on the viewer.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", apiCSP)
		h.Set("X-Frame-Options", "DENY")
		if r.URL.Path == "/graphql" {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}
