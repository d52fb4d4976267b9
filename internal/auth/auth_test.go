package auth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
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
	token, minted, err := s.Mint(42, 7, now)
	if err != nil || !minted.ExpiresAt.After(now) || minted.ID == "" {
		t.Fatalf("mint: %v, %+v", err, minted)
	}
	second, again, _ := s.Mint(42, 7, now)
	if again.ID == minted.ID || second == token {
		t.Fatal("two tokens minted at once share an id")
	}
	payload, sig, _ := strings.Cut(token, ".")
	otherToken, _, _ := other.Mint(42, 7, now)
	forge := func(claims string) string { // correctly signed, with these claims
		p := base64.RawURLEncoding.EncodeToString([]byte(claims))
		m := hmac.New(sha256.New, key)
		m.Write([]byte(p))
		return p + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	iat, exp := now.Unix(), now.Add(time.Hour).Unix()
	tests := []struct {
		name, token string
		at          time.Time
		want        auth.Claims
	}{
		{"valid", token, now, minted},
		{"expired", token, now.Add(2 * time.Hour), auth.Claims{}},
		{"tampered payload", "x" + payload + "." + sig, now, auth.Claims{}},
		{"tampered signature", payload + "." + sig[:len(sig)-2] + "AA", now, auth.Claims{}},
		{"another key", otherToken, now, auth.Claims{}},
		{"garbage", "garbage", now, auth.Claims{}},
		{"empty", "", now, auth.Claims{}},
		{"no stamp (an old token)", forge(fmt.Sprintf(`{"sub":42,"jti":"x","exp":%d}`, exp)), now, auth.Claims{}},
		{"no id (an old token)", forge(fmt.Sprintf(`{"sub":42,"stp":7,"exp":%d}`, exp)), now, auth.Claims{}},
		{"all claims", forge(fmt.Sprintf(`{"sub":42,"stp":7,"jti":"x","iat":%d,"exp":%d}`, iat, exp)), now,
			auth.Claims{UserID: 42, Stamp: 7, ID: "x", ExpiresAt: time.Unix(exp, 0)}},
		{"expiry in 2286", forge(fmt.Sprintf(`{"sub":42,"stp":7,"jti":"x","iat":%d,"exp":9999999999}`, iat)), now, auth.Claims{}},
		{"expiry in 2286, issued then too", forge(`{"sub":42,"stp":7,"jti":"x","iat":9999990000,"exp":9999999999}`), now, auth.Claims{}},
		{"lives longer than the lifetime", forge(fmt.Sprintf(`{"sub":42,"stp":7,"jti":"x","iat":%d,"exp":%d}`, iat-3600, exp)), now, auth.Claims{}},
		{"no issue time", forge(fmt.Sprintf(`{"sub":42,"stp":7,"jti":"x","exp":%d}`, exp)), now, auth.Claims{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Verify(tt.token, tt.at)
			if tt.want.UserID != 0 {
				if err != nil || got != tt.want {
					t.Fatalf("Verify = %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("Verify = %+v, %v; want ErrInvalidToken", got, err)
			}
			if strings.Contains(err.Error(), string(key)) || strings.Contains(err.Error(), tt.token) && tt.token != "" {
				t.Fatal("the error shows the key or the token")
			}
		})
	}
	if _, err := auth.NewSigner([]byte("short"), time.Hour); err == nil {
		t.Error("a short key was accepted")
	}
}

func TestNewStamp(t *testing.T) {
	seen := map[int64]bool{}
	for range 1000 {
		s := auth.NewStamp()
		if s <= 0 || seen[s] {
			t.Fatalf("stamp %d: not positive, or repeated", s)
		}
		seen[s] = true
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
	token, minted, _ := s.Mint(7, 1, time.Now())
	storeDown := errors.New("the store is down")
	load := func(_ context.Context, c auth.Claims) (string, error) {
		switch {
		case c.UserID == 7 && c.Stamp == 1:
			return "user-7", nil
		case c.UserID == 9:
			return "", storeDown
		}
		return "", fmt.Errorf("no such user, or not alive: %w", auth.ErrInvalidToken)
	}
	unknown, _, _ := s.Mint(8, 1, time.Now())
	restamped, _, _ := s.Mint(7, 2, time.Now())
	unchecked, _, _ := s.Mint(9, 1, time.Now())
	tests := []struct {
		name, header, want string
		unavailable        bool // answered by the Unavailable handler, not passed on
	}{
		{"no header", "", "", false},
		{"bad token", "Bearer nope", "", false},
		{"not bearer", "Basic " + token, "", false},
		{"unknown user", "Bearer " + unknown, "", false},
		{"refused by the loader", "Bearer " + restamped, "", false},
		{"the loader's store fails", "Bearer " + unchecked, "", true},
		{"valid", "Bearer " + token, "user-7", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			var claims auth.Claims
			var passed bool
			var failed error
			unavailable := func(_ http.ResponseWriter, _ *http.Request, err error) { failed = err }
			h := auth.Middleware(s, nil, load, unavailable, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				passed = true
				got, _ = auth.ViewerFrom[string](r.Context())
				claims, _ = auth.ClaimsFrom(r.Context())
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if passed == tt.unavailable || errors.Is(failed, storeDown) != tt.unavailable {
				t.Fatalf("passed on %v, unavailable with %v; want unavailable: %v", passed, failed, tt.unavailable)
			}
			if got != tt.want {
				t.Errorf("viewer = %q, want %q", got, tt.want)
			}
			if (got != "") != (claims == minted) {
				t.Errorf("claims = %+v with viewer %q; want the token's claims exactly when there is a viewer", claims, got)
			}
		})
	}
}
