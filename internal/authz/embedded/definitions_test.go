package embedded

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"

	"github.com/pbxportal/pbxportal/internal/authz/model"
)

// TestSharedDefinitionsStayUnchanged: memstore hands its stored namespace
// definitions to SpiceDB's readers without copying them, which is safe only
// while SpiceDB never changes a definition it reads. After writes, lookups
// of every relation and permission of pbxportal's schema at several fresh
// revisions at once, checks and a schema read, every stored definition is
// still what was written (run with -race, a change made during concurrent
// reads is also reported as a race).
func TestSharedDefinitionsStayUnchanged(t *testing.T) {
	ctx := context.Background()
	srv, store, perms := memstoreServer(t, Options{}, model.Schema)
	stored := func() []*core.NamespaceDefinition {
		t.Helper()
		head, err := store.HeadRevision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		nss, err := store.SnapshotReader(head.Revision).LegacyListAllNamespaces(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defs := make([]*core.NamespaceDefinition, 0, len(nss))
		for _, ns := range nss {
			defs = append(defs, ns.Definition)
		}
		return defs
	}
	defs := stored()
	want := make([]*core.NamespaceDefinition, len(defs))
	for i, def := range defs {
		want[i] = def.CloneVT()
	}

	user := &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "1"}}
	for round := range 3 {
		// A write, so that the lookups read at a revision nothing has been
		// asked at yet.
		if _, err := perms.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
			Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
			Relationship: &v1.Relationship{
				Resource: &v1.ObjectReference{ObjectType: "user", ObjectId: strconv.Itoa(round)}, Relation: "self", Subject: user,
			},
		}}}); err != nil {
			t.Fatal(err)
		}
		full := &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for _, def := range defs {
			for _, rel := range def.Relation {
				wg.Go(func() {
					stream, err := perms.LookupResources(ctx, &v1.LookupResourcesRequest{
						Consistency: full, ResourceObjectType: def.Name, Permission: rel.Name, Subject: user,
					})
					for err == nil {
						_, err = stream.Recv()
					}
					if !errors.Is(err, io.EOF) {
						select {
						case errs <- err:
						default:
						}
					}
					if _, err := perms.CheckPermission(ctx, &v1.CheckPermissionRequest{
						Consistency: full, Resource: &v1.ObjectReference{ObjectType: def.Name, ObjectId: "1"}, Permission: rel.Name, Subject: user,
					}); err != nil {
						select {
						case errs <- err:
						default:
						}
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			// Some relations do not allow a user subject; only a
			// failure to answer at all matters here.
			t.Logf("round %d: %v", round, err)
		}
	}
	if _, err := v1.NewSchemaServiceClient(srv.Conn()).ReadSchema(ctx, &v1.ReadSchemaRequest{}); err != nil {
		t.Fatal(err)
	}
	for i, def := range stored() {
		if !def.EqualVT(want[i]) {
			t.Errorf("stored definition %s changed while SpiceDB read it", def.Name)
		}
	}
}
