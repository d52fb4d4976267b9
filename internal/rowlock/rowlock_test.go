package rowlock_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/app"
	"github.com/pbxportal/pbxportal/internal/migration"
	"github.com/pbxportal/pbxportal/internal/pgtest"
	"github.com/pbxportal/pbxportal/internal/rowlock"
)

// TestLockTakesAnyNumberOfIDs: PostgreSQL refuses a statement with more than
// 65,535 bind parameters; locking more ids than that (here, 70,000 of every
// lockable type, for update and for delete) still succeeds.
func TestLockTakesAnyNumberOfIDs(t *testing.T) {
	url := pgtest.URL(t) // skips without PBXPORTAL_TEST_DATABASE_URL
	ctx := context.Background()
	if _, err := app.Migrate(ctx, app.Config{DatabaseURL: url}, migration.Options{}); err != nil {
		t.Fatal(err)
	}
	store, err := app.OpenStore(ctx, app.Config{DataDir: t.TempDir(), DatabaseURL: url, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Client.Close()
	ids := make([]int, 70000)
	for i := range ids {
		ids[i] = len(ids) - i // unsorted, as callers may pass them
	}
	for _, typ := range []string{ent.TypeUser, ent.TypeGroup, ent.TypeCallQueue, ent.TypeQueueAgent,
		ent.TypeDomain, ent.TypeSite, ent.TypeRecording, ent.TypeContact} {
		for _, forDelete := range []bool{false, true} {
			tx, err := store.Client.Tx(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := (rowlock.Locker{Enabled: true}).Lock(ctx, tx.Client(), typ, ids, forDelete); err != nil {
				t.Errorf("lock %d %s ids (for delete: %v): %v", len(ids), typ, forDelete, err)
			}
			_ = tx.Rollback()
		}
	}
}
