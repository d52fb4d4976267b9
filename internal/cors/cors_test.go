package cors_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pbxportal/pbxportal/internal/cors"
)

func TestNewRefusesWhatIsNotAnOrigin(t *testing.T) {
	cases := []struct {
		entry   string
		wantErr bool
	}{
		{"http://localhost:5173", false},
		{"https://portal.example.com, http://127.0.0.1:3000", false},
		{"https://portal.example.com/", false},
		{"", false},
		{"*", true},
		{"localhost:5173", true},
		{"https://portal.example.com/app", true},
		{"ftp://portal.example.com", true},
		{"https://user@portal.example.com", true},
		{"https://portal.example.com?x=1", true},
	}
	for _, c := range cases {
		_, err := cors.New([]string{c.entry})
		if (err != nil) != c.wantErr {
			t.Errorf("New(%q): error %v, want error %v", c.entry, err, c.wantErr)
		}
	}
}

func TestAllowed(t *testing.T) {
	p, err := cors.New([]string{"http://localhost:5173,https://Portal.Example.com", "http://127.0.0.1:3000"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		origin string
		want   bool
	}{
		{"http://localhost:5173", true},
		{"https://portal.example.com", true},
		{"HTTPS://PORTAL.EXAMPLE.COM", true},
		{"http://127.0.0.1:3000", true},
		{"http://localhost:5174", false},
		{"https://localhost:5173", false},
		{"http://portal.example.com", false},
		{"null", false},
		{"", false},
	}
	for _, c := range cases {
		if got := p.Allowed(c.origin); got != c.want {
			t.Errorf("Allowed(%q) = %v, want %v", c.origin, got, c.want)
		}
	}
	none, _ := cors.New(nil)
	if none.Allowed("http://localhost:5173") {
		t.Error("an empty allowlist allows an origin")
	}
}

func TestMiddleware(t *testing.T) {
	p, err := cors.New([]string{"http://localhost:5173"})
	if err != nil {
		t.Fatal(err)
	}
	served := 0
	h := p.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		served++
		w.WriteHeader(http.StatusOK)
	}))
	cases := []struct {
		name       string
		method     string
		origin     string
		preflight  bool
		wantStatus int
		wantACAO   string
		wantServed bool
	}{
		{"preflight from an allowed origin", http.MethodOptions, "http://localhost:5173", true, http.StatusNoContent, "http://localhost:5173", false},
		{"preflight from another origin", http.MethodOptions, "http://evil.example", true, http.StatusForbidden, "", false},
		{"request from an allowed origin", http.MethodPost, "http://localhost:5173", false, http.StatusOK, "http://localhost:5173", true},
		{"request from another origin", http.MethodPost, "http://evil.example", false, http.StatusOK, "", true},
		{"same-origin or non-browser request", http.MethodPost, "", false, http.StatusOK, "", true},
		{"plain OPTIONS (no preflight)", http.MethodOptions, "", false, http.StatusOK, "", true},
	}
	for _, c := range cases {
		served = 0
		req := httptest.NewRequest(c.method, "/graphql", nil)
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		if c.preflight {
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		hd := rec.Header()
		if rec.Code != c.wantStatus || hd.Get("Access-Control-Allow-Origin") != c.wantACAO || (served == 1) != c.wantServed {
			t.Errorf("%s: status %d, ACAO %q, served %v; want %d, %q, %v", c.name, rec.Code,
				hd.Get("Access-Control-Allow-Origin"), served == 1, c.wantStatus, c.wantACAO, c.wantServed)
		}
		if !strings.Contains(strings.Join(hd.Values("Vary"), ","), "Origin") {
			t.Errorf("%s: no Vary: Origin", c.name)
		}
		if c.preflight && c.wantACAO != "" {
			if hd.Get("Access-Control-Allow-Headers") != "Authorization, Content-Type" ||
				hd.Get("Access-Control-Allow-Methods") != "GET, POST" || hd.Get("Access-Control-Max-Age") != "600" {
				t.Errorf("%s: headers %v", c.name, hd)
			}
		}
		if c.preflight && c.wantACAO == "" && hd.Get("Access-Control-Allow-Headers") != "" {
			t.Errorf("%s: a refused preflight lists allowed headers", c.name)
		}
	}
}
