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
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/callrecord"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/recording"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/access"
	"github.com/pbxportal/pbxportal/internal/app"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
	"github.com/pbxportal/pbxportal/internal/migration"
	"github.com/pbxportal/pbxportal/internal/pgtest"
	"github.com/pbxportal/pbxportal/internal/scope"
)

// The differential test builds random small worlds, projects them the way
// the portal does at start-up, and checks every root connection, for every
// user who may log in, against what SpiceDB answers on its own: the ids a
// list returns over all its pages, its totalCount, and each @authz field of
// the listed objects.
//
// It runs differentialWorlds worlds from a fixed seed and
// differentialRandomWorlds from a seed of the moment (a failure prints the
// seed that reproduces it), on SQLite and, when PBXPORTAL_TEST_DATABASE_URL
// is set, on PostgreSQL (a third as many worlds: each migrates a schema).
// PBXPORTAL_DIFFERENTIAL_SEED=random (or a number) runs only from that
// seed, and PBXPORTAL_DIFFERENTIAL_WORLDS sets how many worlds.
const differentialWorlds = 12

// differentialPage is the page size the test reads lists with: small, so
// that every list of a world spans several pages.
const differentialPage = 4

func TestDifferentialLists(t *testing.T) {
	// Fixed worlds first, the same in every run; then a few from a seed of
	// the moment, printed, so that CI keeps exploring new worlds.
	runs := []struct {
		name   string
		seed   uint64
		worlds int
	}{
		{"fixed", 20240611, differentialWorlds},
		{"random", uint64(time.Now().UnixNano()), differentialRandomWorlds},
	}
	switch s := os.Getenv("PBXPORTAL_DIFFERENTIAL_SEED"); s {
	case "":
	case "random":
		runs = runs[1:]
	default:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("PBXPORTAL_DIFFERENTIAL_SEED=%q: %v", s, err)
		}
		runs = runs[:1]
		runs[0].name, runs[0].seed = "given", n
	}
	if s := os.Getenv("PBXPORTAL_DIFFERENTIAL_WORLDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("PBXPORTAL_DIFFERENTIAL_WORLDS=%q: %v", s, err)
		}
		for i := range runs {
			runs[i].worlds = n
		}
	}
	for _, be := range differentialBackends() {
		t.Run(be.name, func(t *testing.T) {
			for _, r := range runs {
				worlds := r.worlds
				if be.name == "postgres" {
					worlds = max(1, worlds/3) // each world migrates a fresh schema
				}
				t.Run(r.name, func(t *testing.T) { runWorlds(t, be, r.seed, worlds) })
			}
		})
	}
}

// differentialRandomWorlds is how many worlds of a new seed each run adds.
const differentialRandomWorlds = 2

// backend is a database the differential test runs the portal on.
type backend struct {
	name string
	cfg  func(t *testing.T) app.Config
}

// differentialBackends are SQLite, and PostgreSQL when
// PBXPORTAL_TEST_DATABASE_URL names a server.
func differentialBackends() []backend {
	bes := []backend{{"sqlite", func(t *testing.T) app.Config { return app.Config{DataDir: t.TempDir()} }}}
	if os.Getenv(pgtest.EnvURL) != "" {
		bes = append(bes, backend{"postgres", func(t *testing.T) app.Config {
			url := pgtest.URL(t)
			if _, err := app.Migrate(context.Background(), app.Config{DatabaseURL: url}, migration.Options{}); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			return app.Config{DataDir: t.TempDir(), DatabaseURL: url}
		}})
	}
	return bes
}

