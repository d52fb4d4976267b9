package authz_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/depends"
	"github.com/pbxportal/pbxportal/internal/authz/embedded"
	"github.com/pbxportal/pbxportal/internal/authz/model"
)

// TestCarriedAnswersAreSpiceDBs walks random worlds of the model's
// relationships through random writes. Before each write, every lookup and
// check of every relation and permission of every type is remembered, for
// a few users; after it, the answers carried across the write (and those
// asked again) must be what a fully consistent SpiceDB read answers. The
// run fails if no answer was ever carried, or none ever dropped, so that
// it cannot pass by carrying nothing or asking nothing again. On the model,
// some lookups are answered by a LocalLookup (standing in for the
// database: it asks a fully consistent SpiceDB), so that the answers
// carried are both SpiceDB's and the database's.
func TestCarriedAnswersAreSpiceDBs(t *testing.T) {
	seeds := []uint64{1, rand.Uint64()}
	writes := 20
	if testing.Short() {
		seeds, writes = seeds[:1], 10
	}
	for _, tt := range []struct {
		name, schema string
		// acyclic relates objects of one type only from a higher id to a
		// lower one, for a model whose permissions recurse.
		acyclic bool
		// local answers the lookups of half the types locally (domains,
		// queues, groups, recordings, contacts), SpiceDB those of the others.
		local bool
	}{
		{"the model, some lookups answered locally", model.Schema, false, true},
		{"shapes the model does not use", shapes, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := compiler.Compile(compiler.InputSchema{Source: input.Source("schema"), SchemaString: tt.schema},
				compiler.AllowUnprefixedObjectType())
			if err != nil {
				t.Fatal(err)
			}
			deps, err := depends.New(tt.schema)
			if err != nil {
				t.Fatal(err)
			}
			var saved, made float64
			for _, seed := range seeds {
				s, m := carryWorld(t, tt.schema, tt.acyclic, tt.local, cs.ObjectDefinitions, deps, seed, writes)
				saved += s
				made += m
			}
			t.Logf("after writes, SpiceDB calls saved by carried answers: %v; made: %v", saved, made)
			if saved == 0 || made == 0 {
				t.Fatalf("after writes, carried answers saved %v calls and %v were made: the test must see both", saved, made)
			}
		})
	}
}

// shapes is a model with what pbxportal's does not use: subject sets,
// wildcards, exclusions, intersections, recursion, arrows to relations and
// chains of arrows. (An intersection over a recursive arrow is left out:
// the embedded SpiceDB's lookups and checks of one disagree with each other
// before any write.)
const shapes = `
definition user {
	relation self: user
}
definition group {
	relation member: user | group#member
	relation banned: user
	permission view = member - banned
}
definition folder {
	relation parent: folder
	relation viewer: user | group#member | user:*
	relation editor: user
	relation owner: user
	permission view = viewer + editor + parent->view + owner->self
	permission edit = editor & viewer
	permission every = parent->view
	permission some = parent->edit
}
definition doc {
	relation folder: folder
	relation owner: user
	relation reader: user | group#view
	relation banned: user
	permission read = (reader + owner + folder->view) - banned
	permission both = owner & folder->edit
	permission nested = folder->every + folder->some
}
`

// askable is one relation or permission asked about, of one type.
type askable struct{ typ, name string }

