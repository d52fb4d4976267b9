// Package audit records who did what to whom, and when (docs/product.md §3.14). An ent
// hook writes one AuditEvent per changed entity, in the transaction of the
// change, naming the fields that changed but never their values: secrets
// (passwords, PINs) cannot leak into the log.
package audit

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/auth"
)

type actionKey struct{}

// WithAction names the portal action (the GraphQL mutation) that ctx carries out.
func WithAction(ctx context.Context, action string) context.Context {
	return context.WithValue(ctx, actionKey{}, action)
}

// place is where an audited entity lives: its domain and, if any, its site.
type place struct{ domainID, siteID int }

type mutation interface {
	IDs(ctx context.Context) ([]int, error)
	ID() (int, bool)
	Client() *ent.Client
}

// Hook audits every change made by a portal user (a viewer in the context).
// Changes made by the system itself (seeding, start-up) have no actor and are
// not portal actions.
func Hook() ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			actor, ok := auth.ViewerFrom[*ent.User](ctx)
			am, isEntity := m.(mutation)
			if !ok || !isEntity || m.Type() == ent.TypeAuditEvent || m.Type() == ent.TypeOutboxEntry {
				return next.Mutate(ctx, m)
			}
			c := am.Client()
			places := map[int]place{}
			if !m.Op().Is(ent.OpCreate) {
				ids, err := am.IDs(ctx)
				if err != nil {
					return nil, fmt.Errorf("audit: %w", err)
				}
				for _, id := range ids {
					if places[id], err = locate(ctx, c, m.Type(), id); err != nil {
						return nil, err
					}
				}
			}
			v, err := next.Mutate(ctx, m)
			if err != nil {
				return nil, err
			}
			if id, ok := am.ID(); ok && m.Op().Is(ent.OpCreate) {
				if places[id], err = locate(ctx, c, m.Type(), id); err != nil {
					return nil, err
				}
			}
			action, _ := ctx.Value(actionKey{}).(string)
			if action == "" {
				action = m.Type() + "." + m.Op().String()
			}
			for id, at := range places {
				ev := c.AuditEvent.Create().SetActorID(actor.ID).SetAction(action).
					SetTargetType(m.Type()).SetTargetID(strconv.Itoa(id)).SetChangedFields(changed(m))
				if at.domainID != 0 {
					ev.SetDomainID(at.domainID)
				}
				if at.siteID != 0 {
					ev.SetSiteID(at.siteID)
				}
				if err := ev.Exec(ctx); err != nil {
					return nil, fmt.Errorf("audit: %w", err)
				}
			}
			return v, nil
		})
	}
}

// changed names the fields and edges a mutation changes. Secret fields are
// named for what they are, never shown. The credential stamp is left out: it
// changes only as a consequence of a change already named (internal/session).
func changed(m ent.Mutation) []string {
	var names []string
	for _, f := range append(m.Fields(), m.ClearedFields()...) {
		switch f {
		case "credential_stamp":
			continue
		case "password_hash":
			f = "password"
		case "voicemail_pin_hash":
			f = "voicemail_pin"
		}
		names = append(names, f)
	}
	names = append(names, m.AddedEdges()...)
	names = append(names, m.RemovedEdges()...)
	names = append(names, m.ClearedEdges()...)
	slices.Sort(names)
	return slices.Compact(names)
}

// locate finds the domain and site of an audited entity, so that office
// managers and site managers read the events of their reach.
func locate(ctx context.Context, c *ent.Client, typ string, id int) (place, error) {
	var p place
	var err error
	userPlace := func(uid int) {
		var u *ent.User
		if u, err = c.User.Get(ctx, uid); err == nil {
			p = place{u.DomainID, u.SiteID}
		}
	}
	switch typ {
	case ent.TypeUser:
		userPlace(id)
	case ent.TypeDomain:
		p = place{domainID: id}
	case ent.TypeSite:
		var s *ent.Site
		if s, err = c.Site.Get(ctx, id); err == nil {
			p = place{s.DomainID, s.ID}
		}
	case ent.TypeCallQueue:
		var q *ent.CallQueue
		if q, err = c.CallQueue.Get(ctx, id); err == nil {
			p = place{q.DomainID, q.SiteID}
		}
	case ent.TypeQueueAgent:
		var a *ent.QueueAgent
		if a, err = c.QueueAgent.Get(ctx, id); err == nil {
			var q *ent.CallQueue
			if q, err = c.CallQueue.Get(ctx, a.QueueID); err == nil {
				p = place{q.DomainID, q.SiteID}
			}
		}
	case ent.TypeGroup:
		var g *ent.Group
		if g, err = c.Group.Get(ctx, id); err == nil {
			p = place{g.DomainID, g.SiteID}
		}
	case ent.TypeContact:
		var ct *ent.Contact
		if ct, err = c.Contact.Get(ctx, id); err == nil {
			p = place{domainID: ct.DomainID}
		}
	case ent.TypePersonalDirectoryEntry:
		var e *ent.PersonalDirectoryEntry
		if e, err = c.PersonalDirectoryEntry.Get(ctx, id); err == nil {
			userPlace(e.OwnerID)
		}
	case ent.TypeButton:
		var b *ent.Button
		if b, err = c.Button.Get(ctx, id); err == nil {
			userPlace(b.OwnerID)
		}
	}
	if err != nil && !ent.IsNotFound(err) {
		return p, fmt.Errorf("audit: locate %s %d: %w", typ, id, err)
	}
	return p, nil
}
