// Package session decides whether a credential the server issued is still
// alive. A bearer token (internal/auth) or a signed media URL
// (internal/media) proves only that the server issued it; it stays usable
// while
//   - its user still exists and may use the portal,
//   - the user's credential stamp is the one it was issued under (Hook gives
//     the user a new stamp on every event that must end all its tokens), and
//   - it was not logged out (Revoke).
//
// Every request asks again, so that a revocation holds from the very next one.
package session

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strconv"
	"time"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/revokedtoken"
	"github.com/pbxportal/pbxportal/internal/access"
	"github.com/pbxportal/pbxportal/internal/auth"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
)

// ErrEnded is wrapped by every refusal of a validly signed credential whose
// user no longer holds it; it wraps auth.ErrInvalidToken. Its message never
// carries the credential. Any other error of the checks below means the
// store could not answer: the credential is then neither alive nor ended.
var ErrEnded = fmt.Errorf("session: the credential has been ended (%w)", auth.ErrInvalidToken)

// Loader returns the viewer loader of the auth middleware: it loads the user
// a token names and refuses the token if it is no longer alive.
func Loader(c *ent.Client) auth.ViewerLoader[*ent.User] {
	return func(ctx context.Context, cl auth.Claims) (*ent.User, error) {
		u, err := Holder(ctx, c, cl.UserID, cl.Stamp)
		if err != nil {
			return nil, err
		}
		revoked, err := Revoked(ctx, c, cl.ID)
		switch {
		case err != nil:
			return nil, err
		case revoked:
			return nil, fmt.Errorf("%w: logged out", ErrEnded)
		}
		return u, nil
	}
}

// Holder loads the user a credential was issued to, and checks that the
// user may still use the portal and still has the stamp the credential was
// issued under. A user who no longer exists is ErrEnded too. The row is
// read once per request (projection.UserRow): the request's own lookups
// of the viewer's relations read it again from there.
func Holder(ctx context.Context, c *ent.Client, userID int, stamp int64) (*ent.User, error) {
	u, err := projection.UserRow(ctx, c, userID)
	switch {
	case ent.IsNotFound(err):
		return nil, fmt.Errorf("%w: user %d no longer exists", ErrEnded, userID)
	case err != nil:
		return nil, fmt.Errorf("session: %w", err)
	}
	if err := Usable(u, stamp); err != nil {
		return nil, err
	}
	return u, nil
}

// Usable checks that a loaded user may still use the portal and still has
// the stamp a credential was issued under.
func Usable(u *ent.User, stamp int64) error {
	switch {
	case !access.MayUsePortal(u):
		return fmt.Errorf("%w: portal access disabled", ErrEnded)
	case !SameStamp(u.CredentialStamp, stamp):
		return fmt.Errorf("%w: credentials changed since it was issued", ErrEnded)
	}
	return nil
}

// SameStamp compares two credential stamps in constant time.
func SameStamp(a, b int64) bool {
	return subtle.ConstantTimeCompare([]byte(strconv.FormatInt(a, 16)), []byte(strconv.FormatInt(b, 16))) == 1
}

// Revoked reports whether the token with id jti was logged out.
func Revoked(ctx context.Context, c *ent.Client, jti string) (bool, error) {
	if jti == "" {
		return false, nil
	}
	found, err := c.RevokedToken.Query().Where(revokedtoken.TokenID(jti)).Exist(ctx)
	if err != nil {
		return false, fmt.Errorf("session: revoked tokens: %w", err)
	}
	return found, nil
}

// Revoke ends the token with claims cl: the loader refuses it from now on.
// It is kept in the revoked-token table until its own expiry, and every
// revoked token that has expired by now is purged, in the same client (the
// mutation's transaction).
func Revoke(ctx context.Context, c *ent.Client, cl auth.Claims, now time.Time) error {
	if _, err := c.RevokedToken.Delete().Where(revokedtoken.ExpiresAtLTE(now)).Exec(ctx); err != nil {
		return fmt.Errorf("session: purge expired revoked tokens: %w", err)
	}
	// Already revoked: nothing to do. (A failed insert would abort a
	// PostgreSQL transaction, so the row is looked for first.)
	revoked, err := c.RevokedToken.Query().Where(revokedtoken.TokenID(cl.ID)).Exist(ctx)
	if err != nil || revoked {
		return err
	}
	if err := c.RevokedToken.Create().SetTokenID(cl.ID).SetUserID(cl.UserID).SetExpiresAt(cl.ExpiresAt).Exec(ctx); err != nil {
		return fmt.Errorf("session: revoke: %w", err)
	}
	return nil
}
