package memstore

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/tuple"
)

// TestPanickingTransactionFreesTheWriteSlot: a transaction function that
// panics leaves nothing written and the next write goes through; a write
// waiting for the slot gives up when its context ends.
func TestPanickingTransactionFreesTheWriteSlot(t *testing.T) {
	ctx := context.Background()
	s, err := New(Options{GCWindow: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the transaction's panic was swallowed")
			}
		}()
		_, _ = s.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
			if err := rwt.WriteRelationships(ctx, []tuple.RelationshipUpdate{tuple.Touch(tuple.MustParse("doc:1#viewer@user:a"))}); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rev, err := s.ReadWriteTx(wctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		return rwt.WriteRelationships(ctx, []tuple.RelationshipUpdate{tuple.Touch(tuple.MustParse("doc:1#viewer@user:b"))})
	})
	if err != nil {
		t.Fatalf("the write after a panicking transaction: %v", err)
	}
	if got, err := viewersAt(ctx, s, rev); err != nil || !slices.Equal(got, []string{"b"}) {
		t.Errorf("viewers after the panic = %v (%v); want [b], nothing of the panicking transaction", got, err)
	}

	// A transaction holding the slot; another waits only as long as its
	// context.
	holding := make(chan struct{})
	release := make(chan struct{})
	go func() {
		_, _ = s.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
			err := rwt.WriteRelationships(ctx, []tuple.RelationshipUpdate{tuple.Touch(tuple.MustParse("doc:1#viewer@user:c"))})
			close(holding)
			<-release
			return err
		})
	}()
	<-holding
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	_, err = s.ReadWriteTx(short, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		return rwt.WriteRelationships(ctx, []tuple.RelationshipUpdate{tuple.Touch(tuple.MustParse("doc:1#viewer@user:d"))})
	})
	close(release)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a write waiting behind another past its deadline: %v; want context.DeadlineExceeded", err)
	}
}

// TestHeadOfAQuietStoreStaysReadableAfterAWrite: a request given the head
// of a store that has not been written for longer than the GC window keeps
// reading at it when a write commits meanwhile; a revision nobody was given
// within the window, and one from before the store existed, are stale.
func TestHeadOfAQuietStoreStaysReadableAfterAWrite(t *testing.T) {
	ctx := context.Background()
	const window = 100 * time.Millisecond
	s, err := New(Options{GCWindow: window})
	if err != nil {
		t.Fatal(err)
	}
	touch(ctx, t, s, tuple.UpdateOperationTouch, "doc:1#viewer@user:a")
	time.Sleep(window + 50*time.Millisecond)
	head, err := s.HeadRevision(ctx) // a fully consistent request
	if err != nil {
		t.Fatal(err)
	}
	touch(ctx, t, s, tuple.UpdateOperationTouch, "doc:1#viewer@user:b")
	if got, err := viewersAt(ctx, s, head.Revision); err != nil || !slices.Equal(got, []string{"a"}) {
		t.Errorf("at the head handed out before the write: %v (%v); want [a]", got, err)
	}

	// first was the head too, but was last handed out when it was written,
	// longer than the window ago: stale, as SpiceDB's datastores are.
	s2, _ := New(Options{GCWindow: window})
	old := touch(ctx, t, s2, tuple.UpdateOperationTouch, "doc:1#viewer@user:a")
	time.Sleep(window + 50*time.Millisecond)
	touch(ctx, t, s2, tuple.UpdateOperationTouch, "doc:1#viewer@user:b")
	// A revision from before the store existed names no state of it (a
	// cursor from before a restart, say).
	before := Revision(uint64(time.Now().UnixNano()))
	time.Sleep(time.Millisecond)
	s3, _ := New(Options{GCWindow: time.Minute})
	touch(ctx, t, s3, tuple.UpdateOperationTouch, "doc:1#viewer@user:a")
	for _, tt := range []struct {
		name  string
		store *Store
		rev   datastore.Revision
	}{
		{"not handed out within the window", s2, old},
		{"before the store existed", s3, before},
	} {
		var invalid datastore.InvalidRevisionError
		if err := tt.store.CheckRevision(ctx, tt.rev); !errors.As(err, &invalid) || invalid.Reason() != datastore.RevisionStale {
			t.Errorf("a revision %s: CheckRevision = %v; want stale", tt.name, err)
		}
	}
}