// runWorlds checks worlds worlds from seed on be.
func runWorlds(t *testing.T, be backend, seed uint64, worlds int) {
	start := time.Now()
	checked := 0
	var cov coverage
	for i := range worlds {
		worldSeed := seed + uint64(i)
		ok := t.Run(fmt.Sprintf("world%d", i), func(t *testing.T) {
			checked += checkWorld(t, be.cfg(t), worldSeed, &cov)
		})
		if !ok {
			t.Fatalf("%s world %d failed; rerun it alone with PBXPORTAL_DIFFERENTIAL_SEED=%d PBXPORTAL_DIFFERENTIAL_WORLDS=1", be.name, i, worldSeed)
		}
	}
	t.Logf("%s, seed %d: %d worlds, %d (viewer, list) pairs, %d recordings seen through a number right, %d own recordings seen through the own switch, %d site managers' lists without it, in %s",
		be.name, seed, worlds, checked, cov.throughNumbers, cov.ownSwitchOn, cov.siteManagersSwitchOff, time.Since(start).Round(time.Millisecond))
	if worlds >= differentialWorlds && cov.throughNumbers < worlds {
		t.Errorf("seed %d: only %d recordings were seen through a number right in %d worlds: the worlds no longer exercise number rights", seed, cov.throughNumbers, worlds)
	}
	if worlds >= differentialWorlds && (cov.ownSwitchOn == 0 || cov.siteManagersSwitchOff == 0) {
		t.Errorf("seed %d: %d own recordings seen through the own switch, %d site managers' recordings lists with it off: the worlds no longer exercise the owner's own switch both ways", seed, cov.ownSwitchOn, cov.siteManagersSwitchOff)
	}
}

// coverage counts what the worlds exercised, so that a change to the
// generator cannot quietly stop testing a kind of grant.
type coverage struct {
	// throughNumbers counts the (viewer, recording) pairs where the viewer
	// holds number#replayer on one of the recording's numbers.
	throughNumbers int
	// ownSwitchOn counts the (viewer, recording) pairs where the viewer owns
	// the recording and holds its own switch (user#replays_own), the term
	// looked up on the viewer's own row; siteManagersSwitchOff counts the
	// recordings lists of site managers with a site whose switch is off (the
	// term left out).
	ownSwitchOn, siteManagersSwitchOff int
}

// ownSwitch adds to cov what u's recordings list (want) exercised of the
// owner's own switch, by SpiceDB's answer for it.
func ownSwitch(ctx context.Context, a *app.App, u *ent.User, want []int, cov *coverage) error {
	own, err := a.Spice.LookupResources(authz.AskSpiceDB(ctx), projection.TypeUser, "replays_own", projection.Obj(projection.TypeUser, u.ID))
	if err != nil {
		return err
	}
	if len(own) == 0 {
		if u.Scope == user.ScopeSITE_MANAGER && u.SiteID != 0 {
			cov.siteManagersSwitchOff++
		}
		return nil
	}
	n, err := a.Client.Recording.Query().Where(recording.IDIn(want...), recording.OwnerID(u.ID)).Count(ctx)
	cov.ownSwitchOn += n
	return err
}

// throughNumbers counts the recordings of ids that u reaches through a
// number right, by SpiceDB's numbers and the emitter's naming of them.
func throughNumbers(ctx context.Context, a *app.App, u *ent.User, ids []int) (int, error) {
	nums, err := a.Spice.LookupResources(ctx, projection.TypeNumber, "replayer", projection.Obj(projection.TypeUser, u.ID))
	if err != nil || len(nums) == 0 || len(ids) == 0 {
		return 0, err
	}
	recs, err := a.Client.Recording.Query().Where(recording.IDIn(ids...)).All(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range recs {
		for _, raw := range []string{r.Caller, r.Callee, r.AccountCode} {
			if num, ok := projection.Number(r.DomainID, raw); ok && slices.Contains(nums, num.ID) {
				n++
				break
			}
		}
	}
	return n, nil
}

// checkWorld builds the world of seed, opens the portal on it and compares
// every list of every portal user with SpiceDB. It returns how many
// (viewer, list) pairs it compared.
func checkWorld(t *testing.T, cfg app.Config, seed uint64, cov *coverage) int {
	ctx := context.Background()
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := app.OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := buildWorld(ctx, store.Client, cfg.DatabaseURL != "", rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))); err != nil {
		t.Fatalf("seed %d: build world: %v", seed, err)
	}
	_ = store.Client.Close()
	a, err := app.Open(ctx, cfg) // rebuilds SpiceDB's projection from the database
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	h := a.Handler()
	users, err := a.Client.User.Query().All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lists, err := access.NewLists()
	if err != nil {
		t.Fatal(err)
	}
	pairs := 0
	for _, u := range users {
		checkLocalLookups(t, ctx, a, lists, u, seed)
		if !access.MayUsePortal(u) {
			continue
		}
		tok, _, err := a.Signer.Mint(u.ID, u.CredentialStamp, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range differentialLists() {
			want, err := l.want(ctx, a, u)
			if err != nil {
				t.Fatalf("seed %d: %s as user %d: reference: %v", seed, l.root, u.ID, err)
			}
			got, fields := readList(t, h, tok, l)
			slices.Sort(want)
			if !slices.Equal(got.ids, want) {
				t.Errorf("seed %d: %s as user %d (%s): ids %v, SpiceDB %v", seed, l.root, u.ID, u.Scope, got.ids, want)
			}
			if got.total != len(want) {
				t.Errorf("seed %d: %s as user %d (%s): totalCount %d, SpiceDB %d", seed, l.root, u.ID, u.Scope, got.total, len(want))
			}
			checkFields(t, ctx, a, u, l, fields, seed)
			if l.root == "recordings" {
				n, err := throughNumbers(ctx, a, u, want)
				if err != nil {
					t.Fatal(err)
				}
				cov.throughNumbers += n
				if err := ownSwitch(ctx, a, u, want, cov); err != nil {
					t.Fatal(err)
				}
			}
			pairs++
		}
	}
	return pairs
}

