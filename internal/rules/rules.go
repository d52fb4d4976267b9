// Package rules holds pbxportal's business rules (docs/product.md): Voice
// Portal Access (§3.10), plan gating of scopes (§2), the Media Manager rights
// (§3.11), and the agreement of scopes and queue memberships.
// They run as an ent hook, so that every write path obeys them, not only the
// resolver that remembered to ask. A violation is BAD_USER_INPUT naming the
// GraphQL input field, and nothing is saved.
package rules

import (
	"context"
	"fmt"
	"strings"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/group"
	"github.com/pbxportal/pbxportal/ent/hook"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/apperr"
	"github.com/pbxportal/pbxportal/internal/rowlock"
)

// MaxReplayOthers is the longest replayOthers list (docs/product.md §3.11).
const MaxReplayOthers = 127

// Hook checks the rules on every user mutation, on the user as it will be
// once the mutation is applied. A scope is checked against its domain's plan
// with the domain's row locked, so that a concurrent plan change (PlanHook)
// and scope change run one after the other. Register it on the user client
// (c.User.Use).
func Hook(locker rowlock.Locker) ent.Hook {
	return hook.On(func(next ent.Mutator) ent.Mutator {
		return hook.UserFunc(func(ctx context.Context, m *ent.UserMutation) (ent.Value, error) {
			users, err := after(ctx, m)
			if err != nil {
				return nil, err
			}
			for _, u := range users {
				if err := check(ctx, m.Client(), locker, m, u); err != nil {
					return nil, err
				}
			}
			return next.Mutate(ctx, m)
		})
	}, ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne)
}

// after returns the users as the mutation will leave them: the stored rows
// with the mutation's fields applied. On create, Voice Portal Access is
// forced on where the plan requires it (docs/product.md §3.10).
func after(ctx context.Context, m *ent.UserMutation) ([]*ent.User, error) {
	var users []*ent.User
	if m.Op().Is(ent.OpCreate) {
		u := &ent.User{}
		if st, ok := m.ServiceType(); ok {
			u.ServiceType = st
		} else {
			u.ServiceType = user.DefaultServiceType
		}
		if fp, ok := m.FeaturePlan(); ok {
			u.FeaturePlan = fp
		} else {
			u.FeaturePlan = user.DefaultFeaturePlan
		}
		if _, set := m.VoicePortalAccess(); !set && requiresPortal(u) {
			m.SetVoicePortalAccess(true)
		}
		users = []*ent.User{u}
	} else {
		ids, err := m.IDs(ctx)
		if err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
		if users, err = m.Client().User.Query().Where(user.IDIn(ids...)).All(ctx); err != nil {
			return nil, fmt.Errorf("rules: %w", err)
		}
	}
	for _, u := range users {
		apply(m, u)
	}
	return users, nil
}

// apply overlays the mutation's fields on u.
func apply(m *ent.UserMutation, u *ent.User) {
	if v, ok := m.DomainID(); ok {
		u.DomainID = v
	}
	if v, ok := m.Username(); ok {
		u.Username = v
	}
	if v, ok := m.Email(); ok {
		u.Email = &v
	} else if m.EmailCleared() {
		u.Email = nil
	}
	if v, ok := m.EndUserRole(); ok {
		u.EndUserRole = &v
	} else if m.EndUserRoleCleared() {
		u.EndUserRole = nil
	}
	if v, ok := m.Scope(); ok {
		u.Scope = v
	} else if u.Scope == "" {
		u.Scope = user.DefaultScope
	}
	if v, ok := m.ServiceType(); ok {
		u.ServiceType = v
	}
	if v, ok := m.FeaturePlan(); ok {
		u.FeaturePlan = v
	}
	if v, ok := m.VoicePortalAccess(); ok {
		u.VoicePortalAccess = v
	}
	if v, ok := m.ReplayOwn(); ok {
		u.ReplayOwn = v
	}
	if v, ok := m.ReplayOthers(); ok {
		u.ReplayOthers = v
	}
}

// requiresPortal: BCC users on the ADVANCED or PROFESSIONAL plan always have
// Voice Portal Access (docs/product.md §3.10).
func requiresPortal(u *ent.User) bool {
	return u.ServiceType == user.ServiceTypeBCC &&
		(u.FeaturePlan == user.FeaturePlanADVANCED || u.FeaturePlan == user.FeaturePlanPROFESSIONAL)
}