// carryWorld runs one random world of schema and seed through writes writes and
// returns how many SpiceDB calls (and LocalLookup answers, with local) the
// answers carried across them saved, and how many were made.
func carryWorld(t *testing.T, schema string, acyclic, local bool, defs []*core.NamespaceDefinition, deps authz.Dependencies, seed uint64, writes int) (saved, made float64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 0))
	srv, err := embedded.Start(ctx, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Close() }()
	reg := prometheus.NewRegistry()
	c, err := authz.NewClient(srv.Conn(), reg)
	if err != nil {
		t.Fatal(err)
	}
	truth, err := authz.NewClient(srv.Conn(), nil) // never writes: every read fully consistent
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteSchema(ctx, schema); err != nil {
		t.Fatal(err)
	}
	c.CarryAcrossWrites(deps)
	// Under load, answering a whole world can take longer than answers
	// are otherwise kept: what is tested is the carry, not their age.
	c.KeepAnswersUntilChanged()
	var localAnswers atomic.Int64
	if local {
		c.AnswerLocally(func(ctx context.Context, typ, perm string, subject authz.Object) ([]string, bool, error) {
			if typ == "user" || typ == "site" || typ == "platform" || typ == "number" {
				return nil, false, nil
			}
			localAnswers.Add(1)
			ids, err := truth.LookupResources(ctx, typ, perm, subject)
			return ids, true, err
		})
	}

	objects := func(typ string) []string {
		switch typ {
		case "user":
			return []string{"1", "2", "3"}
		case "platform":
			return []string{"1"}
		}
		return []string{"1", "2"}
	}
	// Every relationship the model allows between those objects.
	var possible []authz.Relationship
	var asks []askable
	for _, d := range defs {
		for _, r := range d.GetRelation() {
			if r.GetUsersetRewrite() != nil {
				asks = append(asks, askable{d.GetName(), r.GetName()})
				continue
			}
			holdsUsers := false
			for _, a := range r.GetTypeInformation().GetAllowedDirectRelations() {
				subRel := a.GetRelation()
				if subRel == "..." {
					subRel = ""
				}
				subjects := objects(a.GetNamespace())
				if a.GetPublicWildcard() != nil {
					subRel, subjects = "", []string{"*"}
				}
				holdsUsers = holdsUsers || (a.GetNamespace() == "user" && subRel == "")
				for _, res := range objects(d.GetName()) {
					for _, sub := range subjects {
						if acyclic && a.GetNamespace() == d.GetName() && sub >= res {
							continue
						}
						possible = append(possible, authz.Relationship{
							Resource: authz.Object{Type: d.GetName(), ID: res}, Relation: r.GetName(),
							Subject: authz.Object{Type: a.GetNamespace(), ID: sub}, SubjectRelation: subRel})
					}
				}
			}
			if holdsUsers {
				asks = append(asks, askable{d.GetName(), r.GetName()})
			}
		}
	}
	held := map[authz.Relationship]bool{}
	var initial []authz.Relationship
	for _, r := range possible {
		if rng.IntN(10) < 3 {
			held[r] = true
			initial = append(initial, r)
		}
	}
	if err := c.WriteRelationships(ctx, initial, nil); err != nil {
		t.Fatal(err)
	}

	lookups := func() float64 {
		return authz.Calls(t, reg, "LookupResources") + authz.Calls(t, reg, "CheckBulkPermissions") + float64(localAnswers.Load())
	}
	// answerAll asks every lookup and check at the client's newest revision
	// and compares each with the fully consistent answer; it returns how
	// many calls the client made.
	answerAll := func(step string) float64 {
		at := authz.WithRevision(ctx, c.Newest())
		before := lookups()
		for _, user := range objects("user") {
			subject := authz.Object{Type: "user", ID: user}
			b := authz.NewBatcher(at, c, subject, 0)
			var checks []authz.Check
			for _, a := range asks {
				got, err := c.LookupResources(at, a.typ, a.name, subject)
				if err != nil {
					t.Fatal(err)
				}
				want, err := truth.LookupResources(ctx, a.typ, a.name, subject)
				if err != nil {
					t.Fatal(err)
				}
				got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
				if !slices.Equal(got, want) {
					t.Fatalf("seed %d, %s: LookupResources(%s#%s, %s) = %v, SpiceDB answers %v", seed, step, a.typ, a.name, subject, got, want)
				}
				for _, id := range objects(a.typ) {
					checks = append(checks, authz.Check{Resource: authz.Object{Type: a.typ, ID: id}, Permission: a.name})
				}
			}
			tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			got, err := b.CheckMany(tctx, checks)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			want, err := truth.CheckBulk(ctx, subject, checks)
			if err != nil {
				t.Fatal(err)
			}
			for i := range checks {
				if got[i] != want[i] {
					t.Fatalf("seed %d, %s: check %s#%s for %s = %v, SpiceDB answers %v", seed, step, checks[i].Resource, checks[i].Permission, subject, got[i], want[i])
				}
			}
		}
		return lookups() - before
	}
	all := answerAll("the initial world")
	for i := range writes {
		from := c.Newest()
		hold := c.HoldAnswers(from)
		if hold == nil {
			t.Fatalf("seed %d: nothing held at the revision just answered", seed)
		}
		var touch, del []authz.Relationship
		for range 1 + rng.IntN(2) {
			r := possible[rng.IntN(len(possible))]
			if slices.Contains(touch, r) || slices.Contains(del, r) {
				continue
			}
			if held[r] {
				del = append(del, r)
			} else {
				touch = append(touch, r)
			}
			held[r] = !held[r]
		}
		if err := c.WriteRelationships(ctx, touch, del); err != nil {
			t.Fatal(err)
		}
		c.CarryAnswers(hold, c.Newest(), append(touch, del...))
		n := answerAll("after write " + strconv.Itoa(i) + " (touched " + relationships(touch) + ", deleted " + relationships(del) + ")")
		made += n
		saved += all - n
	}
	return saved, made
}

func relationships(rels []authz.Relationship) string {
	s := ""
	for _, r := range rels {
		s += r.String() + " "
	}
	return s
}
