package access

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	_ "modernc.org/sqlite"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/predicate"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/embedded"
	"github.com/pbxportal/pbxportal/internal/authz/model"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
)

// TestOnlyTheListsOwnFilterSplitsItsCount: a count is split into parts by
// the list's own filter only, whatever order the query's predicates are
// built in. A where filter through an edge (has<Edge>With, restricted to
// what the viewer may see) that claimed the count would count a row once
// for each part its neighbours fall in: here a queue whose two supervisors
// are one in the viewer's managed domain and one in a site of another
// domain that it manages, which the users filter counts in two parts.
func TestOnlyTheListsOwnFilterSplitsItsCount(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "count.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	client := ent.NewClient(ent.Driver(entsql.OpenDB(dialect.SQLite, db)))
	if err := client.Schema.Create(ctx); err != nil {
		t.Fatal(err)
	}
	client.Intercept(CountByParts())

	d1 := client.Domain.Create().SetName("one.example").SaveX(ctx)
	d2 := client.Domain.Create().SetName("two.example").SaveX(ctx)
	s1 := client.Site.Create().SetDomainID(d1.ID).SetName("s1").SaveX(ctx)
	s2 := client.Site.Create().SetDomainID(d2.ID).SetName("s2").SaveX(ctx)
	newUser := func(name string, domainID, siteID int) *ent.User {
		return client.User.Create().SetDomainID(domainID).SetSiteID(siteID).SetUsername(name).
			SetDisplayName(name).SetExtension("100").SetPasswordHash("x").SaveX(ctx)
	}
	viewer := newUser("viewer", d1.ID, s1.ID)
	u1 := newUser("u1", d1.ID, s1.ID)
	u2 := newUser("u2", d2.ID, s2.ID)
	q := client.CallQueue.Create().SetDomainID(d1.ID).SetName("q").SetExtension("200").
		AddSupervisors(u1, u2).SaveX(ctx)

	srv, err := embedded.Start(ctx, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	spice, err := authz.NewClient(srv.Conn(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := spice.WriteSchema(ctx, model.Schema); err != nil {
		t.Fatal(err)
	}
	obj := projection.Obj
	rel := func(res authz.Object, relation string, sub authz.Object) authz.Relationship {
		return authz.Relationship{Resource: res, Relation: relation, Subject: sub}
	}
	if err := spice.WriteRelationships(ctx, []authz.Relationship{
		// The viewer manages domain one, and site s2 of domain two.
		rel(obj(projection.TypeDomain, d1.ID), "office_manager", obj(projection.TypeUser, viewer.ID)),
		rel(obj(projection.TypeSite, s1.ID), "domain", obj(projection.TypeDomain, d1.ID)),
		rel(obj(projection.TypeSite, s2.ID), "domain", obj(projection.TypeDomain, d2.ID)),
		rel(obj(projection.TypeSite, s2.ID), "site_manager", obj(projection.TypeUser, viewer.ID)),
		rel(obj(projection.TypeQueue, q.ID), "domain", obj(projection.TypeDomain, d1.ID)),
	}, nil); err != nil {
		t.Fatal(err)
	}
	lists, err := NewLists()
	if err != nil {
		t.Fatal(err)
	}
	newViewer := func() (Viewer, context.Context) {
		rctx := authz.WithRevision(ctx, spice.Newest())
		b := authz.NewBatcher(rctx, spice, obj(projection.TypeUser, viewer.ID), time.Millisecond)
		return Viewer{User: viewer, Checks: b, Lists: lists}, rctx
	}

	tests := []struct {
		name        string
		nestedFirst bool
	}{
		{"list filter first", false},
		{"where filter first", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, rctx := newViewer()
			where := &ent.CallQueueWhereInput{HasSupervisorsWith: []*ent.UserWhereInput{{}}}
			if err := v.RestrictWhere(rctx, where); err != nil {
				t.Fatal(err)
			}
			nested, err := where.P()
			if err != nil {
				t.Fatal(err)
			}
			visible, err := v.CallQueues(rctx)
			if err != nil {
				t.Fatal(err)
			}
			preds := []predicate.CallQueue{visible, nested}
			if tt.nestedFirst {
				preds = []predicate.CallQueue{nested, visible}
			}
			ids, err := client.CallQueue.Query().Where(preds...).IDs(rctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != 1 {
				t.Fatalf("the query finds %v, want queue %d alone", ids, q.ID)
			}
			n, err := client.CallQueue.Query().Where(preds...).Count(rctx)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(ids) {
				t.Errorf("count %d, want %d (the rows the query finds)", n, len(ids))
			}
		})
	}
}
