package graph

import (
	"context"
	"slices"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/callqueue"
	"github.com/pbxportal/pbxportal/ent/queueagent"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/apperr"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
)

// validPin: a voicemail PIN / login code is 4 to 12 digits.
func validPin(pin string) bool {
	if len(pin) < 4 || len(pin) > 12 {
		return false
	}
	for _, r := range pin {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// personalEntry loads a personal directory entry the viewer may change. An
// entry is visible to whoever may read its owner's personal directory:
// NOT_FOUND for anyone else, as for an entry that does not exist; FORBIDDEN
// for a reader who may not write it.
func (r *Resolver) personalEntry(ctx context.Context, id int) (*ent.PersonalDirectoryEntry, error) {
	e, err := tx(ctx).PersonalDirectoryEntry.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, apperr.NotVisible()
	}
	if err != nil {
		return nil, err
	}
	v, err := r.viewer(ctx)
	if err != nil {
		return nil, err
	}
	owner := projection.Obj(projection.TypeUser, e.OwnerID)
	res, err := v.Checks.CheckMany(ctx, []authz.Check{
		{Resource: owner, Permission: "read_personal_directory"},
		{Resource: owner, Permission: "write_personal_directory"},
	})
	switch {
	case err != nil:
		return nil, err
	case !res[0]:
		return nil, apperr.NotVisible()
	case !res[1]:
		return nil, apperr.New(apperr.Forbidden, "not allowed to change this personal directory entry")
	}
	return e, nil
}

// queueMember authorizes a change to a queue's supervisors or agents and
// loads the queue and the user. Both must be visible to the viewer, the user
// of the queue's domain (NOT_FOUND otherwise); the viewer needs permission
// on the queue and reach over the user, but that a supervisor of the queue
// may add any CALL_CENTER_AGENT of its domain (docs/product.md §3.8). When
// scope is set, the user must have it.
func (r *Resolver) queueMember(ctx context.Context, queueID, userID int, permission string, scope user.Scope) (*ent.CallQueue, *ent.User, error) {
	v, err := r.authorize(ctx, projection.TypeQueue, queueID, "")
	if err != nil {
		return nil, nil, err
	}
	q, err := tx(ctx).CallQueue.Get(ctx, queueID)
	if err != nil {
		return nil, nil, err
	}
	if err := r.refs(ctx, projection.TypeUser, q.DomainID, []int{userID}, ""); err != nil {
		return nil, nil, err
	}
	if _, err := r.authorize(ctx, projection.TypeQueue, queueID, permission); err != nil {
		return nil, nil, err
	}
	u, err := tx(ctx).User.Get(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	if scope != "" && u.Scope != scope {
		return nil, nil, apperr.BadInput("userId", "only %s users can be added here", scope)
	}
	if scope == user.ScopeCALL_CENTER_AGENT {
		supervises, err := tx(ctx).CallQueue.Query().
			Where(callqueue.ID(q.ID), callqueue.HasSupervisorsWith(user.ID(v.User.ID))).Exist(ctx)
		if err != nil {
			return nil, nil, err
		}
		if supervises {
			return q, u, nil
		}
	}
	if _, err := r.authorize(ctx, projection.TypeUser, userID, "reach"); err != nil {
		return nil, nil, err
	}
	return q, u, nil
}

// setAgentState changes an agent's state in a queue: the agent itself (the
// default), or a supervisor or manager within reach (docs/product.md §3.8).
// The queue, and another agent, must be visible to the viewer.
func (r *Resolver) setAgentState(ctx context.Context, queueID int, agentID *int, set func(*ent.QueueAgentUpdateOne)) (*ent.QueueAgent, error) {
	v, err := r.authorize(ctx, projection.TypeQueue, queueID, "")
	if err != nil {
		return nil, err
	}
	id := v.User.ID
	if agentID != nil && *agentID != v.User.ID {
		q, err := tx(ctx).CallQueue.Get(ctx, queueID)
		if err != nil {
			return nil, err
		}
		if err := r.refs(ctx, projection.TypeUser, q.DomainID, []int{*agentID}, ""); err != nil {
			return nil, err
		}
		if _, err := r.authorize(ctx, projection.TypeQueue, queueID, "log_agents"); err != nil {
			return nil, err
		}
		id = *agentID
	}
	a, err := tx(ctx).QueueAgent.Query().Where(queueagent.QueueID(queueID), queueagent.UserID(id)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.NotFound, "not an agent of that queue")
	}
	if err != nil {
		return nil, err
	}
	upd := tx(ctx).QueueAgent.UpdateOne(a)
	set(upd)
	return upd.Save(ctx)
}

// mayChangeMembers checks a group's member changes: every user added or
// removed must be visible, of the group's domain (NOT_FOUND otherwise) and
// within the viewer's reach (FORBIDDEN otherwise), and so must every member
// clearMembers removes (docs/product.md §3, "Settled details").
func (r *Resolver) mayChangeMembers(ctx context.Context, g *ent.Group, input ent.UpdateGroupInput) error {
	named := append(slices.Clone(input.AddMemberIDs), input.RemoveMemberIDs...)
	if err := r.refs(ctx, projection.TypeUser, g.DomainID, named, "reach"); err != nil {
		return err
	}
	if !input.ClearMembers {
		return nil
	}
	members, err := tx(ctx).Group.QueryMembers(g).IDs(ctx)
	if err != nil || len(members) == 0 {
		return err
	}
	v, err := r.viewer(ctx)
	if err != nil {
		return err
	}
	checks := make([]authz.Check, len(members))
	for i, id := range members {
		checks[i] = authz.Check{Resource: projection.Obj(projection.TypeUser, id), Permission: "reach"}
	}
	res, err := v.Checks.CheckMany(ctx, checks)
	if err != nil {
		return err
	}
	if slices.Contains(res, false) {
		return apperr.New(apperr.Forbidden, "not allowed to remove members outside your reach")
	}
	return nil
}
