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

// TestBatchersShareChecksAtOneRevision: a check answered by SpiceDB or by a
// decider for one request is answered from memory for the next request at
// the same revision, without SpiceDB or the decider; a request at a newer
// revision asks again and sees the write; a request without a revision
// always asks.
func TestBatchersShareChecksAtOneRevision(t *testing.T) {
	c, reg := newEmbeddedClient(t)
	ctx := context.Background()
	if err := c.WriteRelationships(ctx, portalAccess(1, 3), nil); err != nil {
		t.Fatal(err)
	}
	at1 := WithRevision(ctx, c.Newest())
	viewer := Object{Type: "user", ID: "1"}
	own := Check{Resource: viewer, Permission: "log_in"}
	other := Check{Resource: Object{Type: "user", ID: "2"}, Permission: "log_in"}
	decided := Check{Resource: Object{Type: "user", ID: "7"}, Permission: "view"}
	asked := func() float64 { return calls(t, reg, "CheckBulkPermissions") }
	decisions := 0
	decider := allowingDecider(&decisions)
	check := func(b *Batcher, want []bool) {
		t.Helper()
		got, err := b.CheckMany(ctx, []Check{own, other})
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("CheckMany = %v, %v; want %v", got, err, want)
		}
	}

	n := asked()
	first := NewBatcher(at1, c, viewer, time.Millisecond)
	check(first, []bool{true, false})
	if rest := first.Decide(ctx, []Check{decided}, decider); len(rest) != 0 || decisions != 1 {
		t.Fatalf("the first request's decider left %v after %d decisions, want none after 1", rest, decisions)
	}
	second := NewBatcher(at1, c, viewer, time.Millisecond)
	check(second, []bool{true, false})
	if rest := second.Decide(ctx, []Check{decided}, decider); len(rest) != 0 || decisions != 1 {
		t.Fatalf("the second request's decider left %v after %d decisions, want none after 1", rest, decisions)
	}
	if ok, err := second.Check(ctx, decided.Resource, decided.Permission); err != nil || !ok {
		t.Fatalf("the remembered decision answered %v, %v; want true", ok, err)
	}
	if got := asked() - n; got != 1 {
		t.Fatalf("two requests at one revision made %v CheckBulkPermissions calls, want 1", got)
	}

	// Another subject is asked for.
	if _, err := NewBatcher(at1, c, Object{Type: "user", ID: "2"}, time.Millisecond).CheckMany(ctx, []Check{own}); err != nil {
		t.Fatal(err)
	}
	if got := asked() - n; got != 2 {
		t.Fatalf("another subject's check made %v calls in all, want 2", got)
	}

	// A revocation: the next request carries its token and sees it.
	if err := c.WriteRelationships(ctx, nil, portalAccess(1, 2)); err != nil {
		t.Fatal(err)
	}
	check(NewBatcher(WithRevision(ctx, c.Newest()), c, viewer, time.Millisecond), []bool{false, false})
	if got := asked() - n; got != 3 {
		t.Fatalf("after a write, %v calls in all, want 3", got)
	}

	// Without a request revision, every request asks.
	check(NewBatcher(ctx, c, viewer, time.Millisecond), []bool{false, false})
	check(NewBatcher(ctx, c, viewer, time.Millisecond), []bool{false, false})
	if got := asked() - n; got != 5 {
		t.Fatalf("two requests without a revision: %v calls in all, want 5", got)
	}
}

// allowingDecider decides every check, allowed, counting them in decisions.
func allowingDecider(decisions *int) Decider {
	return func(_ context.Context, checks []Check) ([]bool, []bool, error) {
		*decisions += len(checks)
		out := make([]bool, len(checks))
		for i := range out {
			out[i] = true
		}
		return out, out, nil
	}
}
