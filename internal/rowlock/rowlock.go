// Package rowlock locks the database rows whose authorization a transaction
// is about to read and change. Two transactions that change the same
// entity's relationships then run one after the other, and each computes its
// relationship diff from what the other committed, never from a stale read.
//
// On PostgreSQL the rows are locked with SELECT … FOR NO KEY UPDATE (FOR
// UPDATE for a deletion), in id order within each call. Transactions of
// different shapes may still lock rows in opposite orders; PostgreSQL then
// aborts one of them (a deadlock, which the client sees as CONFLICT), never
// leaving a stale diff. SQLite has one writer at a time (every
// transaction begins IMMEDIATE), so there is nothing more to lock there.
package rowlock

import (
	"context"
	"fmt"
	"slices"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/callqueue"
	"github.com/pbxportal/pbxportal/ent/contact"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/group"
	"github.com/pbxportal/pbxportal/ent/queueagent"
	"github.com/pbxportal/pbxportal/ent/recording"
	"github.com/pbxportal/pbxportal/ent/site"
	"github.com/pbxportal/pbxportal/ent/user"
)

// Locker locks rows in the caller's transaction. The zero Locker locks
// nothing, which is right for SQLite.
type Locker struct {
	// Enabled locks rows; set it for databases with row locks (PostgreSQL).
	Enabled bool
}

// MaxLockChunk is the most ids one locking statement carries: PostgreSQL
// takes at most 65,535 bind parameters in a statement, so a longer id list
// is locked in several statements, in ascending id order across them.
const MaxLockChunk = 10000

// Lock locks the rows of the ent type entType with the given ids until the
// transaction of c ends. forDelete takes the stronger lock a deletion needs,
// so that no new row can reference the locked ones meanwhile. Types without
// rows of their own to lock are ignored.
func (l Locker) Lock(ctx context.Context, c *ent.Client, entType string, ids []int, forDelete bool) error {
	if !l.Enabled || len(ids) == 0 {
		return nil
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	opt := entsql.WithLockClause("FOR NO KEY UPDATE")
	if forDelete {
		opt = entsql.WithLockClause("FOR UPDATE")
	}
	for chunk := range slices.Chunk(ids, MaxLockChunk) {
		if err := lock(ctx, c, entType, chunk, opt); err != nil {
			return fmt.Errorf("rowlock: lock %s rows: %w", entType, err)
		}
	}
	return nil
}

// lock locks one chunk of sorted ids.
func lock(ctx context.Context, c *ent.Client, entType string, ids []int, opt entsql.LockOption) error {
	var err error
	switch entType {
	case ent.TypeUser:
		_, err = c.User.Query().Where(user.IDIn(ids...)).Order(user.ByID()).ForUpdate(opt).IDs(ctx)
	case ent.TypeGroup:
		_, err = c.Group.Query().Where(group.IDIn(ids...)).Order(group.ByID()).ForUpdate(opt).IDs(ctx)
	case ent.TypeCallQueue:
		_, err = c.CallQueue.Query().Where(callqueue.IDIn(ids...)).Order(callqueue.ByID()).ForUpdate(opt).IDs(ctx)
	case ent.TypeQueueAgent:
		_, err = c.QueueAgent.Query().Where(queueagent.IDIn(ids...)).Order(queueagent.ByID()).ForUpdate(opt).IDs(ctx)
	case ent.TypeDomain:
		_, err = c.Domain.Query().Where(domain.IDIn(ids...)).Order(domain.ByID()).ForUpdate(opt).IDs(ctx)
	case ent.TypeSite:
		_, err = c.Site.Query().Where(site.IDIn(ids...)).Order(site.ByID()).ForUpdate(opt).IDs(ctx)
	case ent.TypeRecording:
		_, err = c.Recording.Query().Where(recording.IDIn(ids...)).Order(recording.ByID()).ForUpdate(opt).IDs(ctx)
	case ent.TypeContact:
		_, err = c.Contact.Query().Where(contact.IDIn(ids...)).Order(contact.ByID()).ForUpdate(opt).IDs(ctx)
	}
	return err
}
