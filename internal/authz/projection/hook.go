package projection

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/callqueue"
	"github.com/pbxportal/pbxportal/ent/group"
	"github.com/pbxportal/pbxportal/ent/queueagent"
	"github.com/pbxportal/pbxportal/ent/recording"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/outbox"
	"github.com/pbxportal/pbxportal/internal/rowlock"
)

// ErrNoTransaction is returned for an authorization-relevant change made
// outside a transaction: its outbox rows could not be written atomically.
var ErrNoTransaction = errors.New("projection: authorization-relevant change outside a transaction")

// Committed is what the hook tells when a transaction with projected changes
// commits. The outbox relay implements it.
type Committed interface {
	// Flush applies the outbox to SpiceDB. The hook calls it just after the
	// commit, so that the mutation answers only once SpiceDB has its change
	// (or the change waits, safely, in the outbox).
	Flush(ctx context.Context)
}

// typePairs pairs each ent type that has SpiceDB objects of its own with
// their object type. GraphQL types carry the ent types' names.
func typePairs() [][2]string {
	return [][2]string{
		{ent.TypeUser, TypeUser}, {ent.TypeDomain, TypeDomain}, {ent.TypeSite, TypeSite},
		{ent.TypeCallQueue, TypeQueue}, {ent.TypeGroup, TypeGroup},
		{ent.TypeRecording, TypeRecording}, {ent.TypeContact, TypeContact},
	}
}

// ObjectType is the SpiceDB object type of an ent (or GraphQL) type; "" for
// types that are not projected themselves.
func ObjectType(entType string) string {
	for _, p := range typePairs() {
		if p[0] == entType {
			return p[1]
		}
	}
	return ""
}

// EntType is the ent type of a SpiceDB object type; "" for none.
func EntType(objectType string) string {
	for _, p := range typePairs() {
		if p[1] == objectType {
			return p[0]
		}
	}
	return ""
}

// userEdges are the edges of a type whose ids are users that emit the
// relationships of the membership (a group's members and replayers, a
// queue's supervisors, an agent membership's user).
func userEdges(entType string) []string {
	switch entType {
	case ent.TypeGroup:
		return []string{"members", "replayers"}
	case ent.TypeCallQueue:
		return []string{"supervisors"}
	case ent.TypeQueueAgent:
		return []string{"user"}
	}
	return nil
}

type idsMutation interface {
	IDs(ctx context.Context) ([]int, error)
	ID() (int, bool)
	Client() *ent.Client
	Tx() (*ent.Tx, error)
}