// checkLocalLookups compares, for every relation that the database answers
// instead of SpiceDB (access.Lists.LocalAnswers), u's lookup with
// SpiceDB's own.
func checkLocalLookups(t *testing.T, ctx context.Context, a *app.App, lists *access.Lists, u *ent.User, seed uint64) {
	t.Helper()
	relations := lists.LocalAnswers()
	if len(relations) == 0 {
		t.Fatal("the database answers no relation's lookups: the test tells nothing")
	}
	subject := projection.Obj(projection.TypeUser, u.ID)
	for _, k := range relations {
		typ, rel, _ := strings.Cut(k, "#")
		local, err := a.Spice.LookupResources(ctx, typ, rel, subject)
		if err != nil {
			t.Fatalf("seed %d: %s for user %d, from the database: %v", seed, k, u.ID, err)
		}
		spice, err := a.Spice.LookupResources(authz.AskSpiceDB(ctx), typ, rel, subject)
		if err != nil {
			t.Fatalf("seed %d: %s for user %d, from SpiceDB: %v", seed, k, u.ID, err)
		}
		local, spice = slices.Sorted(slices.Values(local)), slices.Sorted(slices.Values(spice))
		if !slices.Equal(local, spice) {
			t.Errorf("seed %d: %s for user %d (%s): the database %v, SpiceDB %v", seed, k, u.ID, u.Scope, local, spice)
		}
	}
}

// list is one root connection: what the test selects on it, and which ids
// SpiceDB says the viewer should see.
type list struct {
	root string
	typ  string   // the SpiceDB type of its nodes; "" for call records and audit events
	sel  string   // the node selection besides id
	perm []string // for each @authz field of sel, in order: field name then permission
	want func(context.Context, *app.App, *ent.User) ([]int, error)
}

// lookupWant is the reference of a projected type: LookupResources.
func lookupWant(typ, permission string) func(context.Context, *app.App, *ent.User) ([]int, error) {
	return func(ctx context.Context, a *app.App, u *ent.User) ([]int, error) {
		return lookupInts(ctx, a, typ, permission, u)
	}
}

