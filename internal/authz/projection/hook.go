package projection

import (
	"context"
	"errors"
	"fmt"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/callqueue"
	"github.com/pbxportal/pbxportal/ent/group"
	"github.com/pbxportal/pbxportal/ent/queueagent"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/outbox"
)

// ErrNoTransaction is returned for an authorization-relevant change made
// outside a transaction: its outbox rows could not be written atomically.
var ErrNoTransaction = errors.New("projection: authorization-relevant change outside a transaction")

// Committed is what the hook tells when a transaction with projected changes
// commits: the deletions, just before the commit, and that the outbox has new
// rows, just after it. The outbox relay implements it.
type Committed interface {
	// Revoke applies deletions at once, before the commit, so that a
	// revocation never waits behind anything (DESIGN.md, "Writes").
	Revoke(ctx context.Context, deletes []authz.Relationship)
	// Flush applies the outbox to SpiceDB.
	Flush(ctx context.Context)
}

// objectType maps an ent type to its SpiceDB object type; "" for types that
// are not projected themselves.
func objectType(entType string) string {
	switch entType {
	case ent.TypeUser:
		return TypeUser
	case ent.TypeDomain:
		return TypeDomain
	case ent.TypeSite:
		return TypeSite
	case ent.TypeCallQueue:
		return TypeQueue
	case ent.TypeGroup:
		return TypeGroup
	case ent.TypeRecording:
		return TypeRecording
	case ent.TypeContact:
		return TypeContact
	}
	return ""
}

// userEdge is the edge of a type whose ids are users that emit its relationships.
func userEdge(entType string) string {
	switch entType {
	case ent.TypeGroup:
		return "members"
	case ent.TypeCallQueue:
		return "supervisors"
	case ent.TypeQueueAgent:
		return "user"
	}
	return ""
}

type idsMutation interface {
	IDs(ctx context.Context) ([]int, error)
	ID() (int, bool)
	Client() *ent.Client
	Tx() (*ent.Tx, error)
}

// Hook projects every authorization-relevant mutation into the outbox, in the
// mutation's transaction, and arranges for the relay to apply it when the
// transaction commits.
func Hook(relay Committed) ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			if objectType(m.Type()) == "" && m.Type() != ent.TypeQueueAgent {
				return next.Mutate(ctx, m)
			}
			im, ok := m.(idsMutation)
			if !ok {
				return nil, fmt.Errorf("projection: unexpected mutation %T", m)
			}
			tx, err := im.Tx()
			if err != nil {
				return nil, fmt.Errorf("%w: %s", ErrNoTransaction, m.Type())
			}
			c := im.Client()
			objs, err := affected(ctx, c, m, im)
			if err != nil {
				return nil, err
			}
			before, err := emitEach(ctx, c, objs)
			if err != nil {
				return nil, err
			}
			v, err := next.Mutate(ctx, m)
			if err != nil {
				return nil, err
			}
			if m.Op().Is(ent.OpCreate) { // the new entity has an id only now
				more, err := affected(ctx, c, m, im)
				if err != nil {
					return nil, err
				}
				objs = append(objs, more...)
			}
			after, err := emitEach(ctx, c, objs)
			if err != nil {
				return nil, err
			}
			touches, deletes := Diff(before, after)
			if len(touches)+len(deletes) == 0 {
				return v, nil
			}
			if err := outbox.Write(ctx, c, touches, deletes); err != nil {
				return nil, err
			}
			tx.OnCommit(func(next ent.Committer) ent.Committer {
				return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
					relay.Revoke(ctx, deletes)
					if err := next.Commit(ctx, tx); err != nil {
						return err
					}
					relay.Flush(ctx)
					return nil
				})
			})
			return v, nil
		})
	}
}

// affected names the entities whose emitted relationships the mutation may
// change: the mutated entities themselves, and the users on the other side of
// the group and queue memberships it touches (users emit their memberships).
func affected(ctx context.Context, c *ent.Client, m ent.Mutation, im idsMutation) ([]authz.Object, error) {
	var ids []int
	if m.Op().Is(ent.OpCreate) {
		if id, ok := im.ID(); ok {
			ids = []int{id}
		}
	} else {
		var err error
		if ids, err = im.IDs(ctx); err != nil {
			return nil, fmt.Errorf("projection: ids of %s mutation: %w", m.Type(), err)
		}
	}
	var objs []authz.Object
	users := func(q interface {
		IDs(context.Context) ([]int, error)
	}) error {
		uids, err := q.IDs(ctx)
		for _, id := range uids {
			objs = append(objs, Obj(TypeUser, id))
		}
		return err
	}
	// Users emit their own memberships: a membership added or removed from
	// the group's or the queue's side changes the user's relationships.
	if e := userEdge(m.Type()); e != "" {
		for _, v := range append(m.AddedIDs(e), m.RemovedIDs(e)...) {
			if id, ok := v.(int); ok {
				objs = append(objs, Obj(TypeUser, id))
			}
		}
	}
	if typ := objectType(m.Type()); typ != "" {
		for _, id := range ids {
			objs = append(objs, Obj(typ, id))
		}
	}
	var err error
	switch m.Type() {
	case ent.TypeGroup:
		err = users(c.User.Query().Where(user.Or(
			user.HasGroupsWith(group.IDIn(ids...)),
			user.HasReplayGroupsWith(group.IDIn(ids...)))))
	case ent.TypeCallQueue:
		err = users(c.User.Query().Where(user.Or(
			user.HasSupervisedQueuesWith(callqueue.IDIn(ids...)),
			user.HasAgentMembershipsWith(queueagent.QueueIDIn(ids...)))))
	case ent.TypeQueueAgent:
		err = users(c.User.Query().Where(user.HasAgentMembershipsWith(queueagent.IDIn(ids...))))
	}
	if err != nil {
		return nil, fmt.Errorf("projection: users affected by %s: %w", m.Type(), err)
	}
	return objs, nil
}

// emitEach emits the relationships of every object once.
func emitEach(ctx context.Context, c *ent.Client, objs []authz.Object) ([]authz.Relationship, error) {
	seen := make(map[authz.Object]bool, len(objs))
	var rels []authz.Relationship
	for _, o := range objs {
		if seen[o] {
			continue
		}
		seen[o] = true
		r, err := Emit(ctx, c, o)
		if err != nil {
			return nil, err
		}
		rels = append(rels, r...)
	}
	return rels, nil
}
