package authz

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestBatcherAsksEachLookupOnce: concurrent and repeated lookups of one
// request make one LookupResources call per (type, permission), and every
// asker gets its answer.
func TestBatcherAsksEachLookupOnce(t *testing.T) {
	c, reg := newEmbeddedClient(t)
	ctx := context.Background()
	if err := c.WriteRelationships(ctx, portalAccess(1, 4), nil); err != nil {
		t.Fatal(err)
	}
	b := NewBatcher(ctx, c, Object{Type: "user", ID: "2"}, time.Millisecond)
	if _, ok := b.LookedUp("user", "log_in"); ok {
		t.Fatal("LookedUp before any lookup")
	}
	before := calls(t, reg, "LookupResources")
	var wg sync.WaitGroup
	answers := make([][]string, 8)
	for i := range answers {
		wg.Go(func() {
			ids, err := b.LookupResources(ctx, "user", "log_in")
			if err != nil {
				t.Error(err)
			}
			answers[i] = ids
		})
	}
	wg.Wait()
	if _, err := b.LookupResources(ctx, "domain", "view"); err != nil {
		t.Fatal(err)
	}
	if n := calls(t, reg, "LookupResources") - before; n != 2 {
		t.Errorf("%v LookupResources calls for 9 lookups of 2 kinds, want 2", n)
	}
	for i, ids := range answers {
		if !slices.Equal(ids, []string{"2"}) {
			t.Errorf("asker %d got %v, want [2]", i, ids)
		}
	}
	if ids, ok := b.LookedUp("user", "log_in"); !ok || !slices.Equal(ids, []string{"2"}) {
		t.Errorf("LookedUp = %v, %v; want [2], true", ids, ok)
	}
}

// TestBatcherDecide: what the decider answers is remembered and never sent
// to SpiceDB; the rest is returned for SpiceDB; a failing decider leaves
// everything to SpiceDB.
func TestBatcherDecide(t *testing.T) {
	c, reg := newEmbeddedClient(t)
	ctx := context.Background()
	b := NewBatcher(ctx, c, Object{Type: "user", ID: "1"}, time.Millisecond)
	yes := Check{Resource: Object{Type: "user", ID: "7"}, Permission: "view"}
	no := Check{Resource: Object{Type: "user", ID: "8"}, Permission: "view"}
	other := Check{Resource: Object{Type: "user", ID: "9"}, Permission: "edit"}
	decider := func(_ context.Context, checks []Check) ([]bool, []bool, error) {
		decided, allowed := make([]bool, len(checks)), make([]bool, len(checks))
		for i, ch := range checks {
			decided[i] = ch.Permission == "view"
			allowed[i] = ch == yes
		}
		return decided, allowed, nil
	}
	rest := b.Decide(ctx, []Check{yes, no, other, yes}, decider)
	if !slices.Equal(rest, []Check{other}) {
		t.Errorf("left for SpiceDB: %v, want [%v]", rest, other)
	}
	before := calls(t, reg, "CheckBulkPermissions")
	got, err := b.CheckMany(ctx, []Check{yes, no})
	if err != nil || !slices.Equal(got, []bool{true, false}) {
		t.Errorf("CheckMany = %v, %v; want the decider's [true false]", got, err)
	}
	if n := calls(t, reg, "CheckBulkPermissions") - before; n != 0 {
		t.Errorf("%v CheckBulkPermissions calls for decided checks, want 0", n)
	}
	failing := func(context.Context, []Check) ([]bool, []bool, error) { return nil, nil, context.Canceled }
	if rest := b.Decide(ctx, []Check{other}, failing); !slices.Equal(rest, []Check{other}) {
		t.Errorf("with a failing decider, left for SpiceDB: %v, want [%v]", rest, other)
	}
}
