package memstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/tuple"
)

// heldVersions counts the row versions the store holds, and the strings
// it has interned.
func heldVersions(s *Store) (rows, strs int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return int(s.t.nextRow) - len(s.t.freeRows), len(s.t.ids)
}

func touch(ctx context.Context, t *testing.T, s *Store, op tuple.UpdateOperation, rels ...string) datastore.Revision {
	t.Helper()
	updates := make([]tuple.RelationshipUpdate, 0, len(rels))
	for _, r := range rels {
		updates = append(updates, tuple.RelationshipUpdate{Operation: op, Relationship: tuple.MustParse(r)})
	}
	rev, err := s.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		return rwt.WriteRelationships(ctx, updates)
	})
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// viewersAt lists doc:1's viewers at rev.
func viewersAt(ctx context.Context, s *Store, rev datastore.Revision) ([]string, error) {
	it, err := s.SnapshotReader(rev).QueryRelationships(ctx, datastore.RelationshipsFilter{
		OptionalResourceType: "doc", OptionalResourceIds: []string{"1"}, OptionalResourceRelation: "viewer",
	})
	if err != nil {
		return nil, err
	}
	var out []string
	for rel, err := range it {
		if err != nil {
			return nil, err
		}
		out = append(out, rel.Subject.ObjectID)
	}
	return out, nil
}

// TestGCBoundsRetainedVersions: clients write at once, each write is read
// back at its own revision, and however many writes there were, the store
// holds only the live relationships plus the versions deleted within the
// GC window; the strings of deleted relationships are forgotten too.
func TestGCBoundsRetainedVersions(t *testing.T) {
	ctx := context.Background()
	const window = 500 * time.Millisecond
	s, err := New(Options{GCWindow: window})
	if err != nil {
		t.Fatal(err)
	}
	const clients, rounds = 4, 300
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				// Each client moves its one viewer of doc:c to a new user.
				rel := tuple.MustParse(fmt.Sprintf("doc:c%d#viewer@user:u%d-%d", c, c, i))
				rev, err := s.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
					if _, _, err := rwt.DeleteRelationships(ctx, tuple.ToV1Filter(tuple.Relationship{RelationshipReference: tuple.RelationshipReference{Resource: rel.Resource, Subject: tuple.ObjectAndRelation{ObjectType: "user"}}})); err != nil {
						return err
					}
					return rwt.WriteRelationships(ctx, []tuple.RelationshipUpdate{tuple.Create(rel)})
				})
				if err != nil {
					errs <- err
					return
				}
				it, err := s.SnapshotReader(rev).QueryRelationships(ctx, datastore.RelationshipsFilter{OptionalResourceType: "doc", OptionalResourceIds: []string{rel.Resource.ObjectID}})
				if err != nil {
					errs <- err
					return
				}
				got, err := datastore.IteratorToSlice(it)
				if err != nil {
					errs <- err
					return
				}
				if len(got) != 1 || got[0].Subject.ObjectID != rel.Subject.ObjectID {
					errs <- fmt.Errorf("read at the write's revision %s: got %v, want just %s", rev, got, rel.Subject.ObjectID)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// One more write after the window frees what every earlier one deleted.
	time.Sleep(2 * window)
	touch(ctx, t, s, tuple.UpdateOperationTouch, "doc:other#viewer@user:x")
	rows, strs := heldVersions(s)
	if want := clients + 1; rows != want {
		t.Errorf("after %d writes the store holds %d row versions, want the %d live ones", clients*rounds, rows, want)
	}
	// "", doc, viewer, user, "...", other, x, and per client cN and its last user.
	if want := 7 + 2*clients; strs != want {
		t.Errorf("the store holds %d strings, want %d", strs, want)
	}
}

// TestReadWithinWindowSurvivesGC: after a collection, a read at a
// revision from before it still sees that revision while it is within the
// window; once the window has passed and the versions it needs are freed,
// the same reader fails as stale instead of reading a wrong state.
func TestReadWithinWindowSurvivesGC(t *testing.T) {
	ctx := context.Background()
	const window = time.Second
	s, err := New(Options{GCWindow: window})
	if err != nil {
		t.Fatal(err)
	}
	old := touch(ctx, t, s, tuple.UpdateOperationTouch, "doc:1#viewer@user:a")
	time.Sleep(window / 4)
	del := touch(ctx, t, s, tuple.UpdateOperationDelete, "doc:1#viewer@user:a")
	before := Revision(uint64(del.(Revision)) - 1)
	touch(ctx, t, s, tuple.UpdateOperationTouch, "doc:1#viewer@user:b")
	time.Sleep(window / 4)
	touch(ctx, t, s, tuple.UpdateOperationTouch, "doc:2#viewer@user:c") // collects
	if got, err := viewersAt(ctx, s, before); err != nil || len(got) != 1 || got[0] != "a" {
		t.Errorf("before the delete, after a collection: %v, %v; want [a]", got, err)
	}
	if got, err := viewersAt(ctx, s, del); err != nil || len(got) != 0 {
		t.Errorf("at the delete: %v, %v; want none", got, err)
	}
	reader := s.SnapshotReader(before)
	time.Sleep(window)
	touch(ctx, t, s, tuple.UpdateOperationTouch, "doc:3#viewer@user:d") // frees user:a's version
	if rows, _ := heldVersions(s); rows != 3 {
		t.Errorf("the store holds %d row versions, want the 3 live ones", rows)
	}
	it, err := reader.QueryRelationships(ctx, datastore.RelationshipsFilter{OptionalResourceType: "doc"})
	if err == nil {
		_, err = datastore.IteratorToSlice(it)
	}
	if !errors.As(err, &datastore.InvalidRevisionError{}) {
		t.Errorf("a reader from before the freed delete: %v, want a stale revision error", err)
	}
	if err := s.CheckRevision(ctx, old); !errors.As(err, &datastore.InvalidRevisionError{}) {
		t.Errorf("CheckRevision of a revision older than the window: %v, want a stale revision error", err)
	}
}

// TestIteratorHoldsNoLock: a write commits while a reader is consuming a
// query larger than one batch, and the reader still sees only its own
// revision.
func TestIteratorHoldsNoLock(t *testing.T) {
	ctx := context.Background()
	s, err := New(Options{GCWindow: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	rels := make([]string, 0, 3*batchSize)
	for i := range 3 * batchSize {
		rels = append(rels, fmt.Sprintf("doc:%05d#viewer@user:a", i))
	}
	rev := touch(ctx, t, s, tuple.UpdateOperationCreate, rels...)
	it, err := s.SnapshotReader(rev).QueryRelationships(ctx, datastore.RelationshipsFilter{OptionalResourceType: "doc"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rel, err := range it {
		if err != nil {
			t.Fatal(err)
		}
		if n == 10 {
			done := make(chan struct{})
			go func() {
				defer close(done)
				touch(ctx, t, s, tuple.UpdateOperationDelete, rels...)
				touch(ctx, t, s, tuple.UpdateOperationTouch, "doc:00000#viewer@user:b", "doc:99999#viewer@user:b")
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("a write waited for a reader that was consuming its results")
			}
		}
		if want := fmt.Sprintf("%05d", n); rel.Resource.ObjectID != want || rel.Subject.ObjectID != "a" {
			t.Fatalf("relationship %d is %s, want doc:%s…@user:a", n, tuple.MustString(rel), want)
		}
		n++
	}
	if n != len(rels) {
		t.Errorf("read %d relationships at the revision, want %d", n, len(rels))
	}
}
