package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pbxportal/pbxportal/internal/auth"
)

func TestPasswords(t *testing.T) {
	hash, err := auth.HashPassword("demo-password")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		hash, password string
		want           bool
	}{
		{hash, "demo-password", true},
		{hash, "demo-passwor", false},
		{"not a hash", "demo-password", false},
		{auth.UnusableHash, "", false},
	}
	for _, tt := range tests {
		if got := auth.VerifyPassword(tt.hash, tt.password); got != tt.want {
			t.Errorf("VerifyPassword(%q, %q) = %v, want %v", tt.hash, tt.password, got, tt.want)
		}
	}
}

func TestTokens(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	s, err := auth.NewSigner(key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := auth.NewSigner([]byte(strings.Repeat("o", 32)), time.Hour)
	now := time.Now()
	token, exp, err := s.Mint(42, now)
	if err != nil || !exp.After(now) {
		t.Fatalf("mint: %v, expires %v", err, exp)
	}
	payload, sig, _ := strings.Cut(token, ".")
	otherToken, _, _ := other.Mint(42, now)
	tests := []struct {
		name, token string
		at          time.Time
		wantID      int
	}{
		{"valid", token, now, 42},
		{"expired", token, now.Add(2 * time.Hour), 0},
		{"tampered payload", "x" + payload + "." + sig, now, 0},
		{"tampered signature", payload + "." + sig[:len(sig)-2] + "AA", now, 0},
		{"another key", otherToken, now, 0},
		{"garbage", "garbage", now, 0},
		{"empty", "", now, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := s.Verify(tt.token, tt.at)
			if tt.wantID != 0 {
				if err != nil || id != tt.wantID {
					t.Fatalf("Verify = %d, %v", id, err)
				}
				return
			}
			if !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("Verify = %d, %v; want ErrInvalidToken", id, err)
			}
			if strings.Contains(err.Error(), string(key)) {
				t.Fatal("the error shows the key")
			}
		})
	}
	if _, err := auth.NewSigner([]byte("short"), time.Hour); err == nil {
		t.Error("a short key was accepted")
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "signing.key")
	first, err := auth.LoadOrCreateKey(path)
	if err != nil || len(first) < 32 {
		t.Fatalf("create: %v (%d bytes)", err, len(first))
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, fi.Mode())
	}
	again, err := auth.LoadOrCreateKey(path)
	if err != nil || string(again) != string(first) {
		t.Fatalf("reload gave another key (%v)", err)
	}
	short := filepath.Join(t.TempDir(), "short.key")
	_ = os.WriteFile(short, []byte("tiny"), 0o600)
	if _, err := auth.LoadOrCreateKey(short); err == nil {
		t.Error("a short key file was accepted")
	}
}

func TestMiddleware(t *testing.T) {
	s, _ := auth.NewSigner([]byte(strings.Repeat("k", 32)), time.Hour)
	token, _, _ := s.Mint(7, time.Now())
	load := func(_ context.Context, id int) (string, error) {
		if id == 7 {
			return "user-7", nil
		}
		return "", errors.New("no such user")
	}
	unknown, _, _ := s.Mint(8, time.Now())
	tests := []struct{ name, header, want string }{
		{"no header", "", ""},
		{"bad token", "Bearer nope", ""},
		{"not bearer", "Basic " + token, ""},
		{"unknown user", "Bearer " + unknown, ""},
		{"valid", "Bearer " + token, "user-7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			h := auth.Middleware(s, load, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got, _ = auth.ViewerFrom[string](r.Context())
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if got != tt.want {
				t.Errorf("viewer = %q, want %q", got, tt.want)
			}
		})
	}
}
