package projection_test

import (
	"context"
	"slices"
	"testing"

	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/embedded"
	"github.com/pbxportal/pbxportal/internal/authz/model"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
	"github.com/pbxportal/pbxportal/internal/pgtest"
)

// newSpiceDB returns a client of a fresh embedded SpiceDB holding schema.zed.
func newSpiceDB(tb testing.TB) *authz.Client {
	tb.Helper()
	return newSpiceDBWith(tb, embedded.Options{})
}

// newSpiceDBWith starts an embedded SpiceDB with opts and writes the model.
func newSpiceDBWith(tb testing.TB, opts embedded.Options) *authz.Client {
	tb.Helper()
	ctx := context.Background()
	srv, err := embedded.Start(ctx, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = srv.Close() })
	c, err := authz.NewClient(srv.Conn(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.WriteSchema(ctx, model.Schema); err != nil {
		tb.Fatal(err)
	}
	return c
}

func sorted(rels []authz.Relationship) []string {
	out := make([]string, len(rels))
	for i, r := range rels {
		out[i] = r.String()
	}
	slices.Sort(out)
	return out
}

// TestRebuildAndReconcile starts SpiceDB in several states, each further
// from the database than one SpiceDB write (1,000 updates), and brings it in
// line through Rebuild (bulk import) or Reconcile (chunked writes).
func TestRebuildAndReconcile(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t, t.TempDir())
	generate(t, db, dataset{domains: 2, sites: 2, users: 150, groups: 3, queues: 2, recordings: 400, contacts: 3, seed: 11})
	want, err := projection.All(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	stray := authz.Relationship{Resource: projection.Obj(projection.TypeUser, 999999), Relation: "self", Subject: projection.Obj(projection.TypeUser, 999999)}
	half := want[:len(want)/2]
	tests := []struct {
		name        string
		start       []authz.Relationship // what SpiceDB holds first
		reconcile   bool                 // Reconcile --fix rather than Rebuild
		wantMissing int
		wantExtra   int
	}{
		{"rebuild into an empty SpiceDB", nil, false, 0, 0}, // the streaming import reports no drift
		{"rebuild over all of it (a restart)", want, false, 0, 0},
		{"rebuild over all of it and a stray", append(slices.Clone(want), stray), false, 0, 1},
		{"rebuild over part of it and a stray", append(slices.Clone(half), stray), false, len(want) - len(half), 1},
		{"reconcile an empty SpiceDB", nil, true, len(want), 0},
		{"reconcile part of it and a stray", append(slices.Clone(half), stray), true, len(want) - len(half), 1},
	}
	if len(want)-len(half) <= 1000 {
		t.Fatalf("the dataset projects to %d relationships; the test needs more than 2,000", len(want))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spice := newSpiceDB(t)
			if err := spice.WriteRelationships(ctx, tt.start, nil); err != nil {
				t.Fatal(err)
			}
			var missing, extra int
			if tt.reconcile {
				check, err := projection.Reconcile(ctx, db, spice, false)
				if err != nil {
					t.Fatal(err)
				}
				if len(check.Missing) != tt.wantMissing || len(check.Extra) != tt.wantExtra {
					t.Errorf("Reconcile without fix: %d missing, %d extra; want %d, %d", len(check.Missing), len(check.Extra), tt.wantMissing, tt.wantExtra)
				}
				d, err := projection.Reconcile(ctx, db, spice, true)
				if err != nil {
					t.Fatal(err)
				}
				missing, extra = len(d.Missing), len(d.Extra)
			} else {
				r, err := projection.Rebuild(ctx, db, spice)
				if err != nil {
					t.Fatal(err)
				}
				missing, extra = r.Imported, r.Deleted
			}
			if missing != tt.wantMissing || extra != tt.wantExtra {
				t.Errorf("repaired %d missing, %d extra; want %d, %d", missing, extra, tt.wantMissing, tt.wantExtra)
			}
			have, err := projection.Held(ctx, spice)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sorted(have), sorted(want)) {
				t.Errorf("SpiceDB holds %d relationships, the database implies %d; they differ", len(have), len(want))
			}
			if after, err := projection.Reconcile(ctx, db, spice, false); err != nil || len(after.Missing)+len(after.Extra) > 0 {
				t.Errorf("after: %d missing, %d extra (err %v)", len(after.Missing), len(after.Extra), err)
			}
		})
	}
}

// TestRebuildInConcurrentStreams rebuilds into an empty SpiceDB in short
// import streams, several at a time, on memstore and on SpiceDB's PostgreSQL
// datastore (with PBXPORTAL_TEST_DATABASE_URL): SpiceDB then holds exactly
// the projection.
func TestRebuildInConcurrentStreams(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t, t.TempDir())
	generate(t, db, dataset{domains: 2, sites: 2, users: 150, groups: 3, queues: 2, recordings: 400, contacts: 3, seed: 12})
	want, err := projection.All(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		postgres      bool
		size, streams int
	}{
		{"memstore, three streams of 500 at a time", false, 500, 3},
		{"postgres, two streams of 500 at a time", true, 500, 2},
		{"postgres, as app.Open sets it", true, authz.PersistentImportStreamSize, authz.PersistentImportStreams},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts embedded.Options
			if tt.postgres {
				opts.DatastoreURL = pgtest.Database(t)
			}
			spice := newSpiceDBWith(t, opts)
			spice.SetImportStreams(tt.size, tt.streams)
			if _, err := projection.Rebuild(ctx, db, spice); err != nil {
				t.Fatal(err)
			}
			have, err := projection.Held(ctx, spice)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sorted(have), sorted(want)) {
				t.Errorf("SpiceDB holds %d relationships, the database implies %d; they differ", len(have), len(want))
			}
		})
	}
}
