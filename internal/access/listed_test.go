package access

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/embedded"
	"github.com/pbxportal/pbxportal/internal/authz/model"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
)

// TestListedSettlesOnlyTheNodesOwnVisibility: a root page's nodes passed
// their list's filter, so each node's visibility (recording#replay,
// user#view) is answered without SpiceDB or SQL; any other permission, and
// any object not on the page, is left to be asked.
func TestListedSettlesOnlyTheNodesOwnVisibility(t *testing.T) {
	ctx := context.Background()
	srv, err := embedded.Start(ctx, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	reg := prometheus.NewRegistry()
	spice, err := authz.NewClient(srv.Conn(), reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := spice.WriteSchema(ctx, model.Schema); err != nil {
		t.Fatal(err)
	}
	rctx := authz.WithRevision(ctx, spice.Newest())
	viewer := &ent.User{ID: 1}
	v := Viewer{User: viewer, Checks: authz.NewBatcher(rctx, spice, projection.Obj(projection.TypeUser, viewer.ID), time.Millisecond)}

	rec, usr := projection.Obj(projection.TypeRecording, 5), projection.Obj(projection.TypeUser, 7)
	check := func(o authz.Object, perm string) authz.Check { return authz.Check{Resource: o, Permission: perm} }
	nodes := []any{&ent.Recording{ID: 5}, &ent.User{ID: 7}}
	own := []authz.Check{check(rec, "replay"), check(usr, "view")}
	others := []authz.Check{
		check(rec, "download"), check(usr, "view_private"),
		check(projection.Obj(projection.TypeRecording, 6), "replay"), // not on the page
		check(projection.Obj(projection.TypeUser, 5), "view"),        // a user with a node's id
	}
	rest := v.Listed(nodes, append(append([]authz.Check{}, own...), others...))
	if !slices.Equal(rest, others) {
		t.Errorf("left to ask %v, want %v", rest, others)
	}
	// SpiceDB holds no relationship: it would deny every check.
	allowed, err := v.Checks.CheckMany(rctx, own)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(allowed, []bool{true, true}) {
		t.Errorf("the page's own visibility checks answered %v, want allowed", allowed)
	}
	denied, err := v.Checks.CheckMany(rctx, others)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(denied, true) {
		t.Errorf("checks the page does not answer were allowed: %v", denied)
	}
}
