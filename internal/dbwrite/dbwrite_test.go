package dbwrite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	_ "modernc.org/sqlite"

	"github.com/pbxportal/pbxportal/internal/dbwrite"
)

// open opens a SQLite database in WAL mode with no busy timeout at all, so
// that any two writers that meet fail with "database is locked".
func open(t *testing.T) *entsql.Driver {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "t.db") + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(0)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	drv := entsql.OpenDB(dialect.SQLite, db)
	t.Cleanup(func() { _ = drv.Close() })
	var r entsql.Result
	if err := drv.Exec(context.Background(), "CREATE TABLE n (v INTEGER)", []any{}, &r); err != nil {
		t.Fatal(err)
	}
	return drv
}

// hammer runs writers × rounds write transactions (a read, then a write, as
// a mutation does) and autocommit writes at once, and returns the errors.
func hammer(drv dialect.Driver, writers, rounds int) []error {
	ctx := context.Background()
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				err := func() error {
					var r entsql.Result
					if i%4 == 3 {
						return drv.Exec(ctx, "INSERT INTO n (v) VALUES (?)", []any{w}, &r)
					}
					tx, err := drv.Tx(ctx)
					if err != nil {
						return err
					}
					var rows entsql.Rows
					if err := tx.Query(ctx, "SELECT count(*) FROM n", []any{}, &rows); err != nil {
						_ = tx.Rollback()
						return err
					}
					_ = rows.Close()
					if err := tx.Exec(ctx, "INSERT INTO n (v) VALUES (?)", []any{w}, &r); err != nil {
						_ = tx.Rollback()
						return err
					}
					return tx.Commit()
				}()
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return errs
}

// TestSerializeNeverLocks: concurrent writers on SQLite with no busy timeout
// all succeed through the write slot; without it they fail (the test checks
// that the load is heavy enough to show it).
func TestSerializeNeverLocks(t *testing.T) {
	tests := []struct {
		name      string
		serialize bool
		wantErrs  bool
	}{
		{"raw driver: writers collide", false, true},
		{"serialized: none does", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var drv dialect.Driver = open(t)
			if tt.serialize {
				drv = dbwrite.Serialize(drv.(*entsql.Driver), 10*time.Second)
			}
			errs := hammer(drv, 8, 40)
			if (len(errs) > 0) != tt.wantErrs {
				t.Fatalf("%d errors (first: %v); want errors: %v", len(errs), first(errs), tt.wantErrs)
			}
		})
	}
}

func first(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}

// TestTxBeginsAtFirstStatement: a transaction holds the write slot only from
// its first statement to its end.
func TestTxBeginsAtFirstStatement(t *testing.T) {
	ctx := context.Background()
	drv := dbwrite.Serialize(open(t), 200*time.Millisecond)
	idle, err := drv.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var r entsql.Result
	if err := drv.Exec(ctx, "INSERT INTO n (v) VALUES (1)", []any{}, &r); err != nil {
		t.Fatalf("a transaction without statements blocks writers: %v", err)
	}
	if err := idle.Exec(ctx, "INSERT INTO n (v) VALUES (2)", []any{}, &r); err != nil {
		t.Fatal(err)
	}
	if err := drv.Exec(ctx, "INSERT INTO n (v) VALUES (3)", []any{}, &r); !errors.Is(err, dbwrite.ErrBusy) {
		t.Fatalf("a writer while a transaction is open: %v, want ErrBusy after the wait", err)
	}
	if err := idle.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := drv.Exec(ctx, "INSERT INTO n (v) VALUES (4)", []any{}, &r); err != nil {
		t.Fatalf("the slot was not given back on commit: %v", err)
	}
	var rows entsql.Rows
	if err := drv.Query(ctx, "SELECT group_concat(v) FROM n", []any{}, &rows); err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got string
	for rows.Next() {
		_ = rows.Scan(&got)
	}
	if got != "1,2,4" {
		t.Fatalf("rows %q, want 1,2,4", got)
	}
}

// TestTxTakesPlainStatements: ent's Tx.ExecContext (plain SQL in a
// transaction, as the start-up backfill of recordings' numbers writes)
// works through the serialised driver, in the write slot, and commits.
func TestTxTakesPlainStatements(t *testing.T) {
	ctx := context.Background()
	drv := dbwrite.Serialize(open(t), 200*time.Millisecond)
	tx, err := drv.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ex, ok := tx.(interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	})
	if !ok {
		t.Fatal("the transaction has no ExecContext: ent's Tx.ExecContext fails with \"not supported\"")
	}
	if _, err := ex.ExecContext(ctx, "INSERT INTO n (v) VALUES (?)", 5); err != nil {
		t.Fatal(err)
	}
	var r entsql.Result
	if err := drv.Exec(ctx, "INSERT INTO n (v) VALUES (6)", []any{}, &r); !errors.Is(err, dbwrite.ErrBusy) {
		t.Fatalf("a writer while the plain statement's transaction is open: %v, want ErrBusy", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var rows entsql.Rows
	if err := drv.Query(ctx, "SELECT count(*) FROM n WHERE v = 5", []any{}, &rows); err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n int
	for rows.Next() {
		_ = rows.Scan(&n)
	}
	if n != 1 {
		t.Fatalf("%d rows of the plain statement after commit, want 1", n)
	}
}
