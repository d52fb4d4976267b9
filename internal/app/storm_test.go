package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/callqueue"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/queueagent"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/app"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
)

// stormWorld is what a mutation storm works on: a handful of users, queues,
// groups and sites of the demo's acme.example, by global id.
type stormWorld struct {
	users, queues, groups, sites []int
}

func loadStormWorld(t *testing.T, c *ent.Client) stormWorld {
	t.Helper()
	ctx := context.Background()
	var w stormWorld
	var err error
	acme := domain.Name("acme.example")
	if w.users, err = c.User.Query().Where(user.UsernameIn(
		"alice@acme.example", "adam@acme.example", "bob@acme.example", "bea@acme.example",
		"cora@acme.example", "carl@acme.example", "ava@acme.example")).IDs(ctx); err != nil {
		t.Fatal(err)
	}
	if w.queues, err = c.CallQueue.Query().Where(callqueue.HasDomainWith(acme)).IDs(ctx); err != nil {
		t.Fatal(err)
	}
	if w.groups, err = c.Group.Query().IDs(ctx); err != nil {
		t.Fatal(err)
	}
	if w.sites, err = c.Site.Query().IDs(ctx); err != nil {
		t.Fatal(err)
	}
	if len(w.users) != 7 || len(w.queues) < 2 || len(w.groups) < 1 || len(w.sites) < 2 {
		t.Fatalf("unexpected demo world: %+v", w)
	}
	return w
}

// stormMutation is one random authorization-relevant mutation of the world.
func (w stormWorld) mutation(r *rand.Rand) (string, map[string]any) {
	pick := func(ids []int) string { return strconv.Itoa(ids[r.IntN(len(ids))]) }
	u, q, g, s := pick(w.users), pick(w.queues), pick(w.groups), pick(w.sites)
	scopes := []string{"CALL_CENTER_SUPERVISOR", "CALL_CENTER_AGENT", "BASIC_USER", "ADVANCED_USER"}
	switch r.IntN(10) {
	case 0:
		return `mutation($u: ID!, $s: UserScope!) { setUserScope(userId: $u, scope: $s) { id } }`,
			map[string]any{"u": u, "s": scopes[r.IntN(len(scopes))]}
	case 1:
		return `mutation($q: ID!, $u: ID!) { assignQueueSupervisor(queueId: $q, userId: $u) { id } }`,
			map[string]any{"q": q, "u": u}
	case 2:
		return `mutation($q: ID!, $u: ID!) { removeQueueSupervisor(queueId: $q, userId: $u) { id } }`,
			map[string]any{"q": q, "u": u}
	case 3:
		return `mutation($q: ID!, $u: ID!) { addQueueAgent(queueId: $q, userId: $u) { id } }`,
			map[string]any{"q": q, "u": u}
	case 4:
		return `mutation($q: ID!, $u: ID!) { removeQueueAgent(queueId: $q, userId: $u) { id } }`,
			map[string]any{"q": q, "u": u}
	case 5:
		field := "addMemberIDs"
		if r.IntN(2) == 0 {
			field = "removeMemberIDs"
		}
		return `mutation($g: ID!, $in: UpdateGroupInput!) { updateGroup(id: $g, input: $in) { id } }`,
			map[string]any{"g": g, "in": map[string]any{field: []string{u}}}
	case 6:
		own := r.IntN(2) == 0
		groups := []string{}
		others := ""
		if own && r.IntN(2) == 0 {
			groups = []string{g}
			others = strconv.Itoa(130 + r.IntN(13))
		}
		return `mutation($u: ID!, $in: MediaManagerRightsInput!) { updateMediaManagerRights(userId: $u, input: $in) { id } }`,
			map[string]any{"u": u, "in": map[string]any{
				"mediaManagerReplay": r.IntN(3) > 0, "replayAll": r.IntN(3) == 0, "replayOwn": own,
				"replayGroupIDs": groups, "replayOthers": others, "downloadRecordings": r.IntN(2) == 0,
			}}
	case 7:
		return `mutation($u: ID!, $in: UpdateUserInput!) { updateUser(id: $u, input: $in) { id } }`,
			map[string]any{"u": u, "in": map[string]any{"siteID": s}}
	case 8:
		return `mutation($q: ID!, $in: UpdateCallQueueInput!) { updateCallQueue(id: $q, input: $in) { id } }`,
			map[string]any{"q": q, "in": map[string]any{"siteID": s}}
	default:
		return `mutation($g: ID!, $in: UpdateGroupInput!) { updateGroup(id: $g, input: $in) { id } }`,
			map[string]any{"g": g, "in": map[string]any{"siteID": s}}
	}
}

