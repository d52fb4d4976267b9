package authz

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pbxportal/pbxportal/internal/authz/embedded"
	"github.com/pbxportal/pbxportal/internal/authz/model"
)

// TestLookupsRememberedAtTheirRevision: a lookup at a request revision is
// asked of SpiceDB once per subject, type and permission while the revision
// stands; a write makes a new revision whose reads see it, whether it was
// written by this client or by another replica's; reads without a request
// revision are never answered from memory.
func TestLookupsRememberedAtTheirRevision(t *testing.T) {
	ctx := context.Background()
	srv, err := embedded.Start(ctx, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	// c serves the requests; other writes to the same SpiceDB as another
	// replica would: its writes reach c only through the tokens they make.
	reg := prometheus.NewRegistry()
	c, err := NewClient(srv.Conn(), reg)
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewClient(srv.Conn(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteSchema(ctx, model.Schema); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteRelationships(ctx, portalAccess(1, 3), nil); err != nil {
		t.Fatal(err)
	}
	asked := func() float64 { return calls(t, reg, "LookupResources") }
	at1 := WithRevision(ctx, c.Newest())

	n := asked()
	first, again := lookup(t, c, at1, 1), lookup(t, c, at1, 1)
	if !slices.Equal(first, []string{"1"}) || !slices.Equal(again, first) {
		t.Fatalf("lookups at one revision answered %v, then %v; want [1] twice", first, again)
	}
	if got := asked() - n; got != 1 {
		t.Fatalf("two lookups at one revision made %v calls, want 1", got)
	}
	if got := lookup(t, c, at1, 2); !slices.Equal(got, []string{"2"}) || asked()-n != 2 {
		t.Fatalf("another subject answered %v after %v calls; want [2] after 2", got, asked()-n)
	}

	// Another replica gives user 3 portal access: its token is newer, and
	// a read at it sees the grant.
	n = asked()
	if err := other.WriteRelationships(ctx, portalAccess(3, 4), nil); err != nil {
		t.Fatal(err)
	}
	at2 := WithRevision(ctx, other.Newest())
	if got := lookup(t, c, at2, 3); !slices.Equal(got, []string{"3"}) || asked()-n != 1 {
		t.Fatalf("after another replica's write, the lookup at its revision answered %v after %v calls; want [3] from SpiceDB", got, asked()-n)
	}
	// At the old revision, user 3 was remembered by nobody: asked.
	lookup(t, c, at1, 3)
	if asked()-n != 2 {
		t.Fatalf("a lookup never made at the old revision made %v calls in all, want 2", asked()-n)
	}

	// A write through c forgets everything, even at the old revision.
	if err := c.WriteRelationships(ctx, nil, portalAccess(1, 2)); err != nil {
		t.Fatal(err)
	}
	n = asked()
	if got := lookup(t, c, WithRevision(ctx, c.Newest()), 1); len(got) != 0 {
		t.Fatalf("after revoking, the lookup answered %v, want nothing", got)
	}
	lookup(t, c, at1, 2)
	if asked()-n != 2 {
		t.Fatalf("after a write through the client, two lookups made %v calls, want 2", asked()-n)
	}

	// Reads without a request revision, or that cannot settle, are never
	// answered from memory.
	n = asked()
	lookup(t, c, ctx, 2)
	lookup(t, c, ctx, 2)
	if asked()-n != 2 {
		t.Fatalf("two lookups without a request revision made %v calls, want 2", asked()-n)
	}
	cause := errors.New("outbox stuck")
	if _, err := c.LookupResources(WithUnsettled(ctx, cause), "user", "log_in", Object{Type: "user", ID: "2"}); !errors.Is(err, ErrUnsettled) {
		t.Fatalf("an unsettled lookup answered err %v, want ErrUnsettled", err)
	}
}

// lookup asks c for the users on which user id may log in, at ctx's revision.
func lookup(t *testing.T, c *Client, ctx context.Context, id int) []string {
	t.Helper()
	ids, err := c.LookupResources(ctx, "user", "log_in", Object{Type: "user", ID: strconv.Itoa(id)})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestAnswerCacheBounds: the cache keeps at most answerCacheRevisions
// revisions and answerCacheCost units, dropping the oldest revisions first;
// an answer at the oldest revision held never evicts a newer one; lookups
// too large are not kept, and neither are answers without a revision or
// asked before the last clear.
func TestAnswerCacheBounds(t *testing.T) {
	k := func(i int) lookupKey {
		return lookupKey{subject: Object{Type: "user", ID: strconv.Itoa(i)}, resourceType: "site", perm: "reach"}
	}
	put := func(c *answerCache, token string, k lookupKey, ids []string) { c.putLookup(c.now(), token, k, ids) }
	big := make([]string, answerCacheMaxLookup)
	fill := func(c *answerCache, token string) {
		for i := 2; c.cost+len(big)+1 <= answerCacheCost; i++ {
			put(c, token, k(i), big)
		}
	}
	tests := []struct {
		name  string
		fill  func(c *answerCache)
		token string
		key   lookupKey
		want  bool
	}{
		{"kept", func(c *answerCache) { put(c, "r1", k(1), []string{"7"}) }, "r1", k(1), true},
		{"other revision", func(c *answerCache) { put(c, "r1", k(1), []string{"7"}) }, "r2", k(1), false},
		{"other subject", func(c *answerCache) { put(c, "r1", k(1), []string{"7"}) }, "r1", k(2), false},
		{"no revision", func(c *answerCache) { put(c, "", k(1), []string{"7"}) }, "", k(1), false},
		{"empty answer kept", func(c *answerCache) { put(c, "r1", k(1), nil) }, "r1", k(1), true},
		{"too large", func(c *answerCache) { put(c, "r1", k(1), make([]string, answerCacheMaxLookup+1)) }, "r1", k(1), false},
		{"oldest revision dropped", func(c *answerCache) {
			for r := range answerCacheRevisions + 1 {
				put(c, "r"+strconv.Itoa(r), k(1), nil)
			}
		}, "r0", k(1), false},
		{"newest revisions kept", func(c *answerCache) {
			for r := range answerCacheRevisions + 1 {
				put(c, "r"+strconv.Itoa(r), k(1), nil)
			}
		}, "r1", k(1), true},
		{"cost drops the oldest revision", func(c *answerCache) {
			put(c, "r1", k(1), big)
			fill(c, "r2")
			put(c, "r2", k(0), big)
		}, "r1", k(1), false},
		{"an old revision does not evict a newer one", func(c *answerCache) {
			put(c, "r1", k(1), nil)
			fill(c, "r2")
			put(c, "r1", k(0), big)
		}, "r2", k(2), true},
		{"a full revision alone takes no more", func(c *answerCache) {
			fill(c, "r1")
			put(c, "r1", k(0), big)
		}, "r1", k(0), false},
		{"cleared", func(c *answerCache) { put(c, "r1", k(1), nil); c.clear() }, "r1", k(1), false},
		{"too old", func(c *answerCache) {
			put(c, "r1", k(1), nil)
			c.revisions[0].since = time.Now().Add(-answerCacheMaxAge - time.Second)
		}, "r1", k(1), false},
		{"old, kept until changed", func(c *answerCache) {
			c.ageless = true
			put(c, "r1", k(1), nil)
			c.revisions[0].since = time.Now().Add(-answerCacheMaxAge - time.Hour)
		}, "r1", k(1), true},
		{"asked before a clear", func(c *answerCache) {
			epoch := c.now()
			c.clear()
			c.putLookup(epoch, "r1", k(1), nil)
		}, "r1", k(1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c answerCache
			tt.fill(&c)
			if _, ok := c.lookup(tt.token, tt.key); ok != tt.want {
				t.Errorf("remembered = %v, want %v", ok, tt.want)
			}
			if len(c.revisions) > answerCacheRevisions || c.cost > answerCacheCost {
				t.Errorf("holds %d revisions, cost %d: over the bounds", len(c.revisions), c.cost)
			}
			sum := 0
			for _, r := range c.revisions {
				sum += r.cost
			}
			if sum != c.cost {
				t.Errorf("cost %d, revisions add up to %d", c.cost, sum)
			}
		})
	}
}

// TestCarryKeepsTheBounds: answers carried to a new revision keep the time
// they were first remembered, leave the answers already remembered there as
// they are, and stay within the cache's bounds.
func TestCarryKeepsTheBounds(t *testing.T) {
	k := func(i int) lookupKey {
		return lookupKey{subject: Object{Type: "user", ID: strconv.Itoa(i)}, resourceType: "site", perm: "reach"}
	}
	keepAll := func(permissionKey) changed { return changed{} }
	tests := []struct {
		name  string
		run   func(c *answerCache)
		key   lookupKey
		want  []string // nil: not remembered at r2
		check func(t *testing.T, c *answerCache)
	}{
		{"carried", func(c *answerCache) {
			c.putLookup(c.now(), "r1", k(1), []string{"7"})
			c.carry(c.at("r1"), "r2", keepAll)
		}, k(1), []string{"7"}, nil},
		{"not kept", func(c *answerCache) {
			c.putLookup(c.now(), "r1", k(1), []string{"7"})
			c.carry(c.at("r1"), "r2", func(permissionKey) changed { return changed{anyone: true} })
		}, k(1), nil, nil},
		{"its subject's dropped", func(c *answerCache) {
			c.putLookup(c.now(), "r1", k(1), []string{"7"})
			c.putLookup(c.now(), "r1", k(2), []string{"7"})
			c.carry(c.at("r1"), "r2", func(permissionKey) changed { return changed{subjects: map[Object]bool{k(1).subject: true}} })
		}, k(1), nil, func(t *testing.T, c *answerCache) {
			if _, ok := c.lookup("r2", k(2)); !ok {
				t.Error("another subject's answer was not carried")
			}
			if _, ok := c.lookup("r1", k(2)); ok {
				t.Error("the carried answer is still remembered at the old revision")
			}
		}},
		{"merged with the answers at the new revision", func(c *answerCache) {
			c.putLookup(c.now(), "r1", k(1), []string{"7"})
			c.putLookup(c.now(), "r1", k(2), []string{"7"})
			c.putLookup(c.now(), "r2", k(1), []string{"8"})
			c.putChecks(c.now(), "r2", k(3).subject, []Check{{Resource: Object{Type: "site", ID: "1"}, Permission: "reach"}}, []bool{true})
			c.carry(c.at("r1"), "r2", keepAll)
		}, k(2), []string{"7"}, func(t *testing.T, c *answerCache) {
			if _, ok := c.lookup("r2", k(1)); !ok {
				t.Error("an answer both held and remembered at the new revision was lost")
			}
			if known, _ := c.checks("r2", k(3).subject, []Check{{Resource: Object{Type: "site", ID: "1"}, Permission: "reach"}}); !known[0] {
				t.Error("a check at the new revision was lost in the merge")
			}
		}},
		{"as old as when first remembered", func(c *answerCache) {
			c.putLookup(c.now(), "r1", k(1), []string{"7"})
			c.revisions[0].since = time.Now().Add(-answerCacheMaxAge - time.Second)
			held := c.revisions[0]
			c.carry(held, "r2", keepAll)
		}, k(1), nil, nil},
		{"within the cost", func(c *answerCache) {
			big := make([]string, answerCacheMaxLookup)
			for i := 0; c.cost+len(big)+1 <= answerCacheCost; i++ {
				c.putLookup(c.now(), "r1", k(i), big)
			}
			c.carry(c.at("r1"), "r2", keepAll)
		}, k(0), make([]string, answerCacheMaxLookup), func(t *testing.T, c *answerCache) {
			if c.cost > answerCacheCost || len(c.revisions) != 1 {
				t.Errorf("cost %d in %d revisions: want at most %d, in the new one alone", c.cost, len(c.revisions), answerCacheCost)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c answerCache
			tt.run(&c)
			got, ok := c.lookup("r2", tt.key)
			if ok != (tt.want != nil) || !slices.Equal(got, tt.want) {
				t.Errorf("at r2: %v (remembered %v), want %v", got, ok, tt.want)
			}
			if tt.check != nil {
				tt.check(t, &c)
			}
			sum := 0
			for _, r := range c.revisions {
				if n := recount(r); n != r.cost {
					t.Errorf("revision %s holds answers costing %d, counts %d", r.token, n, r.cost)
				}
				sum += r.cost
			}
			if sum != c.cost {
				t.Errorf("cost %d, revisions add up to %d", c.cost, sum)
			}
		})
	}
}

// recount is what r's answers cost.
func recount(r *revisionAnswers) int {
	n := 0
	for _, bySubject := range r.lookups {
		for _, ids := range bySubject {
			n += 1 + len(ids)
		}
	}
	for _, bySubject := range r.checks {
		for _, byResource := range bySubject {
			n += len(byResource)
		}
	}
	return n
}

// TestDatabaseAnswersDoNotAge: past answerCacheMaxAge, a lookup the
// LocalLookup answered is still remembered at its revision, where SpiceDB's
// answer to another is asked again; a write through the client forgets
// both.
func TestDatabaseAnswersDoNotAge(t *testing.T) {
	ctx := context.Background()
	c, reg := newEmbeddedClient(t)
	if err := c.WriteRelationships(ctx, portalAccess(1, 3), nil); err != nil {
		t.Fatal(err)
	}
	var local int
	c.AnswerLocally(func(_ context.Context, typ, perm string, subject Object) ([]string, bool, error) {
		if typ != "domain" || perm != "member" {
			return nil, false, nil
		}
		local++
		return []string{"9"}, true, nil
	})
	at := WithRevision(ctx, c.Newest())
	member := func() []string {
		t.Helper()
		ids, err := c.LookupResources(at, "domain", "member", Object{Type: "user", ID: "1"})
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	tests := []struct {
		name            string
		before          func()
		wantLocal       int     // LocalLookup calls for two lookups of domain#member
		wantSpiceDBCall float64 // SpiceDB calls for two lookups of user#log_in
	}{
		{"fresh", func() {}, 0, 0},
		{"older than answerCacheMaxAge", func() { ageAnswers(c) }, 0, 1},
		{"after a write through the client", func() {
			if err := c.WriteRelationships(ctx, portalAccess(5, 6), nil); err != nil {
				t.Fatal(err)
			}
			at = WithRevision(ctx, c.Newest())
		}, 1, 1},
	}
	member()
	lookup(t, c, at, 1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.before()
			localBefore, spiceBefore := local, calls(t, reg, "LookupResources")
			if got := member(); !slices.Equal(got, []string{"9"}) || !slices.Equal(member(), got) {
				t.Fatalf("domain#member answered %v, want [9]", got)
			}
			if got := lookup(t, c, at, 1); !slices.Equal(got, []string{"1"}) || !slices.Equal(lookup(t, c, at, 1), got) {
				t.Fatalf("user#log_in answered %v, want [1]", got)
			}
			if got := local - localBefore; got != tt.wantLocal {
				t.Errorf("the database answered %d lookups, want %d", got, tt.wantLocal)
			}
			if got := calls(t, reg, "LookupResources") - spiceBefore; got != tt.wantSpiceDBCall {
				t.Errorf("SpiceDB answered %v lookups, want %v", got, tt.wantSpiceDBCall)
			}
		})
	}
}

// TestDecidedChecksAgeWithTheirLookups: checks a request decided from its
// lookups (Batcher.Decide) are the database's answers when every lookup the
// request made was, and then outlive answerCacheMaxAge with them; decided
// after a lookup SpiceDB answered, they age like SpiceDB's.
func TestDecidedChecksAgeWithTheirLookups(t *testing.T) {
	tests := []struct {
		name          string
		lookups       [][2]string // the request's lookups before deciding
		wantDecisions int         // by the second request, after the pause
	}{
		{"every lookup the database's", [][2]string{{"domain", "member"}}, 0},
		{"one lookup SpiceDB's", [][2]string{{"domain", "member"}, {"user", "log_in"}}, 1},
		{"no lookup", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c, _ := newEmbeddedClient(t)
			if err := c.WriteRelationships(ctx, portalAccess(1, 3), nil); err != nil {
				t.Fatal(err)
			}
			c.AnswerLocally(func(_ context.Context, typ, perm string, _ Object) ([]string, bool, error) {
				return []string{"9"}, typ == "domain" && perm == "member", nil
			})
			at := WithRevision(ctx, c.Newest())
			viewer := Object{Type: "user", ID: "1"}
			decided := Check{Resource: Object{Type: "user", ID: "7"}, Permission: "view"}
			decisions := 0
			decider := allowingDecider(&decisions)
			request := func() {
				t.Helper()
				b := NewBatcher(at, c, viewer, time.Millisecond)
				for _, l := range tt.lookups {
					if _, err := b.LookupResources(at, l[0], l[1]); err != nil {
						t.Fatal(err)
					}
				}
				if rest := b.Decide(ctx, []Check{decided}, decider); len(rest) != 0 {
					t.Fatalf("the decider left %v", rest)
				}
			}
			request()
			ageAnswers(c)
			decisions = 0
			request()
			if decisions != tt.wantDecisions {
				t.Fatalf("after a pause, the request decided %d checks again, want %d", decisions, tt.wantDecisions)
			}
		})
	}
}

// ageAnswers ages every answer c remembers past answerCacheMaxAge.
func ageAnswers(c *Client) {
	for _, a := range []*answerCache{&c.answers, &c.localAnswers} {
		a.mu.Lock()
		for _, r := range a.revisions {
			r.since = time.Now().Add(-answerCacheMaxAge - time.Second)
		}
		a.mu.Unlock()
	}
}
