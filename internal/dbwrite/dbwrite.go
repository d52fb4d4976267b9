// Package dbwrite makes SQLite's writers take turns in the process, so that
// none of them ever meets "database is locked".
//
// SQLite has one write lock per database. Left to itself, every transaction
// that wants it retries on a timer (the busy timeout) with no order, and
// under load some lose long enough to fail. Here a writer first takes the
// process's single write slot, in arrival order, and only then begins its
// transaction (BEGIN IMMEDIATE, by the DSN). A transaction also begins only
// at its first statement: work a mutation does before touching the database
// (hashing a password, asking SpiceDB) holds no lock.
package dbwrite

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
)

// ErrBusy is returned when a writer waited longer than the driver's
// patience for the write slot.
var ErrBusy = errors.New("dbwrite: the database stayed busy; try again")

// Driver is an ent driver whose transactions and statements outside
// transactions take the write slot. Reads outside transactions do not: in
// WAL mode they never wait for a writer.
type Driver struct {
	*entsql.Driver
	slot chan struct{}
	wait time.Duration
}

// Serialize returns drv with one write slot, for which a writer waits at most
// wait (or until its context ends).
func Serialize(drv *entsql.Driver, wait time.Duration) *Driver {
	return &Driver{Driver: drv, slot: make(chan struct{}, 1), wait: wait}
}

// acquire takes the write slot.
func (d *Driver) acquire(ctx context.Context) error {
	t := time.NewTimer(d.wait)
	defer t.Stop()
	select {
	case d.slot <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("dbwrite: waiting to write: %w", ctx.Err())
	case <-t.C:
		return ErrBusy
	}
}

func (d *Driver) release() { <-d.slot }

// Exec runs a statement outside a transaction (a write) in the write slot.
func (d *Driver) Exec(ctx context.Context, query string, args, v any) error {
	if err := d.acquire(ctx); err != nil {
		return err
	}
	defer d.release()
	return d.Driver.Exec(ctx, query, args, v)
}

// Tx returns a transaction that begins at its first statement.
func (d *Driver) Tx(ctx context.Context) (dialect.Tx, error) {
	return d.BeginTx(ctx, nil)
}

// BeginTx returns a transaction with opts that begins at its first statement.
func (d *Driver) BeginTx(ctx context.Context, opts *entsql.TxOptions) (dialect.Tx, error) {
	return &tx{d: d, ctx: ctx, opts: opts}, nil
}

// tx is a transaction begun on its first statement, in the write slot,
// which it holds until it commits or rolls back.
type tx struct {
	d    *Driver
	ctx  context.Context
	opts *entsql.TxOptions

	mu    sync.Mutex
	begun dialect.Tx
	done  bool
}

// begin begins the transaction if it has not begun yet.
func (t *tx) begin() (dialect.Tx, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.done:
		return nil, errors.New("dbwrite: transaction already committed or rolled back")
	case t.begun != nil:
		return t.begun, nil
	}
	if err := t.d.acquire(t.ctx); err != nil {
		return nil, err
	}
	b, err := t.d.Driver.BeginTx(t.ctx, t.opts)
	if err != nil {
		t.d.release()
		return nil, fmt.Errorf("dbwrite: begin: %w", err)
	}
	t.begun = b
	return b, nil
}

// Exec runs a statement in the transaction, beginning it if needed.
func (t *tx) Exec(ctx context.Context, query string, args, v any) error {
	b, err := t.begin()
	if err != nil {
		return err
	}
	return b.Exec(ctx, query, args, v)
}

// ExecContext runs a statement in the transaction, beginning it if needed:
// what ent's Tx.ExecContext calls for plain SQL (the start-up backfill of
// recordings' numbers).
func (t *tx) ExecContext(ctx context.Context, query string, args ...any) (stdsql.Result, error) {
	b, err := t.begin()
	if err != nil {
		return nil, err
	}
	ex, ok := b.(interface {
		ExecContext(context.Context, string, ...any) (stdsql.Result, error)
	})
	if !ok {
		return nil, errors.New("dbwrite: the transaction takes no plain statements")
	}
	res, err := ex.ExecContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("dbwrite: %w", err)
	}
	return res, nil
}

// Query runs a query in the transaction, beginning it if needed.
func (t *tx) Query(ctx context.Context, query string, args, v any) error {
	b, err := t.begin()
	if err != nil {
		return err
	}
	return b.Query(ctx, query, args, v)
}

// Commit commits the transaction, if it began, and gives the slot back.
func (t *tx) Commit() error { return t.end(dialect.Tx.Commit) }

// Rollback rolls the transaction back, if it began, and gives the slot back.
func (t *tx) Rollback() error { return t.end(dialect.Tx.Rollback) }

func (t *tx) end(f func(dialect.Tx) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return nil
	}
	t.done = true
	if t.begun == nil {
		return nil
	}
	defer t.d.release()
	return f(t.begun)
}
