package embedded

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	spicedatastore "github.com/authzed/spicedb/pkg/datastore"
)

const compactTestSchema = `definition user {}
definition doc {
    relation viewer: user
    permission view = viewer
}`

// retainedRevisions counts the changelog entries, one per write transaction,
// that the current generation of the memory datastore holds; each comes with
// a retained snapshot.
func retainedRevisions(t *testing.T, c *compactingDatastore) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ds, _ := c.current()
	head, err := ds.HeadRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	origin, err := ds.RevisionFromString("1")
	if err != nil {
		t.Fatal(err)
	}
	updates, errs := ds.Watch(ctx, origin, spicedatastore.WatchOptions{Content: spicedatastore.WatchCheckpoints})
	n := 0
	for {
		select {
		case rc := <-updates:
			if !rc.IsCheckpoint {
				continue
			}
			n++
			if !rc.Revision.LessThan(head.Revision) {
				return n
			}
		case err := <-errs:
			t.Fatalf("watch the changelog: %v", err)
		}
	}
}

// TestCompactionBoundsRetainedRevisions: writes from several clients at
// once, each followed by a read at least as fresh as it, across several
// compactions. Every read sees its write, the final relationships are
// exactly those written, and the datastore retains no more revisions than
// one generation's worth, however many writes there were.
func TestCompactionBoundsRetainedRevisions(t *testing.T) {
	const every, clients, perClient = 40, 4, 100
	ctx := context.Background()
	srv, err := Start(ctx, Options{CompactEvery: every})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	compacting, ok := srv.ds.(*compactingDatastore)
	if !ok {
		t.Fatalf("the memory datastore is a %T, want compacting", srv.ds)
	}
	var mu sync.Mutex
	compactions := 0
	compacting.onCompact = func(err error, _ time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			t.Errorf("compaction: %v", err)
		}
		compactions++
	}
	if _, err := v1.NewSchemaServiceClient(srv.Conn()).WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: compactTestSchema}); err != nil {
		t.Fatal(err)
	}
	perms := v1.NewPermissionsServiceClient(srv.Conn())
	rel := func(doc, user string) *v1.Relationship {
		return &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: "doc", ObjectId: doc}, Relation: "viewer",
			Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}},
		}
	}
	check := func(token *v1.ZedToken, doc, user string) (bool, error) {
		res, err := perms.CheckPermission(ctx, &v1.CheckPermissionRequest{
			Consistency: &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: token}},
			Resource:    &v1.ObjectReference{ObjectType: "doc", ObjectId: doc}, Permission: "view",
			Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}},
		})
		return res.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION, err
	}
	var wg sync.WaitGroup
	for cl := range clients {
		wg.Go(func() {
			for i := range perClient {
				// Each client grants doc c-i to user i, and revokes what it
				// granted two writes before: both must be seen at once.
				doc := fmt.Sprintf("%d-%d", cl, i)
				updates := []*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel(doc, fmt.Sprint(i))}}
				if i >= 2 {
					updates = append(updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: rel(fmt.Sprintf("%d-%d", cl, i-2), fmt.Sprint(i-2))})
				}
				res, err := perms.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: updates})
				if err != nil {
					t.Errorf("write %s: %v", doc, err)
					return
				}
				if ok, err := check(res.GetWrittenAt(), doc, fmt.Sprint(i)); err != nil || !ok {
					t.Errorf("right after granting %s, view = %v (%v), want true", doc, ok, err)
				}
				if i >= 2 {
					if ok, err := check(res.GetWrittenAt(), fmt.Sprintf("%d-%d", cl, i-2), fmt.Sprint(i-2)); err != nil || ok {
						t.Errorf("right after revoking %d-%d, view = %v (%v), want false", cl, i-2, ok, err)
					}
				}
			}
		})
	}
	wg.Wait()
	// Let a compaction under way finish before counting.
	for deadline := time.Now().Add(30 * time.Second); compacting.running.Load() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	if compactions < 2 {
		t.Errorf("%d compactions after %d writes, one every %d: want at least 2", compactions, clients*perClient, every)
	}
	mu.Unlock()
	// The schema write, the writes of this generation, and the one
	// transaction that started it (the copy) or replayed into it.
	if n := retainedRevisions(t, compacting); n > every+3 {
		t.Errorf("after %d writes the datastore retains %d revisions, want at most %d", clients*perClient, n, every+3)
	}

	stream, err := perms.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{
		Consistency:        &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
		RelationshipFilter: &v1.RelationshipFilter{ResourceType: "doc"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		res, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, res.GetRelationship().GetResource().GetObjectId()+"@"+res.GetRelationship().GetSubject().GetObject().GetObjectId())
	}
	var want []string
	for cl := range clients {
		for i := perClient - 2; i < perClient; i++ {
			want = append(want, fmt.Sprintf("%d-%d@%d", cl, i, i))
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("relationships after the writes:\n got %v\nwant %v", got, want)
	}
}

// TestReadsAtARevisionBeforeASwapSeeThatRevision: a request that chose its
// revision before a compaction swapped generations must read that same
// state after the swap, not the new generation's first one: a permission
// evaluated half in each could be true in neither.
func TestReadsAtARevisionBeforeASwapSeeThatRevision(t *testing.T) {
	const every = 3
	ctx := context.Background()
	srv, err := Start(ctx, Options{CompactEvery: every})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	compacting := srv.ds.(*compactingDatastore)
	swapped := make(chan error, 10)
	compacting.onCompact = func(err error, _ time.Duration) { swapped <- err }
	if _, err := v1.NewSchemaServiceClient(srv.Conn()).WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: compactTestSchema}); err != nil {
		t.Fatal(err)
	}
	perms := v1.NewPermissionsServiceClient(srv.Conn())
	write := func(op v1.RelationshipUpdate_Operation, doc string) *v1.ZedToken {
		t.Helper()
		res, err := perms.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
			Operation: op,
			Relationship: &v1.Relationship{
				Resource: &v1.ObjectReference{ObjectType: "doc", ObjectId: doc}, Relation: "viewer",
				Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "1"}},
			},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		return res.GetWrittenAt()
	}
	granted := write(v1.RelationshipUpdate_OPERATION_TOUCH, "a")
	write(v1.RelationshipUpdate_OPERATION_DELETE, "a")
	write(v1.RelationshipUpdate_OPERATION_TOUCH, "b")
	select {
	case err := <-swapped:
		if err != nil {
			t.Fatalf("compaction: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no compaction after 3 writes")
	}
	res, err := perms.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: granted}},
		Resource:    &v1.ObjectReference{ObjectType: "doc", ObjectId: "a"}, Permission: "view",
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetPermissionship() != v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION {
		t.Errorf("at the revision of the grant, read after a swap: %v, want HAS_PERMISSION", res.GetPermissionship())
	}
}
