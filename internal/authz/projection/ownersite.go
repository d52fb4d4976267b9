package projection

import (
	"context"
	"fmt"
	"slices"

	"entgo.io/ent/dialect/sql"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/recording"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/rowlock"
)

// A recording stores the site of its owner (owner_site_id, a copy of
// users.site_id of owner_id), indexed with the recording's id, so that a
// site manager's right, recording#owner -> user#site -> site#site_manager,
// selects recordings by index instead of through the owners' rows (the
// copied column of Columns). The copy is kept equal to the owner's site in the
// transaction of every write that can change either:
//
//   - a recording created, or its owner set or cleared: the owner's site is
//     read under a share lock on the owner's row (PostgreSQL), which a
//     concurrent change of that user's site waits for, and which waits for
//     one; the value a caller sets itself is ignored;
//   - a user's site set or cleared: the user's row is locked, and once it
//     is written its recordings are set to its site;
//   - recordings given to a user or taken from it from the user's side
//     (the owner edge's inverse): those recordings are set likewise;
//   - a user deleted: its row is locked for the deletion and its
//     recordings' copies cleared, before the database clears their owner;
//   - a site deleted: the database clears the copies (ON DELETE SET NULL),
//     as it clears users.site_id.
//
// On SQLite there is one writer at a time, so nothing needs a lock.

// OwnerSiteHook keeps owner_site_id of recordings equal to their owner's
// site. It is registered on every client that writes recordings or users
// (app.OpenStore); locker locks rows on databases that have row locks, and
// dialect is the database's (entgo.io/ent/dialect).
func OwnerSiteHook(locker rowlock.Locker, dialect string) ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			switch m := m.(type) {
			case *ent.RecordingMutation:
				if err := setOwnerSite(ctx, locker, m); err != nil {
					return nil, err
				}
			case *ent.UserMutation:
				return followUserSite(ctx, locker, dialect, m, next)
			}
			return next.Mutate(ctx, m)
		})
	}
}

// setOwnerSite sets the copy of a recording mutation from the owner it
// writes; a mutation that neither sets nor clears the owner leaves the copy
// as it is.
func setOwnerSite(ctx context.Context, locker rowlock.Locker, m *ent.RecordingMutation) error {
	m.ResetOwnerSiteID() // never the caller's value
	m.ResetOwnerSite()
	owner, set := m.OwnerID()
	switch {
	case set:
		q := m.Client().User.Query().Where(user.ID(owner)).Select(user.FieldSiteID)
		if locker.Enabled {
			// A concurrent change of the owner's site (which locks the
			// row for update) waits for this transaction, and this one for
			// it; either way the second one reads what the first wrote.
			q.ForShare()
		}
		u, err := q.Only(ctx)
		if ent.IsNotFound(err) {
			return nil // the write fails on the foreign key
		}
		if err != nil {
			return fmt.Errorf("projection: site of the owner %d of a recording: %w", owner, err)
		}
		if u.SiteID != 0 {
			m.SetOwnerSiteID(u.SiteID)
		} else if !m.Op().Is(ent.OpCreate) {
			m.ClearOwnerSiteID()
		}
	case m.OwnerIDCleared():
		m.ClearOwnerSiteID()
	}
	return nil
}

