package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
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

// maxClockSkew is how far in the future a token's issue time may lie: the
// clocks of replicas differ a little.
const maxClockSkew = 60

// keySize is the size of a generated signing key.
const keySize = 32

// Signer mints and verifies bearer tokens: base64url(payload) "." base64url(HMAC-SHA256).
type Signer struct {
	key []byte
	ttl time.Duration
}

// Claims are what a verified token says: whose it is, which of the user's
// credential stamps it was issued under, its own id and its expiry. The
// signature proves only that the server issued it; whether it is still
// alive (stamp unchanged, not logged out) is for the viewer loader to say.
type Claims struct {
	// UserID is the user the token was issued to.
	UserID int
	// Stamp is the user's credential stamp when the token was issued.
	Stamp int64
	// ID (jti) names this token, so that logout can end it alone.
	ID string
	// ExpiresAt is when the token stops working on its own.
	ExpiresAt time.Time
}

type claims struct {
	Sub int    `json:"sub"`
	Stp int64  `json:"stp"`
	Jti string `json:"jti"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
}

// NewSigner returns a signer with key, whose tokens live for ttl. Verify
// refuses any token whose expiry lies more than ttl after its issue or after
// now, however well signed.
func NewSigner(key []byte, ttl time.Duration) (*Signer, error) {
	if len(key) < keySize {
		return nil, fmt.Errorf("auth: signing key is %d bytes; at least %d are needed", len(key), keySize)
	}
	if ttl <= 0 {
		return nil, errors.New("auth: token lifetime must be positive")
	}
	return &Signer{key: key, ttl: ttl}, nil
}

// NewStamp returns a fresh random credential stamp (never 0, the stamp of
// rows that predate stamps). A user's tokens carry its stamp; giving the user
// a new one ends them all at once. A random value rather than a counter means
// a stamp cannot come back: not after a restore, nor on a reused id.
func NewStamp() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return int64(binary.BigEndian.Uint64(b[:])>>2) + 1
}

// Mint returns a token for the user under its current credential stamp,
// valid from now for the signer's lifetime, with a fresh random id.
func (s *Signer) Mint(userID int, stamp int64, now time.Time) (string, Claims, error) {
	exp := now.Add(s.ttl).Truncate(time.Second)
	c := claims{Sub: userID, Stp: stamp, Jti: rand.Text(), Iat: now.Unix(), Exp: exp.Unix()}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", Claims{}, fmt.Errorf("auth: mint: %w", err)
	}
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(s.mac(p)), c.public(), nil
}

// Verify checks a token's signature and expiry and returns its claims. A
// token without a stamp or an id (one minted before either existed) is
// invalid.
func (s *Signer) Verify(token string, now time.Time) (Claims, error) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok {
		return Claims{}, fmt.Errorf("auth: malformed: %w", ErrInvalidToken)
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(p)) {
		return Claims{}, fmt.Errorf("auth: bad signature: %w", ErrInvalidToken)
	}
	raw, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return Claims{}, fmt.Errorf("auth: malformed payload: %w", ErrInvalidToken)
	}
	var c claims
	if err := json.Unmarshal(raw, &c); err != nil || c.Sub <= 0 || c.Stp == 0 || c.Jti == "" {
		return Claims{}, fmt.Errorf("auth: malformed claims: %w", ErrInvalidToken)
	}
	if now.Unix() >= c.Exp {
		return Claims{}, fmt.Errorf("auth: expired: %w", ErrInvalidToken)
	}
	// A token lives at most the configured lifetime: one that claims more
	// (from its issue, or from now) was not minted under this configuration.
	if lifetime := int64((s.ttl + time.Second - 1) / time.Second); c.Exp-c.Iat > lifetime || c.Exp-now.Unix() > lifetime || c.Iat > now.Unix()+maxClockSkew {
		return Claims{}, fmt.Errorf("auth: lifetime beyond the configured bound: %w", ErrInvalidToken)
	}
	return c.public(), nil
}

func (c claims) public() Claims {
	return Claims{UserID: c.Sub, Stamp: c.Stp, ID: c.Jti, ExpiresAt: time.Unix(c.Exp, 0)}
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