// post sends one GraphQL request; it is safe for concurrent use.
func post(ctx context.Context, url, token, query string, vars map[string]any) (response, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/graphql", bytes.NewReader(body))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	var r response
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		return response{}, fmt.Errorf("decode response (status %d): %w", res.StatusCode, err)
	}
	return r, nil
}

// stormResult counts a storm's outcomes by error code ("" for success).
type stormResult map[string]int

// storm sends total random mutations from workers concurrent clients, spread
// over the servers at urls, as token's holder, or fewer if ctx ends first.
func storm(ctx context.Context, urls []string, token string, w stormWorld, workers, total int, seed uint64) stormResult {
	var mu sync.Mutex
	result := stormResult{}
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(i)))
			for n := i; n < total && ctx.Err() == nil; n += workers {
				query, vars := w.mutation(r)
				res, err := post(ctx, urls[n%len(urls)], token, query, vars)
				if ctx.Err() != nil {
					return
				}
				code := ""
				switch {
				case err != nil:
					code = "transport: " + err.Error()
				case len(res.Errors) > 0:
					code = res.Errors[0].code()
				}
				mu.Lock()
				result[code]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return result
}

// checkStormOutcome asserts that the storm did real work, that only client
// mistakes, retryable conflicts and the codes in also were refused, that
// SpiceDB holds exactly the database's projection, and that scopes and
// memberships agree.
func checkStormOutcome(t *testing.T, a *app.App, result stormResult, minSucceeded int, also ...string) {
	t.Helper()
	ctx := context.Background()
	t.Logf("storm outcome by code: %v", result)
	if result[""] < minSucceeded {
		t.Errorf("only %d mutations succeeded, want at least %d", result[""], minSucceeded)
	}
	for code, n := range result {
		switch {
		case code == "", code == "BAD_USER_INPUT", code == "CONFLICT", code == "NOT_FOUND":
		case slices.Contains(also, code):
		default:
			t.Errorf("%d mutations failed with %q", n, code)
		}
	}
	if err := a.Relay.Apply(ctx); err != nil {
		t.Fatalf("drain the outbox: %v", err)
	}
	drift, err := projection.Reconcile(ctx, a.Client, a.Spice, false)
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	if len(drift.Missing)+len(drift.Extra) != 0 {
		t.Errorf("drift after the storm: %d missing %v, %d extra %v",
			len(drift.Missing), drift.Missing, len(drift.Extra), drift.Extra)
	}
	badAgents, err := a.Client.QueueAgent.Query().
		Where(queueagent.HasUserWith(user.ScopeNEQ(user.ScopeCALL_CENTER_AGENT))).Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	badSupervisors, err := a.Client.User.Query().
		Where(user.HasSupervisedQueues(), user.ScopeNEQ(user.ScopeCALL_CENTER_SUPERVISOR)).Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if badAgents+badSupervisors != 0 {
		t.Errorf("scopes and memberships disagree: %d agent memberships of non-agents, %d supervisors without the scope",
			badAgents, badSupervisors)
	}
}

// TestMutationStormLeavesNoDrift: 8 concurrent clients send stormMutations
// (2,000; 400 under the race detector) random authorization-relevant
// mutations (scope changes, supervisors, agents, group members, Media
// Manager rights, site moves) on a handful of users, queues and groups. Afterwards SpiceDB holds exactly the database's
// projection and scopes agree with memberships, on SQLite and on PostgreSQL.
func TestMutationStormLeavesNoDrift(t *testing.T) {
	if testing.Short() {
		t.Skip("the storm takes a while; skipped in -short")
	}
	const workers, total = 8, stormMutations
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			cfg := app.Config{DataDir: t.TempDir(), Demo: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			if backend == "postgres" {
				cfg.DatabaseURL = postgresURL(t)
			}
			a, err := app.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(a.Close)
			srv := httptest.NewServer(a.Handler())
			t.Cleanup(srv.Close)
			p := &portal{t: t, app: a, srv: srv, dir: cfg.DataDir}
			w := loadStormWorld(t, a.Client)
			start := time.Now()
			result := storm(context.Background(), []string{srv.URL}, p.tokenFor("support@provider.example"), w, workers, total, 7)
			t.Logf("%d mutations in %v", total, time.Since(start))
			checkStormOutcome(t, a, result, total/3)
		})
	}
}