func lookupInts(ctx context.Context, a *app.App, typ, permission string, u *ent.User) ([]int, error) {
	raw, err := a.Spice.LookupResources(authz.AskSpiceDB(ctx), typ, permission, projection.Obj(projection.TypeUser, u.ID))
	if err != nil {
		return nil, err
	}
	ids := make([]int, 0, len(raw))
	for _, s := range raw {
		id, err := strconv.Atoi(s)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func differentialLists() []list {
	return []list{
		{root: "users", typ: projection.TypeUser,
			sel: "username forwardTo personalDirectoryEntries { id } buttons { id } callRecords(first: 1) { totalCount } recordings(first: 1) { totalCount }",
			perm: []string{"username", "view_private", "forwardTo", "read_call_handling",
				"personalDirectoryEntries", "read_personal_directory", "buttons", "read_button_programming",
				"callRecords", "view_call_history", "recordings", "view_private"},
			want: lookupWant(projection.TypeUser, "view")},
		{root: "recordings", typ: projection.TypeRecording, sel: "replayUrl downloadUrl",
			perm: []string{"replayUrl", "replay", "downloadUrl", "download"},
			want: lookupWant(projection.TypeRecording, "replay")},
		{root: "callQueues", typ: projection.TypeQueue, sel: "agents { id }",
			perm: []string{"agents", "view_agent_status"},
			want: lookupWant(projection.TypeQueue, "view")},
		{root: "groups", typ: projection.TypeGroup, want: lookupWant(projection.TypeGroup, "view")},
		{root: "sites", typ: projection.TypeSite, want: lookupWant(projection.TypeSite, "view")},
		{root: "contacts", typ: projection.TypeContact, want: lookupWant(projection.TypeContact, "view")},
		{root: "domains", typ: projection.TypeDomain, want: lookupWant(projection.TypeDomain, "view")},
		{root: "callRecords", want: callRecordsWant},
		{root: "auditEvents", want: auditEventsWant},
	}
}

// callRecordsWant is what access derives for call records (docs/product.md §3.12): the
// calls of the domains the viewer manages, of the users whose call history
// it sees, and through the queues whose reports it sees.
func callRecordsWant(ctx context.Context, a *app.App, u *ent.User) ([]int, error) {
	domains, err := lookupInts(ctx, a, projection.TypeDomain, "manage", u)
	if err != nil {
		return nil, err
	}
	users, err := lookupInts(ctx, a, projection.TypeUser, "view_call_history", u)
	if err != nil {
		return nil, err
	}
	queues, err := lookupInts(ctx, a, projection.TypeQueue, "view_reports", u)
	if err != nil {
		return nil, err
	}
	rows, err := a.Client.CallRecord.Query().Order(callrecord.ByID()).All(ctx)
	if err != nil {
		return nil, err
	}
	ids := []int{}
	for _, r := range rows {
		if slices.Contains(domains, r.DomainID) || r.UserID != 0 && slices.Contains(users, r.UserID) ||
			r.QueueID != 0 && slices.Contains(queues, r.QueueID) {
			ids = append(ids, r.ID)
		}
	}
	return ids, nil
}

// auditEventsWant is what access derives for audit events (docs/product.md §3.14):
// every event to support, the events of the domains the viewer manages and
// of the sites whose audit it reads.
func auditEventsWant(ctx context.Context, a *app.App, u *ent.User) ([]int, error) {
	support, err := a.Spice.CheckBulk(ctx, projection.Obj(projection.TypeUser, u.ID),
		[]authz.Check{{Resource: projection.Platform(), Permission: "support"}})
	if err != nil {
		return nil, err
	}
	domains, err := lookupInts(ctx, a, projection.TypeDomain, "manage", u)
	if err != nil {
		return nil, err
	}
	sites, err := lookupInts(ctx, a, projection.TypeSite, "read_audit", u)
	if err != nil {
		return nil, err
	}
	rows, err := a.Client.AuditEvent.Query().All(ctx)
	if err != nil {
		return nil, err
	}
	ids := []int{}
	for _, r := range rows {
		if support[0] || r.DomainID != 0 && slices.Contains(domains, r.DomainID) || r.SiteID != 0 && slices.Contains(sites, r.SiteID) {
			ids = append(ids, r.ID)
		}
	}
	return ids, nil
}

// listed is what a list returned over all its pages.
type listed struct {
	ids   []int
	total int
}

// fieldSeen is whether one @authz field of one node was allowed.
type fieldSeen struct {
	id      int
	field   string
	allowed bool
}

// readList reads every page of a list as the holder of tok, and reports,
// for each node and @authz field, whether the field was allowed (no
// FORBIDDEN error at its path).
func readList(t *testing.T, h http.Handler, tok string, l list) (listed, []fieldSeen) {
	t.Helper()
	q := fmt.Sprintf(`query($after: Cursor) { %s(first: %d, after: $after) {
		totalCount pageInfo { hasNextPage endCursor } edges { node { id %s } } } }`, l.root, differentialPage, l.sel)
	var out listed
	var fields []fieldSeen
	var after any
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatalf("%s: more than 1000 pages", l.root)
		}
		r := postGQL(t, h, tok, q, map[string]any{"after": after})
		forbidden := map[string]bool{}
		for _, e := range r.Errors {
			if e.code() != "FORBIDDEN" || len(e.Path) < 5 {
				t.Fatalf("%s: unexpected error %+v", l.root, e)
			}
			forbidden[fmt.Sprint(e.Path[2], "/", e.Path[4])] = true
		}
		var d map[string]struct {
			TotalCount int
			PageInfo   struct {
				HasNextPage bool
				EndCursor   *string
			}
			Edges []struct{ Node struct{ ID json.Number } }
		}
		if err := json.Unmarshal(r.Data, &d); err != nil {
			t.Fatalf("%s: decode %s: %v", l.root, r.Data, err)
		}
		c := d[l.root]
		out.total = c.TotalCount
		for i, e := range c.Edges {
			id, err := strconv.Atoi(e.Node.ID.String())
			if err != nil {
				t.Fatalf("%s: id %q: %v", l.root, e.Node.ID, err)
			}
			out.ids = append(out.ids, id)
			for k := 0; k < len(l.perm); k += 2 {
				fields = append(fields, fieldSeen{id: id, field: l.perm[k], allowed: !forbidden[fmt.Sprint(i, "/", l.perm[k])]})
			}
		}
		if !c.PageInfo.HasNextPage || c.PageInfo.EndCursor == nil {
			break
		}
		after = *c.PageInfo.EndCursor
	}
	slices.Sort(out.ids)
	return out, fields
}

