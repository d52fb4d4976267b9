package session

import (
	"context"
	"fmt"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/hook"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/auth"
)

// Hook gives a user a new credential stamp, ending every token and media
// URL issued to it before, whenever a mutation
//   - sets its password,
//   - changes its email (sets a different one, or clears it),
//   - sets its scope to NO_PORTAL, or
//   - turns its Voice Portal Access off.
//
// It runs on every user update, whatever the write path (any resolver, any
// input carrying these fields), so that none can forget. A deleted user
// needs no new stamp: its tokens name a user who no longer exists. Register
// it on the user client (c.User.Use).
func Hook() ent.Hook {
	return hook.On(func(next ent.Mutator) ent.Mutator {
		return hook.UserFunc(func(ctx context.Context, m *ent.UserMutation) (ent.Value, error) {
			end, err := endsCredentials(ctx, m)
			if err != nil {
				return nil, err
			}
			if end {
				m.SetCredentialStamp(auth.NewStamp())
			}
			return next.Mutate(ctx, m)
		})
	}, ent.OpUpdate|ent.OpUpdateOne)
}

// endsCredentials reports whether m ends its users' credentials.
func endsCredentials(ctx context.Context, m *ent.UserMutation) (bool, error) {
	if _, ok := m.PasswordHash(); ok {
		return true, nil
	}
	if s, ok := m.Scope(); ok && s == user.ScopeNO_PORTAL {
		return true, nil
	}
	if on, ok := m.VoicePortalAccess(); ok && !on {
		return true, nil
	}
	newEmail, set := m.Email()
	if !set && !m.EmailCleared() {
		return false, nil
	}
	if !m.Op().Is(ent.OpUpdateOne) {
		return true, nil // a bulk update: no single old value to compare with
	}
	old, err := m.OldEmail(ctx)
	if err != nil {
		return false, fmt.Errorf("session: old email: %w", err)
	}
	if old == nil || !set {
		return old != nil || set, nil // cleared a set email, or set an empty one
	}
	return *old != newEmail, nil
}
