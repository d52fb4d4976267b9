package graph

import (
	"context"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/queueagent"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/apperr"
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

// personalEntry loads a personal directory entry the viewer may change.
func (r *Resolver) personalEntry(ctx context.Context, id int) (*ent.PersonalDirectoryEntry, error) {
	e, err := tx(ctx).PersonalDirectoryEntry.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.NotFound, "not found")
	}
	if err != nil {
		return nil, err
	}
	if _, err := r.authorize(ctx, projection.TypeUser, e.OwnerID, "write_personal_directory"); err != nil {
		return nil, err
	}
	return e, nil
}

// queueMember authorizes a change to a queue's supervisors or agents and
// loads the queue and the user, who must be of the queue's domain and, when
// scope is set, of that scope (docs/product.md §3.8).
func (r *Resolver) queueMember(ctx context.Context, queueID, userID int, permission string, scope user.Scope) (*ent.CallQueue, *ent.User, error) {
	if _, err := r.authorize(ctx, projection.TypeQueue, queueID, permission); err != nil {
		return nil, nil, err
	}
	q, err := tx(ctx).CallQueue.Get(ctx, queueID)
	if err != nil {
		return nil, nil, err
	}
	u, err := memberOfDomain(ctx, q.DomainID, userID)
	if err != nil {
		return nil, nil, err
	}
	if scope != "" && u.Scope != scope {
		return nil, nil, apperr.BadInput("userId", "only %s users can be added here; this user is %s", scope, u.Scope)
	}
	return q, u, nil
}

// setAgentState changes an agent's state in a queue: the agent itself (the
// default), or a supervisor or manager within reach (docs/product.md §3.8).
func (r *Resolver) setAgentState(ctx context.Context, queueID int, agentID *int, set func(*ent.QueueAgentUpdateOne)) (*ent.QueueAgent, error) {
	v, err := r.viewer(ctx)
	if err != nil {
		return nil, err
	}
	id := v.User.ID
	if agentID != nil {
		id = *agentID
	}
	if id != v.User.ID {
		if _, err := r.authorize(ctx, projection.TypeQueue, queueID, "log_agents"); err != nil {
			return nil, err
		}
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
