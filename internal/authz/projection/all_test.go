package projection_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
	"github.com/pbxportal/pbxportal/internal/demo"
)

// entities names every projected entity of the database, one query per table.
func entities(t *testing.T, c *ent.Client) []authz.Object {
	t.Helper()
	ctx := context.Background()
	var objs []authz.Object
	for _, tt := range []struct {
		typ string
		ids func() ([]int, error)
	}{
		{projection.TypeDomain, func() ([]int, error) { return c.Domain.Query().IDs(ctx) }},
		{projection.TypeSite, func() ([]int, error) { return c.Site.Query().IDs(ctx) }},
		{projection.TypeUser, func() ([]int, error) { return c.User.Query().IDs(ctx) }},
		{projection.TypeQueue, func() ([]int, error) { return c.CallQueue.Query().IDs(ctx) }},
		{projection.TypeGroup, func() ([]int, error) { return c.Group.Query().IDs(ctx) }},
		{projection.TypeRecording, func() ([]int, error) { return c.Recording.Query().IDs(ctx) }},
		{projection.TypeContact, func() ([]int, error) { return c.Contact.Query().IDs(ctx) }},
	} {
		ids, err := tt.ids()
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			objs = append(objs, projection.Obj(tt.typ, id))
		}
	}
	return objs
}

// worlds are the databases the projection's tests run on: the demo
// company, and a generated one that takes every branch of the emitters.
func worlds() []struct {
	name string
	fill func(t *testing.T, c *ent.Client)
} {
	return []struct {
		name string
		fill func(t *testing.T, c *ent.Client)
	}{
		{"demo", func(t *testing.T, c *ent.Client) {
			if err := demo.Load(context.Background(), c, t.TempDir()); err != nil {
				t.Fatal(err)
			}
		}},
		{"generated", func(t *testing.T, c *ent.Client) {
			generate(t, c, dataset{domains: 3, sites: 3, users: 120, groups: 4, queues: 3, recordings: 300, contacts: 5, seed: 7})
		}},
	}
}

// inEachWorld runs test on a database filled with each of worlds.
func inEachWorld(t *testing.T, test func(t *testing.T, ctx context.Context, c *ent.Client)) {
	for _, w := range worlds() {
		t.Run(w.name, func(t *testing.T) {
			c := openSQLite(t, t.TempDir())
			w.fill(t, c)
			test(t, context.Background(), c)
		})
	}
}

// TestRowRelationsAreTheirSubjectsRows: the relationships of the
// RowRelations in the whole projection are exactly those that RowResources
// reads from each user's row and memberships, so that no other entity (a
// domain, a group) writes one, and a lookup of them may read the subject's
// own rows alone.
func TestRowRelationsAreTheirSubjectsRows(t *testing.T) {
	inEachWorld(t, func(t *testing.T, ctx context.Context, c *ent.Client) {
		row := projection.RowRelations()
		all, err := projection.All(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, r := range all {
			if slices.Contains(row, r.Resource.Type+"#"+r.Relation) {
				want = append(want, r.String())
			}
		}
		users, err := c.User.Query().IDs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, id := range users {
			held, err := projection.RowResources(ctx, c, id)
			if err != nil {
				t.Fatal(err)
			}
			for k, ids := range held {
				typ, rel, _ := strings.Cut(k, "#")
				for _, res := range ids {
					got = append(got, authz.Relationship{Resource: authz.Object{Type: typ, ID: res}, Relation: rel,
						Subject: projection.Obj(projection.TypeUser, id)}.String())
				}
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("the users' rows hold %d relationships of %v, the projection %d; they differ", len(got), row, len(want))
		}
		if len(want) < len(users) {
			t.Errorf("only %d relationships of %v for %d users: is every branch taken?", len(want), row, len(users))
		}
	})
}

// TestAllIsTheUnionOfEmit: the paged, eager-loading All emits exactly what
// Emit, the mutation hook's per-entity path, emits for each entity, and no
// relationship has two owners (the hook's diffs rely on it), whatever the
// page size.
func TestAllIsTheUnionOfEmit(t *testing.T) {
	inEachWorld(t, func(t *testing.T, ctx context.Context, c *ent.Client) {
		owner := map[authz.Relationship]authz.Object{}
		var union []authz.Relationship
		objs := entities(t, c)
		for _, o := range objs {
			rels, err := projection.Emit(ctx, c, o)
			if err != nil {
				t.Fatal(err)
			}
			if len(rels) == 0 {
				t.Errorf("%s emits nothing", o)
			}
			for _, r := range rels {
				if prev, ok := owner[r]; ok {
					t.Errorf("%s is emitted by %s and by %s", r, prev, o)
				}
				owner[r] = o
			}
			union = append(union, rels...)
		}
		all, err := projection.All(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		sort := func(rels []authz.Relationship) []string {
			out := make([]string, len(rels))
			for i, r := range rels {
				out[i] = r.String()
			}
			slices.Sort(out)
			return out
		}
		want := sort(union)
		if got := sort(all); !slices.Equal(got, want) {
			t.Errorf("All has %d relationships, the union of Emit over %d entities %d; they differ", len(got), len(objs), len(want))
		}
		for _, size := range []int{1, 7, 100} {
			var paged []authz.Relationship
			pages := 0
			if err := projection.Walk(ctx, c, size, func(rels []authz.Relationship) error {
				pages++
				paged = append(paged, rels...)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if got := sort(paged); !slices.Equal(got, want) {
				t.Errorf("Walk in pages of %d rows differs from the union of Emit", size)
			}
			if size == 1 && pages < len(objs) {
				t.Errorf("Walk in pages of 1 row made %d pages for %d entities", pages, len(objs))
			}
		}
	})
}

// TestUserRowIsReadOncePerRequest: within a request (authz.WithRevision)
// every reader of a user's row gets the one read, which authentication
// makes first, and RowResources answers from it what it answers from a
// fresh read; outside a request, each reads anew.
func TestUserRowIsReadOncePerRequest(t *testing.T) {
	inEachWorld(t, func(t *testing.T, ctx context.Context, c *ent.Client) {
		ids, err := c.User.Query().IDs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			req := authz.WithRevision(ctx, "")
			first, err := projection.UserRow(req, c, id)
			if err != nil {
				t.Fatal(err)
			}
			if again, _ := projection.UserRow(req, c, id); again != first {
				t.Errorf("user %d: a request read its row twice", id)
			}
			if other, _ := projection.UserRow(ctx, c, id); other == first {
				t.Errorf("user %d: outside a request, its row was not read anew", id)
			}
			shared, err := projection.RowResources(req, c, id)
			if err != nil {
				t.Fatal(err)
			}
			fresh, err := projection.RowResources(ctx, c, id)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.EqualFunc(shared, fresh, slices.Equal) {
				t.Errorf("user %d: from the request's row %v, from a fresh read %v", id, shared, fresh)
			}
			if len(first.Edges.Groups)+len(first.Edges.SupervisedQueues)+len(first.Edges.AgentMemberships)+len(first.Edges.ReplayGroups) > 0 {
				t.Errorf("user %d: RowResources set the edges of the request's shared row", id)
			}
		}
		if _, err := projection.UserRow(authz.WithRevision(ctx, ""), c, -1); !ent.IsNotFound(err) {
			t.Errorf("a user that does not exist: %v, want not found", err)
		}
	})
}
