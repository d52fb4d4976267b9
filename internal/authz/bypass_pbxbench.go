//go:build pbxbench

package authz

import (
	"context"
	"time"
)

// Bypass answers a request's permission checks without SpiceDB, to measure
// what authorization costs against a server that does none. It exists only
// in the benchmark build (-tags pbxbench), never in the pbxportal binary.
//
// Every check is allowed but platform#support, which answers Support: the
// access predicates then become what a domain-wide grant gives (the
// viewer's domain; every domain for support), so a bypassed query returns
// the same shape of data as the real one, without a lookup.
type Bypass struct {
	Support bool
	// Domains are the ids of the domains the viewer reaches as a whole (its
	// own; every one for support): a bypassed lookup of domains answers
	// them, and a lookup of any other type answers nothing, so that a list
	// filter becomes what a domain-wide grant gives.
	Domains []string
}

type bypassKey struct{}

// WithBypass returns ctx whose requests' batchers answer by b.
func WithBypass(ctx context.Context, b Bypass) context.Context {
	return context.WithValue(ctx, bypassKey{}, b)
}

// bypassed answers checks by the context's Bypass, if it has one.
func bypassed(ctx context.Context, checks []Check) ([]bool, bool) {
	b, ok := ctx.Value(bypassKey{}).(Bypass)
	if !ok {
		return nil, false
	}
	out := make([]bool, len(checks))
	for i, ch := range checks {
		out[i] = ch.Permission != "support" || ch.Resource.Type != "platform" || b.Support
	}
	return out, true
}

// bypassedLookup answers a lookup by the context's Bypass, if it has one.
func bypassedLookup(ctx context.Context, resourceType string) ([]string, bool) {
	b, ok := ctx.Value(bypassKey{}).(Bypass)
	if !ok {
		return nil, false
	}
	if resourceType == "domain" {
		return b.Domains, true
	}
	return nil, true
}

// Pause ages every answer remembered so far past answerCacheMaxAge, as if
// the client had been idle that long: the benchmark's next request finds
// what the first request after a pause finds (SpiceDB's answers forgotten
// unless they are kept until changed, the database's lookups kept).
func (c *Client) Pause() {
	for _, a := range []*answerCache{&c.answers, &c.localAnswers} {
		a.mu.Lock()
		for _, r := range a.revisions {
			r.since = time.Now().Add(-answerCacheMaxAge - time.Second)
		}
		a.mu.Unlock()
	}
}
