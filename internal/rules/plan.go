package rules

import (
	"context"
	"fmt"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/hook"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/apperr"
	"github.com/pbxportal/pbxportal/internal/rowlock"
)

// PlanHook refuses to change a domain's plan to one that lacks a scope some
// of its users hold (docs/product.md §2): BAD_USER_INPUT on plan, naming how
// many users hold such a scope, and nothing is saved. The domains' rows are
// locked first, so that a concurrent scope change waits for the new plan.
// Register it on the domain client (c.Domain.Use).
func PlanHook(locker rowlock.Locker) ent.Hook {
	return hook.On(func(next ent.Mutator) ent.Mutator {
		return hook.DomainFunc(func(ctx context.Context, m *ent.DomainMutation) (ent.Value, error) {
			plan, ok := m.Plan()
			if !ok {
				return next.Mutate(ctx, m)
			}
			ids, err := m.IDs(ctx)
			if err != nil {
				return nil, fmt.Errorf("rules: %w", err)
			}
			if err := locker.Lock(ctx, m.Client(), ent.TypeDomain, ids, false); err != nil {
				return nil, err
			}
			lacking := scopesLacking(plan)
			if len(lacking) > 0 {
				n, err := m.Client().User.Query().Where(user.DomainIDIn(ids...), user.ScopeIn(lacking...)).Count(ctx)
				if err != nil {
					return nil, fmt.Errorf("rules: users of the plan's scopes: %w", err)
				}
				if n > 0 {
					return nil, apperr.BadInput("plan", "the %s plan lacks a scope %d %s of the domain hold; change their scopes first", plan, n, plural(n, "user", "users"))
				}
			}
			return next.Mutate(ctx, m)
		})
	}, ent.OpUpdate|ent.OpUpdateOne)
}

// scopesLacking lists the scopes a plan does not offer.
func scopesLacking(plan domain.Plan) []user.Scope {
	var out []user.Scope
	for _, s := range []user.Scope{
		user.ScopeSUPPORT, user.ScopeOFFICE_MANAGER, user.ScopeSITE_MANAGER, user.ScopeCALL_CENTER_SUPERVISOR,
		user.ScopeCALL_CENTER_AGENT, user.ScopeADVANCED_USER, user.ScopeBASIC_USER, user.ScopeNO_PORTAL,
	} {
		if !PlanAllows(plan, s) {
			out = append(out, s)
		}
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
