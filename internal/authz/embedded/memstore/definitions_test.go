package memstore

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/authzed/spicedb/pkg/datastore"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
)

// bigNamespace is a namespace definition of n relations, each with a
// userset rewrite, like pbxportal's larger definitions.
func bigNamespace(name string, n int) *core.NamespaceDefinition {
	def := &core.NamespaceDefinition{Name: name}
	for i := range n {
		def.Relation = append(def.Relation, &core.Relation{
			Name: "r" + strconv.Itoa(i),
			UsersetRewrite: &core.UsersetRewrite{RewriteOperation: &core.UsersetRewrite_Union{Union: &core.SetOperation{
				Child: []*core.SetOperation_Child{{ChildType: &core.SetOperation_Child_XThis{XThis: &core.SetOperation_Child_This{}}}},
			}}},
		})
	}
	return def
}

func writeDefinitions(ctx context.Context, t *testing.T, s *Store, ns *core.NamespaceDefinition, cav *core.CaveatDefinition) datastore.Revision {
	t.Helper()
	rev, err := s.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		if err := rwt.LegacyWriteNamespaces(ctx, ns); err != nil {
			return err
		}
		return rwt.LegacyWriteCaveats(ctx, []*core.CaveatDefinition{cav})
	})
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// TestDefinitionReads: SpiceDB caches definitions per revision only, so it
// reads them again at every new revision; a snapshot read hands out the
// stored definition without decoding or copying it, while neither the
// writer's definitions nor what a write transaction reads can change what
// is stored.
func TestDefinitionReads(t *testing.T) {
	ctx := context.Background()
	const relations = 50
	tests := []struct {
		name string
		// change changes something the store handed out or was given,
		// at the store s holding ns and cav.
		change func(t *testing.T, s *Store, ns *core.NamespaceDefinition, cav *core.CaveatDefinition)
	}{
		{"the writer changes its definitions after the write", func(_ *testing.T, _ *Store, ns *core.NamespaceDefinition, cav *core.CaveatDefinition) {
			ns.Relation[0].Name = "changed"
			cav.SerializedExpression[0] ^= 0xff
		}},
		{"a write transaction changes what it read", func(t *testing.T, s *Store, _ *core.NamespaceDefinition, _ *core.CaveatDefinition) {
			_, err := s.ReadWriteTx(ctx, func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
				ns, _, err := rwt.LegacyReadNamespaceByName(ctx, "doc")
				if err != nil {
					return err
				}
				ns.Relation[0].Name = "changed"
				nss, err := rwt.LegacyLookupNamespacesWithNames(ctx, []string{"doc"})
				if err != nil {
					return err
				}
				nss[0].Definition.Relation[1].Name = "changed"
				cav, _, err := rwt.LegacyReadCaveatByName(ctx, "c")
				if err != nil {
					return err
				}
				cav.SerializedExpression[0] ^= 0xff
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Options{GCWindow: time.Hour, Quantization: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			ns, cav := bigNamespace("doc", relations), &core.CaveatDefinition{Name: "c", SerializedExpression: []byte("expr")}
			wantNS, wantCav := ns.CloneVT(), cav.CloneVT()
			writeDefinitions(ctx, t, s, ns, cav)
			tt.change(t, s, ns, cav)
			head, err := s.HeadRevision(ctx)
			if err != nil {
				t.Fatal(err)
			}
			r := s.SnapshotReader(head.Revision)
			gotNS, _, err := r.LegacyReadNamespaceByName(ctx, "doc")
			if err != nil {
				t.Fatal(err)
			}
			if !gotNS.EqualVT(wantNS) {
				t.Errorf("stored namespace changed: relation 0 is %q", gotNS.Relation[0].Name)
			}
			gotCav, _, err := r.LegacyReadCaveatByName(ctx, "c")
			if err != nil {
				t.Fatal(err)
			}
			if !gotCav.EqualVT(wantCav) {
				t.Errorf("stored caveat changed: %q", gotCav.SerializedExpression)
			}
		})
	}
	t.Run("a snapshot read does not decode or copy the definition", func(t *testing.T) {
		s, err := New(Options{GCWindow: time.Hour, Quantization: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		rev := writeDefinitions(ctx, t, s, bigNamespace("doc", relations), &core.CaveatDefinition{Name: "c", SerializedExpression: []byte("expr")})
		r := s.SnapshotReader(rev)
		names := []string{"doc"}
		// A copy of the definition alone would be several allocations per
		// relation.
		allocs := testing.AllocsPerRun(100, func() {
			if nss, err := r.LegacyLookupNamespacesWithNames(ctx, names); err != nil || len(nss) != 1 {
				t.Fatalf("LegacyLookupNamespacesWithNames = %d definitions, %v", len(nss), err)
			}
		})
		if allocs >= relations {
			t.Errorf("a snapshot read of a definition of %d relations makes %.0f allocations, want fewer than %d", relations, allocs, relations)
		}
	})
}
