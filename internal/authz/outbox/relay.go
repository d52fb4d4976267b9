package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/outboxentry"
	"github.com/pbxportal/pbxportal/internal/authz"
)

// batchSize is how many outbox rows one SpiceDB write carries.
const batchSize = 500

// Relay applies the outbox to SpiceDB. Replicas may run one each: on
// PostgreSQL the rows are taken FOR UPDATE SKIP LOCKED.
type Relay struct {
	db       *ent.Client
	spice    *authz.Client
	log      *slog.Logger
	lockRows bool
	mu       sync.Mutex
}

// NewRelay returns a relay from db's outbox to spice. lockRows takes rows with
// FOR UPDATE SKIP LOCKED; SQLite, which has one writer, does not support it.
func NewRelay(db *ent.Client, spice *authz.Client, log *slog.Logger, lockRows bool) *Relay {
	return &Relay{db: db, spice: spice, log: log, lockRows: lockRows}
}

// Revoke applies deletions to SpiceDB at once. It is called before the
// commit of the change that caused them: a revocation never waits, and a
// change that then fails to commit grants too little until the relay or a
// reconcile puts the relationship back, never too much. A failure is logged;
// the rows stay in the outbox.
func (r *Relay) Revoke(ctx context.Context, deletes []authz.Relationship) {
	if err := r.spice.WriteRelationships(ctx, nil, deletes); err != nil {
		r.log.WarnContext(ctx, "outbox: early revocation failed; it stays in the outbox", "error", err)
	}
}

// Flush applies the outbox and logs a failure; the background loop retries.
func (r *Relay) Flush(ctx context.Context) {
	if err := r.Apply(ctx); err != nil {
		r.log.WarnContext(ctx, "outbox: apply failed; will retry", "error", err)
	}
}

// Apply sends every outbox row to SpiceDB, oldest first, and deletes the rows
// that were applied. TOUCH and DELETE are idempotent, so a retry is harmless.
func (r *Relay) Apply(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		n, err := r.applyBatch(ctx)
		if err != nil || n < batchSize {
			return err
		}
	}
}

func (r *Relay) applyBatch(ctx context.Context) (int, error) {
	tx, err := r.db.Tx(ctx)
	if err != nil {
		return 0, fmt.Errorf("outbox: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	q := tx.OutboxEntry.Query().Order(ent.Asc(outboxentry.FieldID)).Limit(batchSize)
	if r.lockRows {
		q = q.ForUpdate(entsql.WithLockAction(entsql.SkipLocked))
	}
	rows, err := q.All(ctx)
	if err != nil {
		return 0, fmt.Errorf("outbox: read: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	touches, deletes, err := collapse(rows)
	if err != nil {
		return 0, err
	}
	if err := r.spice.WriteRelationships(ctx, touches, deletes); err != nil {
		return 0, fmt.Errorf("outbox: apply: %w", err)
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
	return len(rows), nil
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