func check(ctx context.Context, c *ent.Client, locker rowlock.Locker, m *ent.UserMutation, u *ent.User) error {
	if err := voicePortalAccess(u); err != nil {
		return err
	}
	if _, set := m.Scope(); set || m.Op().Is(ent.OpCreate) {
		if err := locker.Lock(ctx, c, ent.TypeDomain, []int{u.DomainID}, false); err != nil {
			return err
		}
		if err := planAllows(ctx, c, u.DomainID, u.Scope); err != nil {
			return err
		}
	}
	return mediaRights(ctx, c, m, u)
}

// voicePortalAccess checks docs/product.md §3.10.
func voicePortalAccess(u *ent.User) error {
	switch {
	case requiresPortal(u) && !u.VoicePortalAccess:
		return apperr.BadInput("voicePortalAccess", "Voice Portal Access is always on for BCC users on the %s plan", u.FeaturePlan)
	case !u.VoicePortalAccess:
		return nil
	case u.Email == nil || strings.TrimSpace(*u.Email) == "":
		return apperr.BadInput("email", "email is required while Voice Portal Access is on")
	case strings.TrimSpace(u.Username) == "":
		return apperr.BadInput("username", "username is required while Voice Portal Access is on")
	case u.ServiceType == user.ServiceTypeCLOUD_PBX && (u.EndUserRole == nil || strings.TrimSpace(*u.EndUserRole) == ""):
		return apperr.BadInput("endUserRole", "endUserRole is required for Cloud PBX users while Voice Portal Access is on")
	}
	return nil
}

// PlanAllows reports whether a domain's plan offers a scope (docs/product.md §2).
func PlanAllows(plan domain.Plan, s user.Scope) bool {
	switch s {
	case user.ScopeCALL_CENTER_SUPERVISOR, user.ScopeCALL_CENTER_AGENT:
		return plan == domain.PlanENTERPRISE || plan == domain.PlanTIERED_ENTERPRISE
	case user.ScopeADVANCED_USER:
		return plan == domain.PlanTIERED_ENTERPRISE
	}
	return true
}

func planAllows(ctx context.Context, c *ent.Client, domainID int, s user.Scope) error {
	d, err := c.Domain.Get(ctx, domainID)
	if err != nil {
		return fmt.Errorf("rules: domain of the user: %w", err)
	}
	if !PlanAllows(d.Plan, s) {
		return apperr.BadInput("scope", "the %s plan of %s has no %s scope", d.Plan, d.Name, s)
	}
	return nil
}

// mediaRights checks docs/product.md §3.11: replayOthers is a list of numbers of at
// most 127 characters, and group and others rights need replayOwn.
func mediaRights(ctx context.Context, c *ent.Client, m *ent.UserMutation, u *ent.User) error {
	if err := ValidReplayOthers(u.ReplayOthers); err != nil {
		return err
	}
	if u.ReplayOwn {
		return nil
	}
	if strings.TrimSpace(u.ReplayOthers) != "" {
		return apperr.BadInput("replayOthers", "replayOthers needs replayOwn")
	}
	groups := len(m.ReplayGroupsIDs())
	if !m.Op().Is(ent.OpCreate) && !m.ReplayGroupsCleared() {
		n, err := c.User.Query().Where(user.ID(u.ID)).QueryReplayGroups().Where(group.IDNotIn(m.RemovedReplayGroupsIDs()...)).Count(ctx)
		if err != nil {
			return fmt.Errorf("rules: replay groups: %w", err)
		}
		groups += n
	}
	if groups > 0 {
		return apperr.BadInput("replayGroups", "replayGroups needs replayOwn")
	}
	return nil
}

// ValidReplayOthers checks a replayOthers list: semicolon-separated numbers
// (digits, with an optional leading +), at most 127 characters.
func ValidReplayOthers(s string) error {
	if len(s) > MaxReplayOthers {
		return apperr.BadInput("replayOthers", "replayOthers is %d characters; at most %d are allowed", len(s), MaxReplayOthers)
	}
	for _, n := range strings.Split(s, ";") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		for i, r := range n {
			if !(r >= '0' && r <= '9' || r == '+' && i == 0) {
				return apperr.BadInput("replayOthers", "replayOthers must be numbers separated by semicolons; %q is not a number", n)
			}
		}
	}
	return nil
}
