package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/authzrevision"
	"github.com/pbxportal/pbxportal/ent/outboxentry"
	"github.com/pbxportal/pbxportal/internal/authz"
)

// batchSize is how many outbox rows the relay takes at a time.
const batchSize = 1000

// Relay applies the outbox to SpiceDB and records, in the database, the
// newest revision it wrote. Replicas may run one each: they apply the outbox
// one at a time (on PostgreSQL, each holds an advisory lock while it
// applies), oldest row first. Two transactions that change the same
// relationship lock the same entity rows (see the projection hook), so the
// later one's rows are written, and applied, after the earlier one's.
type Relay struct {
	db       *ent.Client
	spice    *authz.Client
	log      *slog.Logger
	lockRows bool
	mu       sync.Mutex
	// unsure is set once a write outside the outbox (Exclusive) failed:
	// SpiceDB may then hold changes whose revision was never recorded, and
	// answers are no longer carried across the relay's writes (batch).
	unsure bool
}

// NewRelay returns a relay from db's outbox to spice. lockRows takes a
// PostgreSQL advisory lock while applying; SQLite, whose transactions here
// begin IMMEDIATE and so exclude each other, needs none.
func NewRelay(db *ent.Client, spice *authz.Client, log *slog.Logger, lockRows bool) *Relay {
	return &Relay{db: db, spice: spice, log: log, lockRows: lockRows}
}

// Flush applies the outbox and logs a failure; the background loop retries,
// and until it succeeds every request's checks deny (Settle).
func (r *Relay) Flush(ctx context.Context) {
	if err := r.Apply(ctx); err != nil {
		r.log.WarnContext(ctx, "outbox: apply failed; will retry", "error", err)
	}
}

// Apply sends every outbox row to SpiceDB, oldest first, records the
// revision written, and deletes the rows that were applied. TOUCH and DELETE
// are idempotent, so a retry is harmless.
//
// Once a batch is sent, it is seen through whatever happens to ctx: the
// relay keeps its lock until SpiceDB has answered (or applyTimeout, which
// SpiceDB is told, has passed). A caller that goes away (an HTTP client that
// disconnects while its mutation flushes) must not end the wait: the write
// may still be on its way, and a newer batch sent meanwhile by another
// caller or replica could reach SpiceDB first, then be overwritten by the
// older one, for good (a revoked grant that stays). ctx is honoured only
// before each batch.
func (r *Relay) Apply(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("outbox: apply: %w", err)
		}
		n, err := r.applyBatch(context.WithoutCancel(ctx))
		if err != nil || n < batchSize {
			return err
		}
	}
}

// Settle brings SpiceDB up to date with every change committed to the
// database, by this replica or any other, and returns the revision that a
// read must be at least as fresh as to see them all. It costs two small
// queries when the outbox is empty. It fails when there are changes it cannot apply
// (SpiceDB is down): the caller must then deny, since SpiceDB may still grant
// what was revoked.
func (r *Relay) Settle(ctx context.Context) (string, error) {
	pending, err := r.db.OutboxEntry.Query().Exist(ctx)
	if err != nil {
		return "", fmt.Errorf("outbox: pending: %w", err)
	}
	if pending {
		if err := r.Apply(ctx); err != nil {
			return "", err
		}
	}
	rev, err := r.db.AuthzRevision.Query().Order(ent.Asc(authzrevision.FieldID)).First(ctx)
	switch {
	case ent.IsNotFound(err):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("outbox: read revision: %w", err)
	}
	return rev.ZedToken, nil
}

