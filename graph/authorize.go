package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/callqueue"
	"github.com/pbxportal/pbxportal/ent/group"
	"github.com/pbxportal/pbxportal/ent/site"
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
// it did not exist), FORBIDDEN if it may see it but not do this. An empty
// permission checks only that the viewer sees it.
func (r *Resolver) authorize(ctx context.Context, typ string, id int, permission string) (access.Viewer, error) {
	return r.authorizeEach(ctx, typ, []int{id}, permission)
}

// authorizeEach is authorize for several objects of one type, in one
// batched call: NOT_FOUND if the viewer may not see any one of them, then
// FORBIDDEN if it lacks permission on any one.
func (r *Resolver) authorizeEach(ctx context.Context, typ string, ids []int, permission string) (access.Viewer, error) {
	v, err := r.viewer(ctx)
	if err != nil {
		return v, err
	}
	var checks []authz.Check
	for _, id := range ids {
		obj := projection.Obj(typ, id)
		checks = append(checks, authz.Check{Resource: obj, Permission: access.Visibility(obj)})
		if permission != "" {
			checks = append(checks, authz.Check{Resource: obj, Permission: permission})
		}
	}
	if len(checks) == 0 {
		return v, nil
	}
	res, err := v.Checks.CheckMany(ctx, checks)
	if err != nil {
		return v, err
	}
	step := 1
	if permission != "" {
		step = 2
	}
	for i := 0; i < len(res); i += step {
		if !res[i] {
			return v, apperr.NotVisible()
		}
	}
	for i := 1; i < len(res); i += step {
		if !res[i] {
			return v, apperr.New(apperr.Forbidden, "not allowed to %s this %s", strings.ReplaceAll(permission, "_", " "), typ)
		}
	}
	return v, nil
}

// refs resolves ids named in an input as objects of typ in the target's
// domain, through the viewer's visibility: NOT_FOUND for an id that does
// not exist, is of another type, belongs to another domain or is invisible
// to the viewer, all alike; then FORBIDDEN unless the viewer holds
// permission ("" for none) on each.
func (r *Resolver) refs(ctx context.Context, typ string, domainID int, ids []int, permission string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := inDomain(ctx, typ, domainID, ids); err != nil {
		return err
	}
	_, err := r.authorizeEach(ctx, typ, ids, permission)
	return err
}

// inDomain checks that every id is a row of typ in the domain: NOT_FOUND
// otherwise.
func inDomain(ctx context.Context, typ string, domainID int, ids []int) error {
	ids = distinct(ids)
	c := tx(ctx)
	var (
		n   int
		err error
	)
	switch typ {
	case projection.TypeUser:
		n, err = c.User.Query().Where(user.IDIn(ids...), user.DomainID(domainID)).Count(ctx)
	case projection.TypeSite:
		n, err = c.Site.Query().Where(site.IDIn(ids...), site.DomainID(domainID)).Count(ctx)
	case projection.TypeGroup:
		n, err = c.Group.Query().Where(group.IDIn(ids...), group.DomainID(domainID)).Count(ctx)
	case projection.TypeQueue:
		n, err = c.CallQueue.Query().Where(callqueue.IDIn(ids...), callqueue.DomainID(domainID)).Count(ctx)
	default:
		return fmt.Errorf("graph: no domain lookup for %s", typ)
	}
	if err != nil {
		return fmt.Errorf("graph: resolve %s ids: %w", typ, err)
	}
	if n != len(ids) {
		return apperr.NotVisible()
	}
	return nil
}

func distinct(ids []int) []int {
	seen := make(map[int]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// tx is the client of the mutation's transaction (entgql.Transactioner).
func tx(ctx context.Context) *ent.Client { return ent.FromContext(ctx) }

// mayCreateIn checks that the viewer may create a user, queue or group in a
// domain, on a site if one is given: both must be visible to it (the site in
// that domain), and the placement within its reach.
func (r *Resolver) mayCreateIn(ctx context.Context, domainID int, siteID *int) error {
	if _, err := r.authorize(ctx, projection.TypeDomain, domainID, ""); err != nil {
		return err
	}
	if siteID != nil {
		if err := r.refs(ctx, projection.TypeSite, domainID, []int{*siteID}, ""); err != nil {
			return err
		}
	}
	return r.reachPlacement(ctx, domainID, siteID)
}

// mayPlace checks a change of the site of a user, queue or group of a
// domain, from oldSite (0: none) to the site an update names: siteID, or none
// when clear is set. Any change, clearing included, needs reach over both
// the old and the new placement (docs/product.md §3, "Settled details"), so
// that nobody moves an object out of its reach or into another's. A named
// site must be visible and of the same domain (NOT_FOUND otherwise).
func (r *Resolver) mayPlace(ctx context.Context, domainID int, oldSite int, siteID *int, clear bool) error {
	var old *int
	if oldSite != 0 { // an unset site is stored as 0
		old = &oldSite
	}
	next := old
	switch {
	case siteID != nil:
		if err := r.refs(ctx, projection.TypeSite, domainID, []int{*siteID}, ""); err != nil {
			return err
		}
		next = siteID
	case clear:
		next = nil
	}
	if old == next || old != nil && next != nil && *old == *next {
		return nil
	}
	if err := r.reachPlacement(ctx, domainID, old); err != nil {
		return err
	}
	return r.reachPlacement(ctx, domainID, next)
}

// reachPlacement checks that the viewer reaches a placement: the site's
// reach, or the domain's manage where there is no site.
func (r *Resolver) reachPlacement(ctx context.Context, domainID int, siteID *int) error {
	if siteID == nil {
		_, err := r.authorize(ctx, projection.TypeDomain, domainID, "manage")
		return err
	}
	_, err := r.authorize(ctx, projection.TypeSite, *siteID, "reach")
	return err
}

// validPassword checks a new password and hashes it (hashSecret).
func validPassword(ctx context.Context, field, password string) (string, error) {
	if len(password) < minPasswordLength {
		return "", apperr.BadInput(field, "the password must have at least %d characters", minPasswordLength)
	}
	if len(password) > maxPasswordBytes {
		return "", apperr.BadInput(field, "the password must have at most %d bytes", maxPasswordBytes)
	}
	return hashSecret(ctx, password)
}

// validEmail checks an email address's shape.
func validEmail(field, email string) error {
	at := strings.Index(email, "@")
	if at <= 0 || at == len(email)-1 || strings.ContainsAny(email, " \t\n") {
		return apperr.BadInput(field, "%q is not an email address", email)
	}
	return nil
}