// checkFields compares each @authz field the list showed with
// CheckBulkPermissions.
func checkFields(t *testing.T, ctx context.Context, a *app.App, u *ent.User, l list, fields []fieldSeen, seed uint64) {
	t.Helper()
	if len(fields) == 0 {
		return
	}
	perm := map[string]string{}
	for k := 0; k < len(l.perm); k += 2 {
		perm[l.perm[k]] = l.perm[k+1]
	}
	checks := make([]authz.Check, len(fields))
	for i, f := range fields {
		checks[i] = authz.Check{Resource: projection.Obj(l.typ, f.id), Permission: perm[f.field]}
	}
	want, err := a.Spice.CheckBulk(ctx, projection.Obj(projection.TypeUser, u.ID), checks)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range fields {
		if f.allowed != want[i] {
			t.Errorf("seed %d: %s as user %d: %s:%d.%s allowed=%v, SpiceDB %s=%v",
				seed, l.root, u.ID, l.typ, f.id, f.field, f.allowed, perm[f.field], want[i])
		}
	}
}

// postGQL sends one GraphQL request straight to the handler.
func postGQL(t *testing.T, h http.Handler, tok, query string, vars map[string]any) response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var r response
	if err := json.NewDecoder(rec.Body).Decode(&r); err != nil {
		t.Fatalf("decode response (status %d): %v", rec.Code, err)
	}
	return r
}

// numberPool holds the numbers of the worlds, written in several ways: the
// projection normalises them, so "1-41" and "141" are one number.
var numberPool = []string{"100", "101", "141", "1-41", " 141 ", "(141)", "+15550101", "+1 555 0101", "ac9", "AC9", "7", "7.", ""}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// maybe returns one of ids, or 0 with probability none.
func maybe(r *rand.Rand, ids []int, none float64) int {
	if len(ids) == 0 || r.Float64() < none {
		return 0
	}
	return pick(r, ids)
}

// some returns a random subset of ids, each with probability p.
func some(r *rand.Rand, ids []int, p float64) []int {
	var out []int
	for _, id := range ids {
		if r.Float64() < p {
			out = append(out, id)
		}
	}
	return out
}

