// Package dbwrite begins every transaction at its first statement, so that
// work a mutation does before touching the database (hashing a password,
// asking SpiceDB) holds no transaction, on PostgreSQL as on SQLite (Defer);
// Began tells whether it has. On SQLite it also makes the writers take turns
// in the process, so that none of them ever meets "database is locked"
// (Serialize).
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
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
)

// ErrBusy is returned when a writer waited longer than the driver's
// patience for the write slot.
var ErrBusy = errors.New("dbwrite: the database stayed busy; try again")

// Driver is an ent driver whose transactions begin at their first
// statement. With a write slot (Serialize), its transactions and statements
// outside transactions take the slot. Reads outside transactions do not: in
// WAL mode they never wait for a writer.
type Driver struct {
	*entsql.Driver
	slot chan struct{} // nil: no slot (Defer)
	wait time.Duration
}

// Defer returns drv whose transactions begin at their first statement, with
// no write slot: PostgreSQL's writers need none.
func Defer(drv *entsql.Driver) *Driver {
	return &Driver{Driver: drv}
}

// Serialize returns drv with one write slot, for which a writer waits at most
// wait (or until its context ends).
func Serialize(drv *entsql.Driver, wait time.Duration) *Driver {
	return &Driver{Driver: drv, slot: make(chan struct{}, 1), wait: wait}
}

// acquire takes the write slot.
func (d *Driver) acquire(ctx context.Context) error {
	if d.slot == nil {
		return nil
	}
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

func (d *Driver) release() {
	if d.slot != nil {
		<-d.slot
	}
}

type beganKey struct{}

// The states of a watched transaction (Watch). A transaction opened by a
// driver of another package stays eager: it began when it was opened.
const (
	eager int32 = iota
	waiting
	begun
	ended
)

// Watch returns ctx in which Began reports whether the transaction opened
// with it has begun and not yet ended.
func Watch(ctx context.Context) context.Context {
	return context.WithValue(ctx, beganKey{}, new(atomic.Int32))
}

// Began reports whether the transaction opened with ctx, or with the context
// ctx derives from, was watched (Watch) and holds a database transaction
// now (and on SQLite the write slot). One opened by Driver holds none before
// its first statement; one opened by any other driver holds one from the
// start.
func Began(ctx context.Context) bool {
	s, ok := ctx.Value(beganKey{}).(*atomic.Int32)
	if !ok {
		return false
	}
	state := s.Load()
	return state == eager || state == begun
}

// mark records the transaction's state in its context, if watched.
func (t *tx) mark(state int32) {
	if s, ok := t.ctx.Value(beganKey{}).(*atomic.Int32); ok {
		s.Store(state)
	}
}

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
	t := &tx{d: d, ctx: ctx, opts: opts}
	t.mark(waiting)
	return t, nil
}

// tx is a transaction begun on its first statement, in the write slot (if
// the driver has one), which it holds until it commits or rolls back.
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
	t.mark(begun)
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

// Query runs a query in the transaction, beginning it if needed.
func (t *tx) Query(ctx context.Context, query string, args, v any) error {
	b, err := t.begin()
	if err != nil {
		return err
	}
	return b.Query(ctx, query, args, v)
}

// ExecContext is Exec in database/sql's form, which ent's ExecContext asks
// a transaction for (pg_notify, advisory locks).
func (t *tx) ExecContext(ctx context.Context, query string, args ...any) (stdsql.Result, error) {
	b, err := t.begin()
	if err != nil {
		return nil, err
	}
	ex, ok := b.(interface {
		ExecContext(context.Context, string, ...any) (stdsql.Result, error)
	})
	if !ok {
		return nil, errors.New("dbwrite: the driver's transaction has no ExecContext")
	}
	return ex.ExecContext(ctx, query, args...)
}

// QueryContext is Query in database/sql's form.
func (t *tx) QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error) {
	b, err := t.begin()
	if err != nil {
		return nil, err
	}
	q, ok := b.(interface {
		QueryContext(context.Context, string, ...any) (*stdsql.Rows, error)
	})
	if !ok {
		return nil, errors.New("dbwrite: the driver's transaction has no QueryContext")
	}
	return q.QueryContext(ctx, query, args...)
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
	defer t.mark(ended)
	return f(t.begun)
}

// ExecContext runs a raw statement outside a transaction (a write) in the
// write slot, as Exec does.
func (d *Driver) ExecContext(ctx context.Context, query string, args ...any) (stdsql.Result, error) {
	if err := d.acquire(ctx); err != nil {
		return nil, err
	}
	defer d.release()
	return d.Driver.ExecContext(ctx, query, args...)
}
