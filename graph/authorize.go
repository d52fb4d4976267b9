package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/access"
	"github.com/pbxportal/pbxportal/internal/apperr"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
)

// minPasswordLength is the shortest password a user may be given.
const minPasswordLength = 8

// maxPasswordBytes is the longest password bcrypt hashes: it ignores, and
// golang.org/x/crypto refuses, anything longer.
const maxPasswordBytes = 72

// authorize checks, in one batched call, that the viewer may see the object
// and holds permission on it: NOT_FOUND if it may not see it (exactly as if
// it did not exist), FORBIDDEN if it may see it but not do this.
func (r *Resolver) authorize(ctx context.Context, typ string, id int, permission string) (access.Viewer, error) {
	v, err := r.viewer(ctx)
	if err != nil {
		return v, err
	}
	obj := projection.Obj(typ, id)
	res, err := v.Checks.CheckMany(ctx, []authz.Check{
		{Resource: obj, Permission: access.Visibility(obj)},
		{Resource: obj, Permission: permission},
	})
	switch {
	case err != nil:
		return v, err
	case !res[0]:
		return v, apperr.New(apperr.NotFound, "not found")
	case !res[1]:
		return v, apperr.New(apperr.Forbidden, "not allowed to %s this %s", strings.ReplaceAll(permission, "_", " "), typ)
	}
	return v, nil
}

// tx is the client of the mutation's transaction (entgql.Transactioner).
func tx(ctx context.Context) *ent.Client { return ent.FromContext(ctx) }

// mayCreateIn checks that the viewer may create a user, queue or group in a
// domain, on a site if one is given: a site manager's reach is its site, an
// office manager's its domain.
func (r *Resolver) mayCreateIn(ctx context.Context, domainID int, siteID *int) error {
	typ, id, permission := projection.TypeDomain, domainID, "manage"
	if siteID != nil {
		typ, id, permission = projection.TypeSite, *siteID, "reach"
	}
	if _, err := r.authorize(ctx, typ, id, permission); err != nil {
		return err
	}
	return sameDomain(ctx, domainID, siteID)
}

// sameDomain checks that a site named by an input belongs to the domain.
func sameDomain(ctx context.Context, domainID int, siteID *int) error {
	if siteID == nil {
		return nil
	}
	s, err := tx(ctx).Site.Get(ctx, *siteID)
	if err != nil || s.DomainID != domainID {
		return apperr.BadInput("siteID", "the site is not in that domain")
	}
	return nil
}

// mayMoveTo checks a move of a user, queue or group to another site: the
// site must be of the same domain and within the viewer's reach, so that a
// site manager cannot hand its users to another site.
func (r *Resolver) mayMoveTo(ctx context.Context, domainID int, siteID *int) error {
	if siteID == nil {
		return nil
	}
	if err := sameDomain(ctx, domainID, siteID); err != nil {
		return err
	}
	_, err := r.authorize(ctx, projection.TypeSite, *siteID, "reach")
	return err
}

// validPassword checks a new password and hashes it.
func validPassword(field, password string, hash func(string) (string, error)) (string, error) {
	if len(password) < minPasswordLength {
		return "", apperr.BadInput(field, "the password must have at least %d characters", minPasswordLength)
	}
	if len(password) > maxPasswordBytes {
		return "", apperr.BadInput(field, "the password must have at most %d bytes", maxPasswordBytes)
	}
	h, err := hash(password)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// validEmail checks an email address's shape.
func validEmail(field, email string) error {
	at := strings.Index(email, "@")
	if at <= 0 || at == len(email)-1 || strings.ContainsAny(email, " \t\n") {
		return apperr.BadInput(field, "%q is not an email address", email)
	}
	return nil
}

// memberOfDomain loads a user of the queue's domain, for supervisor and agent
// assignment; a user of another domain is NOT_FOUND.
func memberOfDomain(ctx context.Context, domainID, userID int) (*ent.User, error) {
	u, err := tx(ctx).User.Query().Where(user.ID(userID), user.DomainID(domainID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.NotFound, "no such user in the queue's domain")
	}
	return u, err
}
