//go:build pbxbench

package authz

import "context"

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