// Exclusive runs fn, which writes to SpiceDB outside the outbox (the
// schema, the start-up rebuild, reconcile --fix), while no replica applies
// the outbox, and then records the revision it wrote for every replica to
// read at least as fresh as. Changes committed meanwhile wait in the outbox
// and are applied after fn, on top of what it wrote. What fn wrote before it
// failed is recorded too: replicas remember answers by the recorded
// revision, and must not keep the ones from before a write that happened.
func (r *Relay) Exclusive(ctx context.Context, fn func(context.Context) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	tx, err := r.db.Tx(ctx)
	if err != nil {
		return fmt.Errorf("outbox: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	rev, err := r.lockRevision(ctx, tx)
	if err != nil {
		return err
	}
	before := r.spice.Newest()
	fnErr := fn(ctx)
	if fnErr != nil {
		r.unsure = true
	}
	if err := r.recordRevision(ctx, tx, rev, before); err != nil {
		return errors.Join(fnErr, err)
	}
	if err := tx.Commit(); err != nil {
		return errors.Join(fnErr, fmt.Errorf("outbox: commit: %w", err))
	}
	return fnErr
}

// relayLockKey is the PostgreSQL advisory lock that one relay (or rebuild,
// or reconcile) at a time holds, across replicas, while it writes to SpiceDB.
const relayLockKey = 0x7062785f72656c61 // "pbx_rela"

// applyTimeout bounds one batch's SpiceDB writes: a hung call must not hold
// the relay lock, and so every request that settles, for ever.
const applyTimeout = 30 * time.Second

// lockRevision takes the relay lock for the transaction (on PostgreSQL an
// advisory lock, which needs no row to exist; SQLite's IMMEDIATE transaction
// is already exclusive) and returns the revision row, creating it if there
// is none.
func (r *Relay) lockRevision(ctx context.Context, tx *ent.Tx) (*ent.AuthzRevision, error) {
	if r.lockRows {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", relayLockKey); err != nil {
			return nil, fmt.Errorf("outbox: take the relay lock: %w", err)
		}
	}
	rev, err := tx.AuthzRevision.Query().Order(ent.Asc(authzrevision.FieldID)).First(ctx)
	if ent.IsNotFound(err) {
		rev, err = tx.AuthzRevision.Create().Save(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: read revision: %w", err)
	}
	return rev, nil
}

// recordRevision stores in rev the client's newest token if the client wrote
// since before, the token it had when the lock was taken: a token written
// before the lock may be older than what another replica recorded.
func (r *Relay) recordRevision(ctx context.Context, tx *ent.Tx, rev *ent.AuthzRevision, before string) error {
	token := r.spice.Newest()
	if token == "" || token == before || token == rev.ZedToken {
		return nil
	}
	if err := tx.AuthzRevision.UpdateOne(rev).SetZedToken(token).Exec(ctx); err != nil {
		return fmt.Errorf("outbox: record revision: %w", err)
	}
	return nil
}

// applyBatch applies one batch of at most batchSize rows. ctx must not be
// cancelled by anything but applyTimeout (see Apply): the transaction that
// holds the relay lock ends with ctx.
func (r *Relay) applyBatch(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, applyTimeout)
	defer cancel()
	tx, err := r.db.Tx(ctx)
	if err != nil {
		return 0, fmt.Errorf("outbox: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	rev, err := r.lockRevision(ctx, tx)
	if err != nil {
		return 0, err
	}
	before := r.spice.Newest()
	rows, err := tx.OutboxEntry.Query().Order(ent.Asc(outboxentry.FieldID)).Limit(batchSize).All(ctx)
	if err != nil {
		return 0, fmt.Errorf("outbox: read: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	good, err := r.quarantine(ctx, tx, rows)
	if err != nil {
		return 0, err
	}
	touches, deletes, err := collapse(good)
	if err != nil {
		return 0, err
	}
	held := r.holdAnswers(before, rev, len(rows))
	if err := r.spice.WriteRelationships(ctx, touches, deletes); err != nil {
		return 0, fmt.Errorf("outbox: apply: %w", err)
	}
	if err := r.recordRevision(ctx, tx, rev, before); err != nil {
		return 0, err
	}
	ids := make([]int, len(rows))
	for i, row := range rows {
		ids[i] = row.ID
	}
	if _, err := tx.OutboxEntry.Delete().Where(outboxentry.IDIn(ids...)).Exec(ctx); err != nil {
		return 0, fmt.Errorf("outbox: delete applied rows: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("outbox: commit: %w", err)
	}
	r.spice.CarryAnswers(held, r.spice.Newest(), append(touches, deletes...))
	return len(rows), nil
}

// holdAnswers holds, before a batch of read rows is written, the answers
// remembered at the recorded revision rev, to carry them across the batch's
// write (authz.Client.CarryAnswers): only when that write is all that
// SpiceDB will have received since rev. That is so when this client's own
// newest write (before) is the one recorded, so that no replica has
// written since, and the batch holds the whole outbox, so that it applies
// again every row of a write that reached SpiceDB but was never recorded
// (one whose transaction failed after it: its rows stay in the outbox).
// Writes outside the outbox that failed (r.unsure) may have left
// unrecorded changes of any kind, and end carrying.
func (r *Relay) holdAnswers(before string, rev *ent.AuthzRevision, rows int) *authz.HeldAnswers {
	if r.unsure || before == "" || before != rev.ZedToken || rows >= batchSize {
		return nil
	}
	return r.spice.HoldAnswers(before)
}

// QuarantineAction is the audit action of an outbox row the relay could not
// read: the row leaves the outbox (so that it does not block every row
// behind it for ever) and is kept as a platform audit event, which support
// sees, with its operation and relationship as written.
const QuarantineAction = "outbox.quarantine"

// quarantine moves the rows of rows that do not parse out of the outbox, in
// tx, logging an error for each, and returns the others. They are deleted
// with the applied rows when tx commits.
func (r *Relay) quarantine(ctx context.Context, tx *ent.Tx, rows []*ent.OutboxEntry) ([]*ent.OutboxEntry, error) {
	good := rows[:0:0]
	for _, row := range rows {
		_, perr := Parse(row.Relationship)
		if perr == nil {
			good = append(good, row)
			continue
		}
		r.log.ErrorContext(ctx, "outbox: quarantined a row that does not parse; its change is not in SpiceDB until it is fixed and reconciled",
			"outbox_id", row.ID, "operation", row.Operation, "relationship", row.Relationship, "error", perr)
		err := tx.AuditEvent.Create().SetAction(QuarantineAction).SetTargetType("outbox_entry").
			SetTargetID(strconv.Itoa(row.ID)).
			SetChangedFields([]string{"operation=" + string(row.Operation), "relationship=" + row.Relationship}).Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("outbox: quarantine row %d: %w", row.ID, err)
		}
	}
	return good, nil
}

// collapse keeps the last operation on each relationship: one SpiceDB write
// may not both touch and delete the same relationship.
func collapse(rows []*ent.OutboxEntry) (touches, deletes []authz.Relationship, err error) {
	last := make(map[authz.Relationship]outboxentry.Operation, len(rows))
	var order []authz.Relationship
	for _, row := range rows {
		rel, err := Parse(row.Relationship)
		if err != nil {
			return nil, nil, err
		}
		if _, seen := last[rel]; !seen {
			order = append(order, rel)
		}
		last[rel] = row.Operation
	}
	for _, rel := range order {
		if last[rel] == outboxentry.OperationTOUCH {
			touches = append(touches, rel)
		} else {
			deletes = append(deletes, rel)
		}
	}
	return touches, deletes, nil
}

// Run applies the outbox every interval until ctx ends, so that rows left by
// a SpiceDB failure are retried.
func (r *Relay) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.Flush(ctx)
		}
	}
}
