package rules

import (
	"context"
	"fmt"
	"slices"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/callqueue"
	"github.com/pbxportal/pbxportal/ent/hook"
	"github.com/pbxportal/pbxportal/ent/queueagent"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/apperr"
	"github.com/pbxportal/pbxportal/internal/rowlock"
)

// MembershipHooks keep scopes and queue memberships in agreement, whatever
// the write path and however writes interleave:
//   - a user who leaves CALL_CENTER_SUPERVISOR loses its supervisor
//     assignments, and one who leaves CALL_CENTER_AGENT its agent
//     memberships, in the same transaction (each change audited by the
//     audit hook, like any other);
//   - only a CALL_CENTER_SUPERVISOR is made a supervisor, and only a
//     CALL_CENTER_AGENT an agent.
//
// The users' rows are locked before their scopes are read, so that a
// concurrent scope change and membership change run one after the other and
// the second sees what the first committed. Register them on the client
// (c.Use), after the hook that checks the user rules.
func MembershipHooks(locker rowlock.Locker) []ent.Hook {
	return []ent.Hook{
		hook.If(leaveMemberships(locker), on(ent.OpUpdate|ent.OpUpdateOne, ent.TypeUser)),
		hook.If(requireScopeForAgents(locker), on(ent.OpCreate, ent.TypeQueueAgent)),
		hook.If(requireScopeForSupervisors(locker), on(ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne, ent.TypeUser, ent.TypeCallQueue)),
	}
}

// on holds for mutations of one of the types with one of the operations.
func on(op ent.Op, types ...string) hook.Condition {
	return func(_ context.Context, m ent.Mutation) bool {
		return m.Op().Is(op) && slices.Contains(types, m.Type())
	}
}

// leaveMemberships ends the memberships of users whose new scope no longer
// allows them.
func leaveMemberships(locker rowlock.Locker) ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return hook.UserFunc(func(ctx context.Context, m *ent.UserMutation) (ent.Value, error) {
			scope, ok := m.Scope()
			if !ok {
				return next.Mutate(ctx, m)
			}
			ids, err := m.IDs(ctx)
			if err != nil {
				return nil, fmt.Errorf("rules: %w", err)
			}
			c := m.Client()
			if err := locker.Lock(ctx, c, ent.TypeUser, ids, false); err != nil {
				return nil, err
			}
			if scope != user.ScopeCALL_CENTER_SUPERVISOR {
				supervising, err := c.CallQueue.Query().
					Where(callqueue.HasSupervisorsWith(user.IDIn(ids...))).Exist(ctx)
				if err != nil {
					return nil, fmt.Errorf("rules: supervisor assignments: %w", err)
				}
				if supervising {
					m.ClearSupervisedQueues()
				}
			}
			if scope != user.ScopeCALL_CENTER_AGENT {
				if _, err := c.QueueAgent.Delete().Where(queueagent.UserIDIn(ids...)).Exec(ctx); err != nil {
					return nil, fmt.Errorf("rules: agent memberships: %w", err)
				}
			}
			return next.Mutate(ctx, m)
		})
	}
}

// requireScopeForAgents refuses an agent membership for a user who is not a
// CALL_CENTER_AGENT.
func requireScopeForAgents(locker rowlock.Locker) ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return hook.QueueAgentFunc(func(ctx context.Context, m *ent.QueueAgentMutation) (ent.Value, error) {
			if id, ok := m.UserID(); ok {
				if err := requireScope(ctx, m.Client(), locker, []int{id}, user.ScopeCALL_CENTER_AGENT); err != nil {
					return nil, err
				}
			}
			return next.Mutate(ctx, m)
		})
	}
}

// requireScopeForSupervisors refuses a supervisor assignment, made from
// either side, for a user who is not a CALL_CENTER_SUPERVISOR once the
// mutation is applied.
func requireScopeForSupervisors(locker rowlock.Locker) ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			switch m := m.(type) {
			case *ent.CallQueueMutation:
				if ids := m.SupervisorsIDs(); len(ids) > 0 {
					if err := requireScope(ctx, m.Client(), locker, ids, user.ScopeCALL_CENTER_SUPERVISOR); err != nil {
						return nil, err
					}
				}
			case *ent.UserMutation:
				if len(m.SupervisedQueuesIDs()) == 0 {
					break
				}
				if scope, ok := m.Scope(); ok || m.Op().Is(ent.OpCreate) {
					if scope != user.ScopeCALL_CENTER_SUPERVISOR {
						return nil, supervisorScopeError()
					}
					break
				}
				ids, err := m.IDs(ctx)
				if err != nil {
					return nil, fmt.Errorf("rules: %w", err)
				}
				if err := requireScope(ctx, m.Client(), locker, ids, user.ScopeCALL_CENTER_SUPERVISOR); err != nil {
					return nil, err
				}
			}
			return next.Mutate(ctx, m)
		})
	}
}

// requireScope locks the users' rows and checks that every one has scope.
func requireScope(ctx context.Context, c *ent.Client, locker rowlock.Locker, ids []int, scope user.Scope) error {
	if err := locker.Lock(ctx, c, ent.TypeUser, ids, false); err != nil {
		return err
	}
	others, err := c.User.Query().Where(user.IDIn(ids...), user.ScopeNEQ(scope)).Exist(ctx)
	if err != nil {
		return fmt.Errorf("rules: scopes of members: %w", err)
	}
	if others {
		if scope == user.ScopeCALL_CENTER_SUPERVISOR {
			return supervisorScopeError()
		}
		return apperr.BadInput("userId", "only %s users can be added here", scope)
	}
	return nil
}

func supervisorScopeError() error {
	return apperr.BadInput("userId", "only %s users can supervise a queue", user.ScopeCALL_CENTER_SUPERVISOR)
}
