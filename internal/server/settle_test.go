package server

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/auth"
)

// TestSettleFirstOnlyForTheServersTokens: through auth.Middleware, a
// request settles its revision before its session is read only when it
// carries a token the server signed and is not a WebSocket upgrade; a token
// that does not verify costs no read.
func TestSettleFirstOnlyForTheServersTokens(t *testing.T) {
	signer, err := auth.NewSigner(bytes.Repeat([]byte{7}, 32), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, err := auth.NewSigner(bytes.Repeat([]byte{8}, 32), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	mint := func(s *auth.Signer, now time.Time) string {
		token, _, err := s.Mint(1, 1, now)
		if err != nil {
			t.Fatal(err)
		}
		return token
	}
	tests := []struct {
		name    string
		headers map[string]string
		settles bool
	}{
		{"no token", nil, false},
		{"a token the server signed", map[string]string{"Authorization": "Bearer " + mint(signer, time.Now())}, true},
		{"another server's token", map[string]string{"Authorization": "Bearer " + mint(other, time.Now())}, false},
		{"an expired token", map[string]string{"Authorization": "Bearer " + mint(signer, time.Now().Add(-2*time.Hour))}, false},
		{"not a token", map[string]string{"Authorization": "Bearer x"}, false},
		{"a WebSocket upgrade", map[string]string{"Authorization": "Bearer " + mint(signer, time.Now()), "Upgrade": "websocket"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			settled := 0
			settle := func(context.Context) (string, error) { settled++; return "", nil }
			load := func(context.Context, auth.Claims) (*ent.User, error) { return &ent.User{}, nil }
			h := auth.Middleware(signer, settleFirst(settle, slog.New(slog.DiscardHandler)), load, nil, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got := settled == 1; got != tt.settles || settled > 1 {
				t.Errorf("settled %d times, want %v", settled, tt.settles)
			}
		})
	}
}