// buildWorld writes a random small world straight into the database: a
// couple of domains with sites, users of every scope, queues with
// supervisors and agents, groups with members, Media Manager rights,
// recordings, contacts, call records and audit events. Every reference
// stays in its domain, as the rules keep it, except a few of recordings
// and call records, which nothing in the model forbids.
func buildWorld(ctx context.Context, c *ent.Client, postgres bool, r *rand.Rand) error {
	type dom struct {
		id                           int
		sites, users, queues, groups []int
	}
	var doms []*dom
	nd := 1 + r.IntN(3)
	for d := range nd {
		dm, err := c.Domain.Create().SetName(fmt.Sprintf("d%d.example", d)).
			SetCallReportingAvailable(r.IntN(2) == 0).
			SetScopeManagement(pick(r, []domain.ScopeManagement{domain.ScopeManagementSUPPORT_ONLY, domain.ScopeManagementOFFICE_MANAGERS})).
			Save(ctx)
		if err != nil {
			return err
		}
		doms = append(doms, &dom{id: dm.ID})
	}
	levels := []string{"NO_ACCESS", "READ", "WRITE"}
	for di, d := range doms {
		for s := range r.IntN(4) {
			st, err := c.Site.Create().SetDomainID(d.id).SetName(fmt.Sprintf("s%d", s)).Save(ctx)
			if err != nil {
				return err
			}
			d.sites = append(d.sites, st.ID)
		}
		for q := range r.IntN(4) {
			cq, err := c.CallQueue.Create().SetDomainID(d.id).SetNillableSiteID(nonZero(maybe(r, d.sites, 0.3))).
				SetName(fmt.Sprintf("q%d", q)).SetExtension(fmt.Sprint(300 + q)).Save(ctx)
			if err != nil {
				return err
			}
			d.queues = append(d.queues, cq.ID)
		}
		for g := range r.IntN(4) {
			gr, err := c.Group.Create().SetDomainID(d.id).SetNillableSiteID(nonZero(maybe(r, d.sites, 0.3))).
				SetName(fmt.Sprintf("g%d", g)).SetExtension(fmt.Sprint(400 + g)).Save(ctx)
			if err != nil {
				return err
			}
			d.groups = append(d.groups, gr.ID)
		}
		for k := range 3 + r.IntN(6) {
			sc := pick(r, scope.Ordered())
			if sc == "SUPPORT" && (di != 0 || r.IntN(2) == 0) {
				sc = "BASIC_USER" // support is rare, and only of the first domain
			}
			var others []string
			for range r.IntN(3) {
				others = append(others, pick(r, numberPool))
			}
			othersText := ""
			for i, o := range others {
				if i > 0 {
					othersText += ";"
				}
				othersText += o
			}
			cr := c.User.Create().SetDomainID(d.id).SetNillableSiteID(nonZero(maybe(r, d.sites, 0.25))).
				SetUsername(fmt.Sprintf("u%d@d%d", k, di)).SetDisplayName(fmt.Sprintf("U%d", k)).
				SetExtension(pick(r, numberPool[:7])).SetPasswordHash("x").
				SetScope(user.Scope(sc)).SetVoicePortalAccess(r.Float64() < 0.85).
				SetProfileAccess(user.ProfileAccess(pick(r, levels))).
				SetCallHandlingAccess(user.CallHandlingAccess(pick(r, levels))).
				SetPersonalDirectoryAccess(user.PersonalDirectoryAccess(pick(r, levels))).
				SetButtonProgrammingAccess(user.ButtonProgrammingAccess(pick(r, levels))).
				SetDownloadApplicationsAccess(user.DownloadApplicationsAccess(pick(r, levels))).
				SetHistoricalCallReporting(r.IntN(3) == 0).
				SetMediaManagerReplay(r.Float64() < 0.7).SetReplayAll(r.IntN(4) == 0).
				SetReplayOwn(r.Float64() < 0.6).SetDownloadRecordings(r.IntN(2) == 0).
				SetReplayOthers(othersText).
				AddReplayGroupIDs(some(r, d.groups, 0.3)...).
				AddGroupIDs(some(r, d.groups, 0.4)...).
				AddSupervisedQueueIDs(some(r, d.queues, 0.3)...)
			u, err := cr.Save(ctx)
			if err != nil {
				return err
			}
			d.users = append(d.users, u.ID)
			for _, q := range some(r, d.queues, 0.35) {
				if err := c.QueueAgent.Create().SetQueueID(q).SetUserID(u.ID).Exec(ctx); err != nil {
					return err
				}
			}
		}
	}
	// A few recordings and call records reference a user, group or queue
	// of another domain, which no rule of the model forbids: a list's
	// count of a domain-wide viewer must not assume that such rows lie in
	// the granted domains (sqlfilter's count by parts).
	var all dom
	for _, d := range doms {
		all.users, all.groups, all.queues = append(all.users, d.users...), append(all.groups, d.groups...), append(all.queues, d.queues...)
	}
	stray := func(d *dom) *dom {
		if r.IntN(8) == 0 {
			return &all
		}
		return d
	}
	for _, d := range doms {
		owner := func() int { return maybe(r, stray(d).users, 0.2) }
		for k := range r.IntN(16) {
			if err := c.Recording.Create().SetDomainID(d.id).SetNillableOwnerID(nonZero(owner())).
				SetNillableGroupID(nonZero(maybe(r, stray(d).groups, 0.5))).SetNillableQueueID(nonZero(maybe(r, stray(d).queues, 0.5))).
				SetCallID(fmt.Sprintf("c%d-%d", d.id, k)).SetCaller(pick(r, numberPool)).SetCallee(pick(r, numberPool)).
				SetAccountCode(pick(r, numberPool)).SetStartedAt(time.Unix(int64(k), 0)).SetDurationSeconds(k).Exec(ctx); err != nil {
				return err
			}
		}
		if err := renumber(ctx, c, postgres, r, d.id); err != nil {
			return err
		}
		for k := range r.IntN(4) {
			if err := c.Contact.Create().SetDomainID(d.id).SetName(fmt.Sprintf("ct%d", k)).SetPhone("1").Exec(ctx); err != nil {
				return err
			}
		}
		for k := range r.IntN(11) {
			if err := c.CallRecord.Create().SetDomainID(d.id).SetNillableUserID(nonZero(owner())).
				SetNillableQueueID(nonZero(maybe(r, stray(d).queues, 0.5))).SetDirection(callrecord.DirectionINBOUND).
				SetCaller(pick(r, numberPool)).SetStartedAt(time.Unix(int64(k), 0)).SetDurationSeconds(k).Exec(ctx); err != nil {
				return err
			}
		}
		for k := range r.IntN(6) {
			// An event of a site is always of the site's domain; a
			// platform event has neither.
			site := maybe(r, d.sites, 0.4)
			cr := c.AuditEvent.Create().SetAction("test").SetTargetType("user").SetTargetID(strconv.Itoa(k)).
				SetNillableSiteID(nonZero(site))
			if site != 0 || r.IntN(5) != 0 {
				cr.SetDomainID(d.id)
			}
			if err := cr.Exec(ctx); err != nil {
				return err
			}
		}
	}
	// Once every row exists: users move and go, sites go.
	for _, d := range doms {
		if err := resite(ctx, c, r, d.id, d.sites, all.users); err != nil {
			return err
		}
	}
	return ownerSitesKept(ctx, c, postgres, r)
}

