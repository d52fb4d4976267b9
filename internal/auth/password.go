// Package auth is pbxportal's identity: password hashing, signed bearer
// tokens, the signing key, and the HTTP middleware that puts the viewer in
// the request context.
package auth

import (
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// UnusableHash is a bcrypt hash that no password matches. Login checks a
// password against it when the user does not exist, so that the answer takes
// as long as for a user who does.
const UnusableHash = "$2a$10$3euPcmQFCiblsZeEu5s7p.9OVHgeHWFDk9nhMqZ0m/3pd/lhwZgES"

// HashPassword hashes a password with bcrypt.
func HashPassword(plain string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(plain), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return string(h), nil
}

// VerifyPassword reports whether plain matches hash. A malformed hash never
// matches.
func VerifyPassword(hash, plain string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(plain)) == nil
}
