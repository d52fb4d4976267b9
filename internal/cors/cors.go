// Package cors lets single-page apps on other origins call the API: an
// allowlist of origins (--cors-origin) and answered preflights. The
// WebSocket upgrade's origin check (internal/server) asks the same
// allowlist. No origin is allowed by default.
package cors

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxAge is how long a browser may cache a preflight's answer.
const MaxAge = 10 * time.Minute

// Methods and Headers are what a cross-origin request may use.
const (
	Methods = "GET, POST"
	Headers = "Authorization, Content-Type"
	// Exposed are the response headers a cross-origin page may read.
	Exposed = "X-Request-Id"
)

// Policy is an allowlist of origins.
type Policy struct {
	origins map[string]bool
}

// New builds the policy of origins, each "scheme://host[:port]" with no path
// (an entry may list several, comma-separated). It refuses anything else,
// "*" included: name each origin.
func New(origins []string) (*Policy, error) {
	p := &Policy{origins: map[string]bool{}}
	for _, entry := range origins {
		for _, o := range strings.Split(entry, ",") {
			o = strings.TrimSpace(o)
			if o == "" {
				continue
			}
			norm, err := normalize(o)
			if err != nil {
				return nil, fmt.Errorf("--cors-origin %q: %w", o, err)
			}
			p.origins[norm] = true
		}
	}
	return p, nil
}

// normalize checks an allowlist entry and lower-cases it as browsers send it.
func normalize(o string) (string, error) {
	u, err := url.Parse(o)
	if err != nil {
		return "", fmt.Errorf("not an origin: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("not an origin: want scheme://host[:port], e.g. http://localhost:5173")
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// Allowed reports whether a request whose Origin header is origin may be
// served. The WebSocket upgrade uses it too.
func (p *Policy) Allowed(origin string) bool {
	return origin != "" && p.origins[strings.ToLower(origin)]
}

// Middleware answers preflights and marks the responses to allowed origins.
// A preflight from an origin not allowed gets 403 and no CORS header; other
// requests from it are served as usual but without CORS headers, so the
// browser does not let the page read them.
func (p *Policy) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		h.Add("Vary", "Origin")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if preflight {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
		}
		allowed := p.Allowed(origin)
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
		}
		if !preflight {
			if allowed {
				h.Set("Access-Control-Expose-Headers", Exposed)
			}
			next.ServeHTTP(w, r)
			return
		}
		if !allowed {
			http.Error(w, "origin not allowed", http.StatusForbidden)
			return
		}
		h.Set("Access-Control-Allow-Methods", Methods)
		h.Set("Access-Control-Allow-Headers", Headers)
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(MaxAge.Seconds())))
		w.WriteHeader(http.StatusNoContent)
	})
}