// renumber exercises every way a recording's numbers reach the normalised
// columns that number rights select by: an update of one recording, an
// update of many, and a row that predates the columns (set back to NULL, so
// that the start-up backfill must fill it).
func renumber(ctx context.Context, c *ent.Client, postgres bool, r *rand.Rand, domainID int) error {
	ids, err := c.Recording.Query().Where(recording.DomainID(domainID)).IDs(ctx)
	if err != nil || len(ids) == 0 {
		return err
	}
	if err := c.Recording.UpdateOneID(pick(r, ids)).SetCaller(pick(r, numberPool)).SetAccountCode(pick(r, numberPool)).Exec(ctx); err != nil {
		return err
	}
	if err := c.Recording.Update().Where(recording.IDIn(some(r, ids, 0.3)...)).SetCallee(pick(r, numberPool)).Exec(ctx); err != nil {
		return err
	}
	d := dialect.SQLite
	if postgres {
		d = dialect.Postgres
	}
	if old := some(r, ids, 0.3); len(old) > 0 {
		q, args := entsql.Dialect(d).Update(recording.Table).SetNull(recording.FieldCallerNumber).
			SetNull(recording.FieldCalleeNumber).SetNull(recording.FieldAccountCodeNumber).
			Where(entsql.InInts(recording.FieldID, old...)).Query()
		if _, err := c.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// resite exercises every write that changes the owner's site a recording
// stores (owner_site_id), once the recordings exist: users moved to another
// site, one by one and in bulk, users losing their site, a recording given
// another owner or none (from the recording's side and from the user's), a
// user with recordings deleted, a site deleted.
func resite(ctx context.Context, c *ent.Client, r *rand.Rand, domainID int, sites, users []int) error {
	owners, err := c.User.Query().Where(user.DomainID(domainID), user.HasRecordings()).IDs(ctx)
	if err != nil || len(owners) == 0 {
		return err
	}
	for _, u := range some(r, owners, 0.5) {
		up := c.User.UpdateOneID(u)
		if s := maybe(r, sites, 0.7); s != 0 {
			up.SetSiteID(s)
		} else {
			up.ClearSite()
		}
		if err := up.Exec(ctx); err != nil {
			return err
		}
	}
	if moved := some(r, owners, 0.3); len(moved) > 0 {
		up := c.User.Update().Where(user.IDIn(moved...))
		if s := maybe(r, sites, 0.5); s != 0 {
			up.SetSiteID(s)
		} else {
			up.ClearSite()
		}
		if err := up.Exec(ctx); err != nil {
			return err
		}
	}
	recs, err := c.Recording.Query().Where(recording.DomainID(domainID)).IDs(ctx)
	if err != nil {
		return err
	}
	live, err := c.User.Query().Where(user.IDIn(users...)).IDs(ctx) // another domain's resite may have deleted some
	if err != nil {
		return err
	}
	for _, id := range some(r, recs, 0.2) {
		up := c.Recording.UpdateOneID(id)
		if o := maybe(r, live, 0.8); o != 0 {
			up.SetOwnerID(o)
		} else {
			up.ClearOwner()
		}
		if err := up.Exec(ctx); err != nil {
			return err
		}
	}
	// The owner edge written from the user's side: recordings given to a
	// user, and a user's recordings all taken away.
	orphans, err := c.Recording.Query().Where(recording.DomainID(domainID), recording.OwnerIDIsNil()).IDs(ctx)
	if err != nil {
		return err
	}
	if len(live) > 0 {
		if err := c.User.UpdateOneID(pick(r, live)).AddRecordingIDs(some(r, orphans, 0.5)...).Exec(ctx); err != nil {
			return err
		}
		if r.IntN(3) == 0 {
			if err := c.User.UpdateOneID(pick(r, owners)).ClearRecordings().Exec(ctx); err != nil {
				return err
			}
		}
	}
	// A user with recordings, and nothing that keeps it from being deleted
	// (an agent membership; the generator gives users no buttons or
	// directory).
	deletable, err := c.User.Query().Where(user.IDIn(owners...), user.Not(user.HasAgentMemberships())).IDs(ctx)
	if err != nil {
		return err
	}
	if len(deletable) > 0 && r.IntN(4) != 0 {
		if err := c.User.DeleteOneID(pick(r, deletable)).Exec(ctx); err != nil {
			return err
		}
	}
	if len(sites) > 1 && r.IntN(4) == 0 {
		if err := c.Site.DeleteOneID(pick(r, sites)).Exec(ctx); err != nil && !ent.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// ownerSitesKept checks that every recording's owner_site_id is its
// owner's site (NULL without either), as the hooks must have left it, and
// then sets some back to NULL, as on rows that predate the column, so that
// the start-up backfill must fill them. The check comes first: the
// backfill would hide a copy the hooks left NULL.
func ownerSitesKept(ctx context.Context, c *ent.Client, postgres bool, r *rand.Rand) error {
	recs, err := c.Recording.Query().WithOwner().All(ctx)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		want := 0
		if rec.Edges.Owner != nil {
			want = rec.Edges.Owner.SiteID
		}
		got := 0
		if rec.OwnerSiteID != nil {
			got = *rec.OwnerSiteID
		}
		if got != want {
			return fmt.Errorf("recording %d (owner %d): owner_site_id %d, its owner's site %d", rec.ID, rec.OwnerID, got, want)
		}
	}
	d := dialect.SQLite
	if postgres {
		d = dialect.Postgres
	}
	ids := make([]int, len(recs))
	for i, rec := range recs {
		ids[i] = rec.ID
	}
	if old := some(r, ids, 0.3); len(old) > 0 {
		q, args := entsql.Dialect(d).Update(recording.Table).SetNull(recording.FieldOwnerSiteID).
			Where(entsql.InInts(recording.FieldID, old...)).Query()
		if _, err := c.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// nonZero is nil for 0, else a pointer to id.
func nonZero(id int) *int {
	if id == 0 {
		return nil
	}
	return &id
}
