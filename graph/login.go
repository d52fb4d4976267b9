package graph

import (
	"context"

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
func (r *Resolver) login(ctx context.Context, input model.LoginInput) (*model.LoginPayload, error) {
	u, err := r.client.User.Query().Where(user.Username(input.Username)).Only(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return nil, err
	}
	hash := auth.UnusableHash
	if u != nil {
		hash = u.PasswordHash
	}
	passwordOK := auth.VerifyPassword(hash, input.Password)
	switch {
	case u == nil:
		return nil, errBadCredentials()
	case !access.MayUsePortal(u):
		return nil, apperr.New(apperr.PortalAccessDisabled, "portal access is disabled for this user")
	case !passwordOK:
		return nil, errBadCredentials()
	}
	token, claims, err := r.signer.Mint(u.ID, u.CredentialStamp, r.now())
	if err != nil {
		return nil, err
	}
	return &model.LoginPayload{Token: token, ExpiresAt: claims.ExpiresAt, MustRunWizard: u.RunEndUserWizard, User: u}, nil
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
