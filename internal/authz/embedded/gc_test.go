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

	"github.com/pbxportal/pbxportal/internal/authz/embedded/memstore"
)

const gcTestSchema = `definition user {}
definition doc {
    relation viewer: user
    permission view = viewer
}`

// gcTestServer starts an embedded SpiceDB on the memory datastore with the
// given GC window and the test schema.
func gcTestServer(t *testing.T, window time.Duration) (*Server, *memstore.Store, v1.PermissionsServiceClient) {
	t.Helper()
	return memstoreServer(t, Options{GCWindow: window}, gcTestSchema)
}

// memstoreServer starts a server on memstore with opts and writes schema.
func memstoreServer(t *testing.T, opts Options, schema string) (*Server, *memstore.Store, v1.PermissionsServiceClient) {
	t.Helper()
	ctx := context.Background()
	srv, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	store, ok := srv.ds.(*memstore.Store)
	if !ok {
		t.Fatalf("the memory datastore is a %T, want *memstore.Store", srv.ds)
	}
	if _, err := v1.NewSchemaServiceClient(srv.Conn()).WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: schema}); err != nil {
		t.Fatal(err)
	}
	return srv, store, v1.NewPermissionsServiceClient(srv.Conn())
}

func viewer(doc, user string) *v1.Relationship {
	return &v1.Relationship{
		Resource: &v1.ObjectReference{ObjectType: "doc", ObjectId: doc}, Relation: "viewer",
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}},
	}
}

func canView(ctx context.Context, perms v1.PermissionsServiceClient, c *v1.Consistency, doc, user string) (bool, error) {
	res, err := perms.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: c,
		Resource:    &v1.ObjectReference{ObjectType: "doc", ObjectId: doc}, Permission: "view",
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}},
	})
	return res.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION, err
}

func atLeastAsFresh(token *v1.ZedToken) *v1.Consistency {
	return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: token}}
}

// TestMemoryDatastoreBoundsRetainedVersions: writes from several clients at
// once, each followed by checks at least as fresh as it, through the real
// server. Every check sees its write, the final relationships are exactly
// those written, and once the GC window has passed the store holds only
// the live relationships, however many writes there were.
func TestMemoryDatastoreBoundsRetainedVersions(t *testing.T) {
	const window, clients, perClient = time.Second, 4, 100
	ctx := context.Background()
	_, store, perms := gcTestServer(t, window)
	var wg sync.WaitGroup
	for cl := range clients {
		wg.Go(func() {
			for i := range perClient {
				// Each client grants doc c-i to user i, and revokes what it
				// granted two writes before: both must be seen at once.
				doc := fmt.Sprintf("%d-%d", cl, i)
				updates := []*v1.RelationshipUpdate{{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: viewer(doc, fmt.Sprint(i))}}
				if i >= 2 {
					updates = append(updates, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: viewer(fmt.Sprintf("%d-%d", cl, i-2), fmt.Sprint(i-2))})
				}
				res, err := perms.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: updates})
				if err != nil {
					t.Errorf("write %s: %v", doc, err)
					return
				}
				if ok, err := canView(ctx, perms, atLeastAsFresh(res.GetWrittenAt()), doc, fmt.Sprint(i)); err != nil || !ok {
					t.Errorf("right after granting %s, view = %v (%v), want true", doc, ok, err)
				}
				if i >= 2 {
					if ok, err := canView(ctx, perms, atLeastAsFresh(res.GetWrittenAt()), fmt.Sprintf("%d-%d", cl, i-2), fmt.Sprint(i-2)); err != nil || ok {
						t.Errorf("right after revoking %d-%d, view = %v (%v), want false", cl, i-2, ok, err)
					}
				}
			}
		})
	}
	wg.Wait()
	// Versions are collected as writes commit: one more after the window.
	time.Sleep(2 * window)
	if _, err := perms.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
		Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: viewer("last", "0"),
	}}}); err != nil {
		t.Fatal(err)
	}
	if got, want := store.RowVersions(), 2*clients+1; got != want {
		t.Errorf("after %d writes the store holds %d row versions, want the %d live ones", clients*perClient, got, want)
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
	want := []string{"last@0"}
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

// TestReadsAtARevisionBeforeAGCSeeThatRevision: a request at a revision
// from before a collection, while that revision is within the GC window,
// reads that revision's state (a permission evaluated half on one state
// and half on another could be true in neither); once the window has
// passed, it fails rather than reading another state.
func TestReadsAtARevisionBeforeAGCSeeThatRevision(t *testing.T) {
	const window = 2 * time.Second
	ctx := context.Background()
	_, store, perms := gcTestServer(t, window)
	write := func(op v1.RelationshipUpdate_Operation, doc string) *v1.ZedToken {
		t.Helper()
		res, err := perms.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{Operation: op, Relationship: viewer(doc, "1")}}})
		if err != nil {
			t.Fatal(err)
		}
		return res.GetWrittenAt()
	}
	exact := func(token *v1.ZedToken) *v1.Consistency {
		return &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: token}}
	}
	// Garbage for the collection below to free: a version whose delete
	// leaves the window before the grant's revision does.
	write(v1.RelationshipUpdate_OPERATION_TOUCH, "old")
	write(v1.RelationshipUpdate_OPERATION_DELETE, "old")
	time.Sleep(window * 3 / 4)
	granted := write(v1.RelationshipUpdate_OPERATION_TOUCH, "a")
	write(v1.RelationshipUpdate_OPERATION_DELETE, "a")
	time.Sleep(window / 2)
	before := store.RowVersions()
	write(v1.RelationshipUpdate_OPERATION_TOUCH, "b") // frees doc:old's version, keeps doc:a's
	if after := store.RowVersions(); before != 2 || after != 2 {
		t.Fatalf("row versions %d before the collecting write and %d after, want 2 (doc:old and doc:a deleted) and 2 (doc:a deleted, doc:b)", before, after)
	}
	if ok, err := canView(ctx, perms, exact(granted), "a", "1"); err != nil || !ok {
		t.Errorf("at the revision of the grant, after a collection: view = %v (%v), want true", ok, err)
	}
	if ok, err := canView(ctx, perms, atLeastAsFresh(granted), "a", "1"); err != nil || ok {
		t.Errorf("at least as fresh as the grant, after its revoke: view = %v (%v), want false", ok, err)
	}

	time.Sleep(window + window/4)
	write(v1.RelationshipUpdate_OPERATION_TOUCH, "c") // frees doc:a's version
	if ok, err := canView(ctx, perms, exact(granted), "a", "1"); err == nil {
		t.Errorf("at the revision of the grant, past the window: view = %v, want an error", ok)
	}
}
