//go:build pbxbench

package bench

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/recording"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/app"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/outbox"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
	"github.com/pbxportal/pbxportal/internal/migration"
	"github.com/pbxportal/pbxportal/internal/seed"
)

// personas are the demo users the benchmark asks as, from the narrowest
// reach to the widest.
var personas = []string{
	"bob@acme.example", "cora@acme.example", "alice@acme.example", "ava@acme.example",
	"sam@acme.example", "olivia@acme.example", "support@provider.example",
}

// queries are what each persona asks, with authorization and without.
var queries = []struct{ name, query string }{
	{"users(first:50)", `{ users(first: 50) { edges { node { id displayName extension email username scope } } } }`},
	{"recordings(first:20)", `{ recordings(first: 20) { edges { node { id callID startedAt replayUrl } } } }`},
	{"totalCount", `{ users { totalCount } recordings { totalCount } }`},
	{"callQueues→supervisors,agents", `{ callQueues(first: 10) { edges { node { id name
		supervisors { id displayName email } agents { status user { id displayName } } } } } }`},
}

// bypassHeader asks the benchmark's handler to bypass SpiceDB for the request.
const bypassHeader = "X-Pbxbench-Bypass"

// config is the benchmark's size, from the environment.
type config struct {
	users, recordings, rounds int
	postgres                  string // base URL of a PostgreSQL server; empty: SQLite and in-memory SpiceDB
}

func configFrom(b *testing.B) config {
	b.Helper()
	c := config{users: 200, recordings: 2000, rounds: 20, postgres: os.Getenv("PBXPORTAL_BENCH_POSTGRES")}
	for _, v := range []struct {
		env string
		to  *int
	}{
		{"PBXPORTAL_BENCH_USERS", &c.users},
		{"PBXPORTAL_BENCH_RECORDINGS", &c.recordings},
		{"PBXPORTAL_BENCH_ROUNDS", &c.rounds},
	} {
		if s := os.Getenv(v.env); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				b.Fatalf("%s=%q: want a positive number", v.env, s)
			}
			*v.to = n
		}
	}
	return c
}

