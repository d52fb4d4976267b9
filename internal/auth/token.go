package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrInvalidToken is wrapped by every token that fails verification:
// malformed, badly signed or expired.
var ErrInvalidToken = errors.New("invalid or expired token")

// keySize is the size of a generated signing key.
const keySize = 32

// Signer mints and verifies bearer tokens: base64url(payload) "." base64url(HMAC-SHA256).
type Signer struct {
	key []byte
	ttl time.Duration
}

type claims struct {
	Sub int   `json:"sub"`
	Iat int64 `json:"iat"`
	Exp int64 `json:"exp"`
}

// NewSigner returns a signer with key, whose tokens live for ttl.
func NewSigner(key []byte, ttl time.Duration) (*Signer, error) {
	if len(key) < keySize {
		return nil, fmt.Errorf("auth: signing key is %d bytes; at least %d are needed", len(key), keySize)
	}
	if ttl <= 0 {
		return nil, errors.New("auth: token lifetime must be positive")
	}
	return &Signer{key: key, ttl: ttl}, nil
}

// Mint returns a token for the user, valid from now for the signer's lifetime.
func (s *Signer) Mint(userID int, now time.Time) (string, time.Time, error) {
	exp := now.Add(s.ttl).Truncate(time.Second)
	payload, err := json.Marshal(claims{Sub: userID, Iat: now.Unix(), Exp: exp.Unix()})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: mint: %w", err)
	}
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(s.mac(p)), exp, nil
}

// Verify checks a token's signature and expiry and returns its user id.
func (s *Signer) Verify(token string, now time.Time) (int, error) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok {
		return 0, fmt.Errorf("auth: malformed: %w", ErrInvalidToken)
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(p)) {
		return 0, fmt.Errorf("auth: bad signature: %w", ErrInvalidToken)
	}
	raw, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return 0, fmt.Errorf("auth: malformed payload: %w", ErrInvalidToken)
	}
	var c claims
	if err := json.Unmarshal(raw, &c); err != nil || c.Sub <= 0 {
		return 0, fmt.Errorf("auth: malformed claims: %w", ErrInvalidToken)
	}
	if now.Unix() >= c.Exp {
		return 0, fmt.Errorf("auth: expired: %w", ErrInvalidToken)
	}
	return c.Sub, nil
}

func (s *Signer) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// LoadOrCreateKey reads the signing key at path. On first start, when there
// is none, it generates a random key and keeps it there (mode 0600).
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	switch {
	case err == nil && len(key) < keySize:
		return nil, fmt.Errorf("auth: signing key %s is too short (%d bytes; at least %d)", path, len(key), keySize)
	case err == nil:
		return key, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("auth: read signing key: %w", err)
	}
	key = make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("auth: generate signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("auth: signing key dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("auth: create signing key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("auth: write signing key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("auth: write signing key: %w", err)
	}
	return key, nil
}