// Hook projects every authorization-relevant mutation into the outbox, in the
// mutation's transaction, and has the relay apply it when the transaction
// commits.
//
// The relationship diff is computed from reads that no concurrent
// transaction can make stale: before reading, the hook locks the rows of
// every entity whose relationships the mutation may change (the mutated
// entities first, then the users on the other side of their memberships).
// Any other transaction that changes one of those entities locks the same
// rows, so the two run one after the other, and the second one's diff starts
// from what the first committed. Its outbox rows are then also written after
// the first one's, and the relay applies them in that order.
func Hook(relay Committed, locker rowlock.Locker) ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			if ObjectType(m.Type()) == "" && m.Type() != ent.TypeQueueAgent {
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
			objs, err := lockAffected(ctx, c, locker, m, im)
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
				id, _ := im.ID()
				more, err := affected(ctx, c, m, []int{id})
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

// lockAffected locks the rows of the mutated entities, then names every
// entity whose relationships the mutation may change and locks those rows
// too. The names are read only once the mutated rows are locked, so that no
// concurrent transaction can change them in between.
func lockAffected(ctx context.Context, c *ent.Client, locker rowlock.Locker, m ent.Mutation, im idsMutation) ([]authz.Object, error) {
	forDelete := m.Op().Is(ent.OpDelete | ent.OpDeleteOne)
	var ids []int // none before a create: the new row has no id yet
	if !m.Op().Is(ent.OpCreate) {
		var err error
		if ids, err = im.IDs(ctx); err != nil {
			return nil, fmt.Errorf("projection: ids of %s mutation: %w", m.Type(), err)
		}
		if err := locker.Lock(ctx, c, m.Type(), ids, forDelete); err != nil {
			return nil, err
		}
		// A bulk update or delete selects its rows by predicate again when it
		// runs; pin it to the rows locked and projected here, so that a row a
		// concurrent transaction made match meanwhile is neither changed nor
		// left unprojected.
		if m.Op().Is(ent.OpUpdate | ent.OpDelete) {
			pm, ok := m.(interface {
				WhereP(...func(*entsql.Selector))
			})
			if !ok {
				return nil, fmt.Errorf("projection: cannot pin %s mutation to its rows", m.Type())
			}
			pm.WhereP(entsql.FieldIn("id", ids...))
		}
	}
	objs, err := affected(ctx, c, m, ids)
	if err != nil {
		return nil, err
	}
	byType := map[string][]int{}
	for _, o := range objs {
		if id, err := strconv.Atoi(o.ID); err == nil {
			byType[o.Type] = append(byType[o.Type], id)
		}
	}
	// Users last, in one go and in id order, whatever the mutated type.
	for _, typ := range []string{TypeRecording, TypeQueue, TypeGroup, TypeUser} {
		entType := EntType(typ)
		if entType == m.Type() {
			continue // locked above
		}
		if err := locker.Lock(ctx, c, entType, byType[typ], false); err != nil {
			return nil, err
		}
	}
	return objs, nil
}

// affected names the entities whose emitted relationships the mutation of
// the rows ids may change: the mutated entities themselves; the users on the
// other side of the group and queue memberships it touches (users emit their
// memberships);
// and, for a deletion, the entities whose references to the deleted one the
// database clears (recordings of a user, group or queue; users, queues and
// groups of a site).
func affected(ctx context.Context, c *ent.Client, m ent.Mutation, ids []int) ([]authz.Object, error) {
	var objs []authz.Object
	collect := func(typ string, q interface {
		IDs(context.Context) ([]int, error)
	}) error {
		found, err := q.IDs(ctx)
		for _, id := range found {
			objs = append(objs, Obj(typ, id))
		}
		return err
	}
	// Users emit their own memberships: a membership added or removed from
	// the group's or the queue's side changes the user's relationships.
	for _, e := range userEdges(m.Type()) {
		for _, v := range append(m.AddedIDs(e), m.RemovedIDs(e)...) {
			if id, ok := v.(int); ok {
				objs = append(objs, Obj(TypeUser, id))
			}
		}
	}
	// Recordings emit their owner: re-pointing them from the user's side
	// changes the recordings' relationships.
	if m.Type() == ent.TypeUser {
		for _, v := range append(m.AddedIDs("recordings"), m.RemovedIDs("recordings")...) {
			if id, ok := v.(int); ok {
				objs = append(objs, Obj(TypeRecording, id))
			}
		}
		if m.EdgeCleared("recordings") && !m.Op().Is(ent.OpCreate) {
			if err := collect(TypeRecording, c.Recording.Query().Where(recording.OwnerIDIn(ids...))); err != nil {
				return nil, fmt.Errorf("projection: recordings of %v: %w", ids, err)
			}
		}
	}
	if typ := ObjectType(m.Type()); typ != "" {
		for _, id := range ids {
			objs = append(objs, Obj(typ, id))
		}
	}
	var err error
	switch m.Type() {
	case ent.TypeGroup:
		err = collect(TypeUser, c.User.Query().Where(user.Or(
			user.HasGroupsWith(group.IDIn(ids...)),
			user.HasReplayGroupsWith(group.IDIn(ids...)))))
	case ent.TypeCallQueue:
		err = collect(TypeUser, c.User.Query().Where(user.Or(
			user.HasSupervisedQueuesWith(callqueue.IDIn(ids...)),
			user.HasAgentMembershipsWith(queueagent.QueueIDIn(ids...)))))
	case ent.TypeQueueAgent:
		err = collect(TypeUser, c.User.Query().Where(user.HasAgentMembershipsWith(queueagent.IDIn(ids...))))
	}
	if err == nil && m.Op().Is(ent.OpDelete|ent.OpDeleteOne) {
		switch m.Type() {
		case ent.TypeUser:
			err = collect(TypeRecording, c.Recording.Query().Where(recording.OwnerIDIn(ids...)))
		case ent.TypeGroup:
			err = collect(TypeRecording, c.Recording.Query().Where(recording.GroupIDIn(ids...)))
		case ent.TypeCallQueue:
			err = collect(TypeRecording, c.Recording.Query().Where(recording.QueueIDIn(ids...)))
		case ent.TypeSite:
			if err = collect(TypeQueue, c.CallQueue.Query().Where(callqueue.SiteIDIn(ids...))); err == nil {
				err = collect(TypeGroup, c.Group.Query().Where(group.SiteIDIn(ids...)))
			}
			if err == nil {
				err = collect(TypeUser, c.User.Query().Where(user.SiteIDIn(ids...)))
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("projection: entities affected by %s: %w", m.Type(), err)
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
