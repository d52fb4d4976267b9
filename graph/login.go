package graph

import (
	"context"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/graph/model"
	"github.com/pbxportal/pbxportal/internal/access"
	"github.com/pbxportal/pbxportal/internal/apperr"
	"github.com/pbxportal/pbxportal/internal/auth"
)

// login checks a username and password and mints a token (SPEC §3.1, §4).
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
	token, expiresAt, err := r.signer.Mint(u.ID, r.now())
	if err != nil {
		return nil, err
	}
	return &model.LoginPayload{Token: token, ExpiresAt: expiresAt, MustRunWizard: u.RunEndUserWizard, User: u}, nil
}

func errBadCredentials() error {
	return apperr.New(apperr.Unauthenticated, "wrong username or password")
}
