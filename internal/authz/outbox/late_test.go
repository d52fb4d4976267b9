package outbox_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/embedded"
	"github.com/pbxportal/pbxportal/internal/authz/model"
	"github.com/pbxportal/pbxportal/internal/authz/outbox"
	"github.com/pbxportal/pbxportal/internal/pgtest"
)

// writeMethod is the gRPC method of SpiceDB's WriteRelationships.
var writeMethod = v1.PermissionsService_WriteRelationships_FullMethodName

// lateConn passes every call to a real SpiceDB, except one armed
// WriteRelationships, which it holds, as a network or a busy server delays a
// request. The test then either lets it through while its caller still
// waits, or, if the caller has given up on it (its context ended), keeps it
// on its way and delivers it right after the next write that gets through:
// a write whose caller saw an error that lands anyway, late.
type lateConn struct {
	grpc.ClientConnInterface
	mu    sync.Mutex
	armed bool
	held  chan *heldWrite
	late  *heldWrite
}

// heldWrite is the armed write while it is held.
type heldWrite struct {
	ctx     context.Context
	args    any
	opts    []grpc.CallOption
	release chan struct{}
	landed  chan error
}

func (c *lateConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	c.mu.Lock()
	armed := c.armed && method == writeMethod
	if armed {
		c.armed = false
	}
	c.mu.Unlock()
	if !armed {
		err := c.ClientConnInterface.Invoke(ctx, method, args, reply, opts...)
		if method == writeMethod && err == nil {
			c.mu.Lock()
			late := c.late
			c.late = nil
			c.mu.Unlock()
			if late != nil { // it lands after this write
				late.landed <- c.ClientConnInterface.Invoke(context.Background(), method, late.args, &v1.WriteRelationshipsResponse{}, late.opts...)
			}
		}
		return err
	}
	h := &heldWrite{ctx: ctx, args: args, opts: opts, release: make(chan struct{}), landed: make(chan error, 1)}
	c.held <- h
	select {
	case <-h.release:
		return c.ClientConnInterface.Invoke(ctx, method, args, reply, opts...)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// settle decides the fate of the held write h once its caller's context
// may have ended: if it has, the write is already abandoned by its caller
// and lands after the next write (abandoned is true); if not, the caller
// still waits and the write lands now.
func (c *lateConn) settle(h *heldWrite) (abandoned bool) {
	if h.ctx.Err() != nil {
		c.mu.Lock()
		c.late = h
		c.mu.Unlock()
		return true
	}
	close(h.release)
	return false
}

// openDB opens a migrated, hook-free database of the backend ("sqlite" or
// "postgres"); the second result says whether its relay takes row locks.
func openDB(t *testing.T, backend string) (*ent.Client, bool) {
	t.Helper()
	var drv *entsql.Driver
	switch backend {
	case "postgres":
		drv = entsql.OpenDB(dialect.Postgres, pgtest.Open(t, pgtest.URL(t)))
	default:
		dsn := "file:" + filepath.Join(t.TempDir(), "pbxportal.db") +
			"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate"
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		drv = entsql.OpenDB(dialect.SQLite, db)
	}
	c := ent.NewClient(ent.Driver(drv))
	if err := c.Schema.Create(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c, backend == "postgres"
}

// TestAbandonedWriteCannotLandAfterANewerOne: a mutation's relay applies a
// supervisor assignment and its caller goes away (the HTTP client
// disconnects) while the write is on its way to SpiceDB; then the
// assignment is removed and applied. Whatever the order in which SpiceDB
// receives the two writes, it must end without the assignment. A relay
// that gives up on a write it sent, and lets a newer write go first,
// leaves the revoked grant in SpiceDB for good: the outbox holds nothing
// more to apply.
func TestAbandonedWriteCannotLandAfterANewerOne(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db, lockRows := openDB(t, backend)
			srv, err := embedded.Start(ctx, embedded.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = srv.Close() })
			conn := &lateConn{ClientConnInterface: srv.Conn(), held: make(chan *heldWrite, 1)}
			spice, err := authz.NewClient(conn, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := spice.WriteSchema(ctx, model.Schema); err != nil {
				t.Fatal(err)
			}
			relay := outbox.NewRelay(db, spice, slog.New(slog.NewTextHandler(io.Discard, nil)), lockRows)
			grant, err := outbox.Parse("queue:1#supervisor@user:2")
			if err != nil {
				t.Fatal(err)
			}
			commit := func(touches, deletes []authz.Relationship) {
				t.Helper()
				tx, err := db.Tx(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if err := outbox.Write(ctx, tx.Client(), touches, deletes); err != nil {
					t.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
			}

			commit([]authz.Relationship{grant}, nil)
			conn.mu.Lock()
			conn.armed = true
			conn.mu.Unlock()
			callerCtx, callerGone := context.WithCancel(ctx)
			applied := make(chan error, 1)
			go func() { applied <- relay.Apply(callerCtx) }()
			h := <-conn.held
			callerGone()
			abandoned := conn.settle(h)
			t.Logf("the caller's relay returned %v", <-applied)

			commit(nil, []authz.Relationship{grant})
			if err := relay.Apply(ctx); err != nil {
				t.Fatal(err)
			}
			if abandoned {
				if err := <-h.landed; err != nil {
					t.Fatalf("the abandoned write did not land: %v", err)
				}
				t.Log("the relay gave up on a write it had sent; it landed after the newer one")
			}
			var held []authz.Relationship
			if err := spice.ExportRelationships(ctx, func(b []authz.Relationship) error {
				held = append(held, b...)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			for _, r := range held {
				if r == grant {
					t.Errorf("SpiceDB still holds %s, revoked after it was granted", grant)
				}
			}
			if n, err := db.OutboxEntry.Query().Count(ctx); err != nil || n != 0 {
				t.Errorf("%d outbox rows left (%v), want none", n, err)
			}
		})
	}
}
