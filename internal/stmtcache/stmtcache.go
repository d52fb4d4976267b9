// Package stmtcache keeps the statements an ent driver prepares for its
// queries, so that a query run again is not parsed and planned again.
//
// database/sql prepares, runs and finalizes a statement for every query it
// is given as text. PostgreSQL's driver (pgx) keeps the statements of each
// connection itself; SQLite's (modernc.org/sqlite) does not, and parsing is
// about half of what a short SQLite query costs: the authorization lookups
// of a request, each a few indexed rows, spend more on parsing than on
// reading. A Driver prepares each query text once, with database/sql's
// Stmt (prepared again on each connection that runs it), and keeps the most
// recently used statements up to a bound, closing the others.
package stmtcache

import (
	"container/list"
	"context"
	"database/sql"
	"errors"
	"sync"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
)

// Driver is an ent driver whose queries outside transactions run on the
// statements of a Cache; everything else goes to the driver it wraps.
type Driver struct {
	dialect.Driver
	cache *Cache
}

// Wrap returns drv, whose database is db, with its queries outside
// transactions run on statements kept by a cache of at most size.
func Wrap(drv dialect.Driver, db *sql.DB, size int) *Driver {
	return &Driver{Driver: drv, cache: New(db, size)}
}

// Query runs query on its kept statement.
func (d *Driver) Query(ctx context.Context, query string, args, v any) error {
	rows, ok := v.(*entsql.Rows)
	argv, ok2 := args.([]any)
	if !ok || !ok2 {
		return d.Driver.Query(ctx, query, args, v)
	}
	r, err := d.cache.QueryContext(ctx, query, argv...)
	if err != nil {
		return err
	}
	*rows = entsql.Rows{ColumnScanner: r}
	return nil
}

// QueryContext runs a raw query on its kept statement.
func (d *Driver) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.cache.QueryContext(ctx, query, args...)
}

// ExecContext runs a raw statement through the wrapped driver.
func (d *Driver) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ex, ok := d.Driver.(interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	})
	if !ok {
		return nil, errors.New("stmtcache: the wrapped driver does not run raw statements")
	}
	return ex.ExecContext(ctx, query, args...)
}

// Cache holds prepared statements by query text, the most recently used
// first, up to a bound.
type Cache struct {
	db   *sql.DB
	size int

	mu      sync.Mutex
	entries map[string]*entry
	order   list.List // of *entry, most recently used first
}

// entry is one kept statement.
type entry struct {
	query   string
	stmt    *sql.Stmt
	at      *list.Element
	running int  // queries between taking the statement and its rows
	dropped bool // out of the cache: closed when the last query has its rows
}

// New returns an empty cache of at most size statements on db.
func New(db *sql.DB, size int) *Cache {
	return &Cache{db: db, size: max(size, 1), entries: map[string]*entry{}}
}

// QueryContext runs query, prepared once, with args. The rows stay readable
// after the statement leaves the cache: database/sql closes it when they
// are closed.
func (c *Cache) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	e, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	defer c.release(e)
	return e.stmt.QueryContext(ctx, args...)
}

// Len is the number of statements kept.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// take returns query's entry, preparing it if it is not kept, and marks it
// running.
func (c *Cache) take(ctx context.Context, query string) (*entry, error) {
	c.mu.Lock()
	e, ok := c.kept(query)
	c.mu.Unlock()
	if ok {
		return e, nil
	}
	stmt, err := c.db.PrepareContext(ctx, query) // outside the lock: others' queries go on
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.kept(query); ok { // prepared meanwhile by another query
		_ = stmt.Close()
		return e, nil
	}
	e = &entry{query: query, stmt: stmt, running: 1}
	e.at = c.order.PushFront(e)
	c.entries[query] = e
	for c.order.Len() > c.size {
		old := c.order.Remove(c.order.Back()).(*entry)
		delete(c.entries, old.query)
		old.dropped = true
		if old.running == 0 {
			closeStmt(old)
		}
	}
	return e, nil
}

// kept returns query's entry, if it is kept, marked running and most
// recently used. c.mu must be held.
func (c *Cache) kept(query string) (*entry, bool) {
	e, ok := c.entries[query]
	if ok {
		e.running++
		c.order.MoveToFront(e.at)
	}
	return e, ok
}

// release marks one query of e done, and closes e if it was dropped and
// this was its last query.
func (c *Cache) release(e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.running--
	if e.dropped && e.running == 0 {
		closeStmt(e)
	}
}

// closeStmt closes a dropped statement. A close that fails leaves nothing
// to undo: the statement is out of the cache either way.
func closeStmt(e *entry) { _ = e.stmt.Close() }
