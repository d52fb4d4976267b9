package graph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/graph/model"
	"github.com/pbxportal/pbxportal/internal/access"
	"github.com/pbxportal/pbxportal/internal/apperr"
	"github.com/pbxportal/pbxportal/internal/auth"
	"github.com/pbxportal/pbxportal/internal/media"
	"github.com/pbxportal/pbxportal/internal/session"
)

// login checks a username and password and mints a token (docs/product.md §3.1, §4).
// A user who may not use the portal gets PORTAL_ACCESS_DISABLED whether or
// not the password was right; an unknown user or a wrong password gets
// UNAUTHENTICATED. The password is checked in every case, so that the answer
// takes as long either way.
//
// Failed logins are limited per username and per client address: past a few
// failures the login is refused with RATE_LIMITED, whatever the password,
// until the lockout ends; unknown usernames are limited alike, so the limit
// says nothing about which accounts exist. Login runs in no transaction (see
// writesNothing in internal/server): the password is checked without holding
// a database lock.
func (r *Resolver) login(ctx context.Context, input model.LoginInput) (*model.LoginPayload, error) {
	addr := auth.ClientAddr(ctx)
	if err := spendSecret(ctx); err != nil {
		return nil, err
	}
	wait, done := r.logins.Begin(input.Username, addr)
	if wait > 0 {
		r.log.WarnContext(ctx, "login refused: rate limited", "username", logName(input.Username), "client", addr, "retry_after", wait)
		return nil, errLimited(wait)
	}
	u, err := r.client.User.Query().Where(user.Username(input.Username)).Only(ctx)
	if err != nil && !ent.IsNotFound(err) {
		done(true) // the store failed: not a guess
		return nil, err
	}
	hash := auth.UnusableHash
	if u != nil {
		hash = u.PasswordHash
	}
	if !auth.VerifyPassword(hash, input.Password) {
		reason := "wrong password"
		if u == nil {
			reason = "unknown username"
		}
		lock := done(false)
		name := input.Username
		if u == nil {
			name = logName(name)
		}
		r.log.WarnContext(ctx, "login failed", "username", name, "client", addr, "reason", reason, "locked_for", lock)
		if u != nil && !access.MayUsePortal(u) {
			return nil, errPortalDisabled()
		}
		return nil, errBadCredentials()
	}
	done(true)
	if !access.MayUsePortal(u) {
		r.log.InfoContext(ctx, "login refused: portal access disabled", "username", input.Username, "client", addr)
		return nil, errPortalDisabled()
	}
	token, claims, err := r.signer.Mint(u.ID, u.CredentialStamp, r.now())
	if err != nil {
		return nil, err
	}
	return &model.LoginPayload{Token: token, ExpiresAt: claims.ExpiresAt, MustRunWizard: u.RunEndUserWizard, User: u}, nil
}

// logName is how a username that may not be one is logged: people type
// their password into the username box, so an unknown or refused name is
// logged as a short digest, enough to tell repeated attempts apart.
func logName(username string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(username))))
	return "sha256:" + hex.EncodeToString(sum[:6])
}

func errLimited(wait time.Duration) error {
	return apperr.Limited(wait, "too many failed logins; try again later")
}

func errPortalDisabled() error {
	return apperr.New(apperr.PortalAccessDisabled, "portal access is disabled for this user")
}

func errBadCredentials() error {
	return apperr.New(apperr.Unauthenticated, "wrong username or password")
}

// logout ends the token the request carries (docs/product.md §4): the middleware
// refuses it from the next request on, while the viewer's other tokens keep
// working. An anonymous request has nothing to end: UNAUTHENTICATED.
func (r *Resolver) logout(ctx context.Context) (bool, error) {
	if _, err := r.viewer(ctx); err != nil {
		return false, err
	}
	claims, ok := auth.ClaimsFrom(ctx)
	if !ok {
		return false, apperr.New(apperr.Unauthenticated, "log in first: send Authorization: Bearer <token>")
	}
	if err := session.Revoke(ctx, tx(ctx), claims, r.now()); err != nil {
		return false, err
	}
	return true, nil
}

// mediaURL mints a signed URL of a recording for the viewer: it names the
// viewer and its session, so that it stops working as soon as the viewer
// loses the right, changes credentials or logs out.
func (r *Resolver) mediaURL(ctx context.Context, rec *ent.Recording, action string) (*string, error) {
	v, err := r.viewer(ctx)
	if err != nil {
		return nil, err
	}
	claims, _ := auth.ClaimsFrom(ctx)
	u := r.media.URL(media.Grant{
		Recording: rec.ID, Action: action,
		User: v.User.ID, Stamp: v.User.CredentialStamp, Session: claims.ID,
	}, r.now())
	return &u, nil
}