// BenchmarkAuthz generates a tenant, starts the server on it, and runs every
// query as every persona, real and bypassed runs interleaved, rounds times
// each after a warm-up. It reports the latencies, their ratio, SpiceDB calls
// per request, start-up time and peak RSS. Run it once:
//
//	PBXPORTAL_BENCH_USERS=1000 PBXPORTAL_BENCH_RECORDINGS=10000 PBXPORTAL_BENCH_ROUNDS=100 \
//	  go test -tags pbxbench -bench Authz -benchtime 1x -run '^$' -timeout 60m ./internal/bench
//
// PBXPORTAL_BENCH_POSTGRES=postgres://…/postgres?sslmode=disable puts the
// database and SpiceDB's datastore in two scratch PostgreSQL databases.
func BenchmarkAuthz(b *testing.B) {
	ctx := context.Background()
	c := configFrom(b)
	cfg := app.Config{DataDir: b.TempDir(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if c.postgres != "" {
		cfg.DatabaseURL, cfg.SpiceDBDatastoreURL = scratchDatabase(b, c.postgres), scratchDatabase(b, c.postgres)
		if _, err := app.Migrate(ctx, cfg, migration.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	t0 := time.Now()
	store, err := app.OpenStore(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := seed.Load(ctx, store.Client, cfg.MediaDir(), seed.Options{Users: c.users, Recordings: c.recordings, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	if err := store.Analyze(ctx); err != nil { // as pbxportal seed does
		b.Fatal(err)
	}
	_ = store.Client.Close()
	b.Logf("generated %d users and %d recordings in %s", c.users, c.recordings, time.Since(t0).Round(time.Millisecond))

	runtime.GC()
	resetPeakRSS()
	t0 = time.Now()
	a, err := app.Open(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	startup := time.Since(t0)
	srv := httptest.NewServer(withBypass(a.Handler()))
	defer srv.Close()

	tokens := map[string]string{}
	for _, p := range personas {
		u, err := a.Client.User.Query().Where(user.Username(p)).Only(ctx)
		if err != nil {
			b.Fatalf("persona %s: %v", p, err)
		}
		if tokens[p], _, err = a.Signer.Mint(u.ID, u.CredentialStamp, time.Now()); err != nil {
			b.Fatal(err)
		}
	}

	qs, ps := selected(b)
	var rows []row
	b.ResetTimer()
	for range b.N {
		rows = rows[:0]
		for _, q := range qs {
			for _, p := range ps {
				rows = append(rows, measure(b, a, srv.URL, tokens[p], p, q.name, q.query, c.rounds))
			}
		}
	}
	b.StopTimer()
	rss := peakRSS()

	var out strings.Builder
	fmt.Fprintf(&out, "\n%d users, %d recordings, %s; start-up %.1f s, peak RSS %.0f MiB; %d rounds\n\n",
		c.users, c.recordings, backend(c), startup.Seconds(), rss, c.rounds)
	tw := tabwriter.NewWriter(&out, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "query\tpersona\trows real/bypass\terrors real/bypass\tKiB real/bypass\tp50 real\tp50 bypass\tp95 real\tp95 bypass\tratio p50\tratio p95\tSpiceDB calls/req\t"+
		"p50 after a recording\tratio p50 after a recording\tcalls/req after a recording\tp50 nothing remembered\tratio p50 nothing remembered\tcalls/req nothing remembered\t"+
		"p50 after a pause\tratio p50 after a pause\tcalls/req after a pause")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%d/%d\t%.1f/%.1f\t%s\t%s\t%s\t%s\t%.2f\t%.2f\t%.1f %s\t%s\t%.2f\t%.1f\t%s\t%.2f\t%.1f\t%s\t%.2f\t%.1f\n", r.query, strings.TrimSuffix(r.persona, "@acme.example"),
			r.rows[modeReal], r.rows[modeBypassed], r.errors[modeReal], r.errors[modeBypassed], float64(r.bytes[modeReal])/1024, float64(r.bytes[modeBypassed])/1024,
			ms(r.p50[modeReal]), ms(r.p50[modeBypassed]), ms(r.p95[modeReal]), ms(r.p95[modeBypassed]),
			ratio(r.p50, modeReal), ratio(r.p95, modeReal), r.calls[modeReal], r.methods,
			ms(r.p50[modeAfterRecording]), ratio(r.p50, modeAfterRecording), r.calls[modeAfterRecording],
			ms(r.p50[modeNothingRemembered]), ratio(r.p50, modeNothingRemembered), r.calls[modeNothingRemembered],
			ms(r.p50[modeAfterPause]), ratio(r.p50, modeAfterPause), r.calls[modeAfterPause])
	}
	_ = tw.Flush()
	fmt.Print(out.String()) // b.Log would cut a benchmark's log to its first lines
	if path := os.Getenv("PBXPORTAL_BENCH_OUT"); path != "" {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			b.Error(err)
		}
	}
	b.ReportMetric(startup.Seconds(), "startup-s")
	b.ReportMetric(rss, "peak-RSS-MiB")
	var worst float64
	for _, r := range rows {
		worst = max(worst, ratio(r.p50, modeReal))
	}
	b.ReportMetric(worst, "worst-p50-ratio")
}

// selected are the queries and personas to run: all, or those named in
// PBXPORTAL_BENCH_QUERIES (beginnings of their names, separated by ";") and
// PBXPORTAL_BENCH_PERSONAS (names before the @, separated by ","), to
// profile one of them.
func selected(b *testing.B) ([]struct{ name, query string }, []string) {
	b.Helper()
	qs, ps := queries, personas
	if names := os.Getenv("PBXPORTAL_BENCH_QUERIES"); names != "" {
		qs = nil
		for _, q := range queries {
			if slices.ContainsFunc(strings.Split(names, ";"), func(n string) bool { return strings.HasPrefix(q.name, n) }) {
				qs = append(qs, q)
			}
		}
	}
	if names := os.Getenv("PBXPORTAL_BENCH_PERSONAS"); names != "" {
		ps = nil
		for _, p := range personas {
			name, _, _ := strings.Cut(p, "@")
			if slices.Contains(strings.Split(names, ","), name) {
				ps = append(ps, p)
			}
		}
	}
	if len(qs) == 0 || len(ps) == 0 {
		b.Fatal("PBXPORTAL_BENCH_QUERIES or PBXPORTAL_BENCH_PERSONAS selects nothing")
	}
	return qs, ps
}

func backend(c config) string {
	if c.postgres != "" {
		return "PostgreSQL, SpiceDB on PostgreSQL"
	}
	return "SQLite, in-memory SpiceDB"
}

// The modes a query is run in.
const (
	modeReal     = iota // with authorization
	modeBypassed        // without (authz.Bypass)
	// modeAfterRecording is with authorization, right after the outbox
	// relay wrote a recording's relationship (writeRecording), the most
	// frequent write: the request reads at a new revision, to which the
	// answers that write cannot change were carried, while SpiceDB's own
	// caches hold nothing for it.
	modeAfterRecording
	// modeNothingRemembered is with authorization, right after a write that
	// forgets every remembered answer (forgetAll): what the first request
	// after a write that changes the viewer's own grants costs, or the first
	// one after answers expire.
	modeNothingRemembered
	// modeAfterPause is with authorization, after the answers remembered
	// so far were aged past how long SpiceDB's are kept (authz.Client.Pause),
	// with no write: what a viewer's first request after a pause of a few
	// seconds costs on a SpiceDB others can reach (on PostgreSQL); on the
	// in-memory one, answers are kept until changed, so it is a repeat.
	modeAfterPause
	modeCount
)

// row is one query as one persona, indexed by mode.
type row struct {
	query, persona string
	rows           [modeCount]int
	errors         [modeCount]int // field errors (a denied @authz field is one)
	bytes          [modeCount]int // response size
	p50, p95       [modeCount]time.Duration
	calls          [modeCount]float64 // SpiceDB calls per request
	methods        string             // the real mode's split by method
}

// measure runs query as the token's holder: two warm-up runs of each mode,
// then rounds of both, real first in even rounds and bypassed first in odd
// ones, so that neither mode gets the warmer caches.
func measure(b *testing.B, a *app.App, url, token, persona, name, query string, rounds int) row {
	b.Helper()
	r := row{query: name, persona: persona}
	// How each mode is asked for: real; bypassed with the domains the
	// persona would reach as a whole (acme's; every one for support); and
	// real after a write.
	acme := a.Client.Domain.Query().Where(domain.Name("acme.example")).OnlyIDX(context.Background())
	touch := unchangingWrite(a, acme)
	modes := [modeCount]string{modeBypassed: "domain:" + strconv.Itoa(acme)}
	if strings.HasPrefix(persona, "support@") {
		var all []string
		for _, id := range a.Client.Domain.Query().IDsX(context.Background()) {
			all = append(all, strconv.Itoa(id))
		}
		modes[modeBypassed] = "support:" + strings.Join(all, ",")
	}
	for mode := range modeCount {
		for range 2 {
			res := post(b, url, token, query, modes[mode])
			r.rows[mode], r.errors[mode], r.bytes[mode] = res.rows, res.errors, res.bytes
		}
	}
	var lat [modeCount][]time.Duration
	var calls [modeCount]map[string]float64
	for i := range rounds {
		for k := range modeCount {
			mode := (i + k) % modeCount
			switch mode {
			case modeAfterRecording:
				writeRecording(b, a, touch)
			case modeNothingRemembered:
				forgetAll(b, a, touch)
			case modeAfterPause:
				a.Spice.Pause()
			}
			start := spiceDBCalls(b, a)
			lat[mode] = append(lat[mode], post(b, url, token, query, modes[mode]).took)
			d := diff(spiceDBCalls(b, a), start)
			if mode == modeAfterRecording || mode == modeNothingRemembered {
				// The real mode is a request repeated at one revision: ask
				// once, untimed, at the new one.
				post(b, url, token, query, modes[modeReal])
			}
			if mode == modeBypassed && sum(d) > 0 {
				b.Fatalf("%s as %s: the bypassed request called SpiceDB %v", name, persona, d)
			}
			if calls[mode] == nil {
				calls[mode] = map[string]float64{}
			}
			for m, n := range d {
				calls[mode][m] += n
			}
		}
	}
	_, r.methods = perRequest(calls[modeReal], rounds)
	for mode := range modeCount {
		r.calls[mode], _ = perRequest(calls[mode], rounds)
		r.p50[mode], r.p95[mode] = percentile(lat[mode], 50), percentile(lat[mode], 95)
	}
	return r
}

// perRequest is calls (by method) per request over rounds requests, and
// their split by method.
func perRequest(calls map[string]float64, rounds int) (float64, string) {
	var parts []string
	for m, n := range calls {
		parts = append(parts, fmt.Sprintf("%s %.1f", strings.TrimSuffix(m, "Permissions"), n/float64(rounds)))
	}
	slices.Sort(parts)
	if len(parts) == 0 {
		return 0, ""
	}
	return sum(calls) / float64(rounds), "(" + strings.Join(parts, ", ") + ")"
}

// scratchDatabase creates an empty PostgreSQL database on base's server,
// dropped when the benchmark ends, and returns its URL.
func scratchDatabase(b *testing.B, base string) string {
	b.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		b.Fatal(err)
	}
	name := fmt.Sprintf("pbxbench_%d", time.Now().UnixNano())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_, _ = admin.Exec("DROP DATABASE " + name + " WITH (FORCE)")
		_ = admin.Close()
	})
	u, err := neturl.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	u.Path, u.RawQuery = "/"+name, "sslmode=disable"
	return u.String()
}

// result is what the benchmark checks of a response.
type result struct {
	rows, bytes, errors int
	took                time.Duration // from sending the request to the response's last byte
}

// post runs a query and counts the objects in its data (ids), failing the
// benchmark on a transport error or a response without data. Its time is
// the server's and the transport's, up to the response's last byte; the
// benchmark's own decoding of the response is not counted, since a larger
// response (one error per denied field) costs the benchmark more to decode
// than it costs the server to send.
func post(b *testing.B, url, token, query, bypass string) result {
	body, _ := json.Marshal(map[string]any{"query": query})
	req, _ := http.NewRequest(http.MethodPost, url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if bypass != "" {
		req.Header.Set(bypassHeader, bypass)
	}
	t0 := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.Fatal(err)
	}
	took := time.Since(t0)
	var out struct {
		Data   json.RawMessage   `json:"data"`
		Errors []json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out.Data) == 0 || string(out.Data) == "null" {
		b.Fatalf("query %s: status %d, no data: %.300s", query, res.StatusCode, raw)
	}
	return result{rows: bytes.Count(out.Data, []byte(`"id":`)), bytes: len(raw), errors: len(out.Errors), took: took}
}

// withBypass bypasses SpiceDB for requests carrying bypassHeader: every
// check allowed, platform#support only for support@provider.example's
// requests, so that each persona's lists keep their shape (its domain; all
// domains for support). Each request runs under the profiler label
// mode=real or mode=bypass (a -cpuprofile then splits the handler's time by
// mode; SpiceDB's own goroutines carry no label).
func withBypass(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		label := "real"
		switch mode, domains, ok := strings.Cut(r.Header.Get(bypassHeader), ":"); {
		case !ok:
		default:
			label = "bypass"
			r = r.WithContext(authz.WithBypass(r.Context(), authz.Bypass{
				Support: mode == "support", Domains: strings.Split(domains, ","),
			}))
		}
		pprof.Do(r.Context(), pprof.Labels("mode", label), func(ctx context.Context) {
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	})
}

// spiceDBCalls reads pbxportal_spicedb_requests_total by method.
func spiceDBCalls(b *testing.B, a *app.App) map[string]float64 {
	b.Helper()
	families, err := a.Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "pbxportal_spicedb_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "method" {
					out[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

func diff(after, before map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for m, n := range after {
		if d := n - before[m]; d > 0 {
			out[m] = d
		}
	}
	return out
}

func sum(m map[string]float64) float64 {
	var s float64
	for _, n := range m {
		s += n
	}
	return s
}

// percentile is the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

// ratio is mode's time over the bypassed one.
func ratio(d [modeCount]time.Duration, mode int) float64 {
	return float64(d[mode]) / float64(d[modeBypassed])
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// peakRSS is the process's peak resident set (VmHWM) in MiB; 0 where
// /proc/self/status does not tell.
func peakRSS() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

// resetPeakRSS starts the peak over from the current RSS (Linux), so that
// the peak reported is the server's, not the generator's.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// unchangingWrite is a relationship that exists, the first recording of
// domain acme's: touching it writes nothing new while the revision moves on.
func unchangingWrite(a *app.App, acme int) authz.Relationship {
	rec := a.Client.Recording.Query().Where(recording.DomainID(acme)).FirstIDX(context.Background())
	return authz.Relationship{Resource: projection.Obj(projection.TypeRecording, rec), Relation: "domain",
		Subject: projection.Obj(projection.TypeDomain, acme)}
}

// writeRecording writes touch, a recording's relationship, through the
// outbox, and has the relay apply it, as a new recording's are.
func writeRecording(b *testing.B, a *app.App, touch authz.Relationship) {
	b.Helper()
	ctx := context.Background()
	if err := outbox.Write(ctx, a.Client, []authz.Relationship{touch}, nil); err != nil {
		b.Fatal(err)
	}
	if err := a.Relay.Apply(ctx); err != nil {
		b.Fatal(err)
	}
}

// forgetAll writes touch to SpiceDB outside the outbox, as the start-up
// rebuild does, which forgets every remembered answer, and records the new
// revision for every request to read at.
func forgetAll(b *testing.B, a *app.App, touch authz.Relationship) {
	b.Helper()
	if err := a.Relay.Exclusive(context.Background(), func(ctx context.Context) error {
		return a.Spice.WriteRelationships(ctx, []authz.Relationship{touch}, nil)
	}); err != nil {
		b.Fatal(err)
	}
}