// followUserSite runs a user mutation and, when it sets or clears the
// users' site, deletes them, or gives them recordings or takes them away
// (the owner edge written from the user's side), writes the copies of
// their recordings in the same transaction, with plain SQL (no recording
// hook has anything to do).
func followUserSite(ctx context.Context, locker rowlock.Locker, dialect string, m *ent.UserMutation, next ent.Mutator) (ent.Value, error) {
	_, siteSet := m.SiteID()
	siteCleared := m.SiteIDCleared()
	deleting := m.Op().Is(ent.OpDelete | ent.OpDeleteOne)
	repointed := append(m.RecordingsIDs(), m.RemovedRecordingsIDs()...)
	cleared := m.RecordingsCleared() && !m.Op().Is(ent.OpCreate)
	if !siteSet && !siteCleared && !deleting && len(repointed) == 0 && !cleared {
		return next.Mutate(ctx, m)
	}
	c := m.Client()
	d := sql.Dialect(dialect)
	if m.Op().Is(ent.OpCreate) { // a new user: only the recordings it is given
		v, err := next.Mutate(ctx, m)
		if err != nil {
			return nil, err
		}
		return v, copyOwnerSites(ctx, c, d, recording.FieldID, repointed)
	}
	ids, err := m.IDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("projection: ids of a user mutation: %w", err)
	}
	if m.Op().Is(ent.OpUpdate | ent.OpDelete) {
		// A bulk mutation selects its rows again when it runs: pin it to
		// the rows whose recordings are written here.
		m.Where(user.IDIn(ids...))
	}
	// The users' rows first (for a deletion, the lock a deletion takes): a
	// recording created or given to one of them meanwhile has then either
	// committed, and is written below, or waits for this transaction and
	// reads what it wrote.
	if err := locker.Lock(ctx, c, ent.TypeUser, ids, deleting); err != nil {
		return nil, err
	}
	if deleting {
		// Before the database clears their owner (ON DELETE SET NULL).
		for chunk := range slices.Chunk(ids, rowlock.MaxLockChunk) {
			q, args := d.Update(recording.Table).SetNull(recording.FieldOwnerSiteID).
				Where(sql.And(sql.InInts(recording.FieldOwnerID, chunk...), sql.NotNull(recording.FieldOwnerSiteID))).Query()
			if _, err := c.ExecContext(ctx, q, args...); err != nil {
				return nil, fmt.Errorf("projection: clear the owner site of the recordings of deleted users: %w", err)
			}
		}
		return next.Mutate(ctx, m)
	}
	if cleared { // the recordings that lose their owner, while they still have it
		owned, err := c.Recording.Query().Where(recording.OwnerIDIn(ids...)).IDs(ctx)
		if err != nil {
			return nil, fmt.Errorf("projection: recordings of users %v: %w", ids, err)
		}
		repointed = append(repointed, owned...)
	}
	v, err := next.Mutate(ctx, m)
	if err != nil {
		return nil, err
	}
	if siteSet || siteCleared {
		if err := copyOwnerSites(ctx, c, d, recording.FieldOwnerID, ids); err != nil {
			return nil, err
		}
	}
	if err := copyOwnerSites(ctx, c, d, recording.FieldID, repointed); err != nil {
		return nil, err
	}
	return v, nil
}

// copyOwnerSites sets the copy of the recordings whose column col is one of
// ids to their owner's site as the transaction sees it now (NULL without an
// owner).
func copyOwnerSites(ctx context.Context, c *ent.Client, d *sql.DialectBuilder, col string, ids []int) error {
	for chunk := range slices.Chunk(ids, rowlock.MaxLockChunk) {
		q, args := d.Update(recording.Table).Set(recording.FieldOwnerSiteID, ownersSite()).
			Where(sql.InInts(col, chunk...)).Query()
		if _, err := c.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("projection: owner site of recordings: %w", err)
		}
	}
	return nil
}

// ownersSite is the site of a recording's owner, a subquery over users for
// the recording being updated.
func ownersSite() sql.Querier {
	return sql.Expr(`(SELECT "owner_users"."site_id" FROM "users" AS "owner_users" WHERE "owner_users"."id" = "recordings"."owner_id")`)
}

// BackfillOwnerSites fills owner_site_id of the recordings written before it
// existed, in one statement, and returns how many it filled. At every start
// it reads only the recordings that have an owner and no owner site (a
// partial index, recording_owner_site_missing, holds just them): once
// filled, those of owners without a site, which it leaves as they are.
func BackfillOwnerSites(ctx context.Context, c *ent.Client, dialect string) (int64, error) {
	d := sql.Dialect(dialect)
	q, args := d.Update(recording.Table).Set(recording.FieldOwnerSiteID, ownersSite()).
		Where(sql.And(sql.NotNull(recording.FieldOwnerID), sql.IsNull(recording.FieldOwnerSiteID),
			sql.P(func(b *sql.Builder) {
				b.WriteString(`EXISTS (SELECT 1 FROM "users" AS "owner_users" WHERE "owner_users"."id" = "recordings"."owner_id" AND "owner_users"."site_id" IS NOT NULL)`)
			}))).Query()
	res, err := c.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("projection: backfill the owner sites of recordings: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("projection: backfill the owner sites of recordings: %w", err)
	}
	return n, nil
}
