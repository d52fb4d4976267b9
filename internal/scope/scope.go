// Package scope holds the portal scopes (roles) in rank order (docs/product.md §2): the
// one list that the ent schema, the projection and the rules share.
package scope

import "slices"

// Ordered returns the scopes from the highest rank to the lowest.
func Ordered() []string {
	return []string{
		"SUPPORT", "OFFICE_MANAGER", "SITE_MANAGER", "CALL_CENTER_SUPERVISOR",
		"CALL_CENTER_AGENT", "ADVANCED_USER", "BASIC_USER", "NO_PORTAL",
	}
}

// Rank is a scope's position in Ordered: the lower, the stronger. An unknown
// scope ranks below every known one.
func Rank(s string) int {
	if i := slices.Index(Ordered(), s); i >= 0 {
		return i
	}
	return len(Ordered())
}

// Below reports whether scope a ranks strictly below scope b.
func Below(a, b string) bool { return Rank(a) > Rank(b) }
