// Package load drives a mixed workload of the demo personas against a
// pbxportal on loopback for a bounded time, and reports throughput, latency
// percentiles, errors by code, the server's memory, and every response that
// was wrong for its persona.
package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options are what a run does.
type Options struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:8080; it must be
	// on loopback.
	URL string
	// Clients is the number of concurrent clients.
	Clients int
	// Duration bounds the run (logins excluded).
	Duration time.Duration
	// Password is every persona's password.
	Password string
	// RSS reads the server's resident memory in bytes; nil when unknown.
	RSS func() (int64, error)
}

// Report is what a run measured.
type Report struct {
	Clients   int
	Duration  time.Duration
	Reads     Latencies
	Mutations Latencies
	// Errors counts the errors by extensions.code (TRANSPORT, HTTP_<status>
	// when there was no GraphQL answer).
	Errors map[string]int
	// Denied counts the fields a read was refused (FORBIDDEN on a field):
	// expected, the personas do not all see everything.
	Denied int
	// Wrong lists responses that broke an invariant of their persona.
	Wrong []string
	// RSSStart and RSSEnd are the server's resident memory (0 if unknown).
	RSSStart, RSSEnd int64
}

// Latencies are the durations of one kind of request.
type Latencies []time.Duration

// Percentile returns the p-th percentile (0 < p <= 100), 0 if empty.
func (l Latencies) Percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := append(Latencies(nil), l...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// OK reports whether the run had no error and no wrong response.
func (r *Report) OK() bool { return len(r.Errors) == 0 && len(r.Wrong) == 0 }

// String is the report for people.
func (r *Report) String() string {
	var b strings.Builder
	total := len(r.Reads) + len(r.Mutations)
	fmt.Fprintf(&b, "clients %d, %s: %d requests, %.1f/s (%d reads, %d mutations)\n",
		r.Clients, r.Duration.Round(time.Millisecond), total, float64(total)/r.Duration.Seconds(), len(r.Reads), len(r.Mutations))
	for _, k := range []struct {
		name string
		l    Latencies
	}{{"reads", r.Reads}, {"mutations", r.Mutations}} {
		fmt.Fprintf(&b, "%-9s p50 %v  p95 %v  p99 %v  max %v\n", k.name,
			ms(k.l.Percentile(50)), ms(k.l.Percentile(95)), ms(k.l.Percentile(99)), ms(k.l.Percentile(100)))
	}
	codes := make([]string, 0, len(r.Errors))
	for c := range r.Errors {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	fmt.Fprintf(&b, "errors:   %d", len(codes))
	for _, c := range codes {
		fmt.Fprintf(&b, " %s=%d", c, r.Errors[c])
	}
	fmt.Fprintf(&b, " (fields denied to their persona, expected: %d)\n", r.Denied)
	fmt.Fprintf(&b, "wrong for persona: %d\n", len(r.Wrong))
	for i, w := range r.Wrong {
		if i == 10 {
			fmt.Fprintf(&b, "  … and %d more\n", len(r.Wrong)-i)
			break
		}
		fmt.Fprintf(&b, "  %s\n", w)
	}
	if r.RSSStart > 0 {
		fmt.Fprintf(&b, "server RSS: start %.1f MiB, end %.1f MiB\n", mib(r.RSSStart), mib(r.RSSEnd))
	}
	return b.String()
}

func ms(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// CheckLoopback refuses a URL whose host is not a loopback address: the
// tool is for one's own machine, never a load on someone else's server.
func CheckLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("load: %q is not an http(s) URL", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("load: refusing %s: only loopback targets (127.0.0.0/8, ::1, localhost)", host)
}

// Run logs every client in as its persona, then drives the workload for
// opts.Duration and returns the report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := CheckLoopback(opts.URL); err != nil {
		return nil, err
	}
	if opts.Clients <= 0 || opts.Duration <= 0 {
		return nil, errors.New("load: clients and duration must be positive")
	}
	hc := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: opts.Clients, MaxConnsPerHost: opts.Clients},
	}
	defer hc.CloseIdleConnections()
	endpoint := strings.TrimSuffix(opts.URL, "/") + "/graphql"
	rec := &recorder{report: Report{Clients: opts.Clients, Errors: map[string]int{}}}
	clients := make([]*client, opts.Clients)
	personas := personas()
	for i := range clients {
		clients[i] = &client{http: hc, endpoint: endpoint, persona: personas[i%len(personas)], rec: rec,
			rng: rand.New(rand.NewPCG(uint64(i), 42))}
	}
	if err := setUp(ctx, clients, opts.Password); err != nil {
		return nil, err
	}
	if opts.RSS != nil {
		rec.report.RSSStart, _ = opts.RSS()
	}
	runCtx, cancel := context.WithTimeout(ctx, opts.Duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A step begun before the end runs to its end: no request is
			// cut short, no contact is left behind.
			for runCtx.Err() == nil {
				c.step(ctx)
			}
		}()
	}
	wg.Wait()
	rec.report.Duration = time.Since(start)
	if opts.RSS != nil {
		rec.report.RSSEnd, _ = opts.RSS()
	}
	return &rec.report, nil
}

// setUp logs the clients in (a few at a time: logins are deliberately slow)
// and learns what each persona's workload needs.
func setUp(ctx context.Context, clients []*client, password string) error {
	sem := make(chan struct{}, 4)
	errs := make([]error, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = c.setUp(ctx, password)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return checkVisibility(clients)
}

// recorder collects the measurements of all clients.
type recorder struct {
	mu     sync.Mutex
	report Report
}

func (r *recorder) observe(mutation bool, d time.Duration, codes []string, transport string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if mutation {
		r.report.Mutations = append(r.report.Mutations, d)
	} else {
		r.report.Reads = append(r.report.Reads, d)
	}
	if transport != "" {
		r.report.Errors[transport]++
	}
	for _, c := range codes {
		if c == "FORBIDDEN" && !mutation {
			r.report.Denied++
			continue
		}
		r.report.Errors[c]++
	}
}

func (r *recorder) wrong(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.report.Wrong = append(r.report.Wrong, fmt.Sprintf(format, args...))
}

// MetricsRSS returns a reader of the server's resident memory from its
// Prometheus metrics at metricsURL (process_resident_memory_bytes).
func MetricsRSS(metricsURL string) func() (int64, error) {
	return func() (int64, error) {
		res, err := http.Get(metricsURL)
		if err != nil {
			return 0, fmt.Errorf("load: read metrics: %w", err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
		if err != nil {
			return 0, fmt.Errorf("load: read metrics: %w", err)
		}
		for line := range strings.Lines(string(body)) {
			if v, ok := strings.CutPrefix(line, "process_resident_memory_bytes "); ok {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				return int64(f), err
			}
		}
		return 0, errors.New("load: no process_resident_memory_bytes in the metrics")
	}
}
