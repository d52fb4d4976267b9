package server

import (
	"time"
)

// Limits bound what one GraphQL request may cost. A request over a bound is
// refused before it runs, with LIMIT_EXCEEDED (or BAD_USER_INPUT naming the
// argument, for an input the store cannot take). A zero field takes its
// default (DefaultLimits).
type Limits struct {
	// MaxBodyBytes bounds the request body; a longer one is refused
	// (HTTP 413) without being read further.
	MaxBodyBytes int64
	// MaxQueryTokens bounds the lexical tokens of the query text, so that
	// parsing and validating it is cheap.
	MaxQueryTokens int
	// MaxComplexity bounds the estimated cost of an operation: every field
	// costs 1, and a connection multiplies what it selects by its page size
	// (first or last, else the default page size), a list edge by
	// ListFactor.
	MaxComplexity int
	// ListFactor is how many items a list edge without paging (a group's
	// members, a queue's supervisors) is assumed to hold.
	ListFactor int
	// MaxDepth bounds the nesting of selections (introspection aside,
	// which the validator bounds on its own).
	MaxDepth int
	// MaxAliases bounds the aliased fields of an operation.
	MaxAliases int
	// MaxRootFields bounds the fields selected at the root of an operation.
	MaxRootFields int
	// MaxInputList bounds every list in the arguments, and MaxFilterList
	// every list inside a where input (idIn, or, ...).
	MaxInputList, MaxFilterList int
	// MaxInputString bounds every string in the arguments, and
	// MaxFilterString every string inside a where input (LIKE patterns).
	MaxInputString, MaxFilterString int
	// MaxInputNodes bounds the values, nested ones included, of all the
	// arguments of an operation together.
	MaxInputNodes int
	// Timeout bounds how long one request runs; past it, what is still
	// running is cancelled and answers LIMIT_EXCEEDED.
	Timeout time.Duration
}

// DefaultLimits are the limits of a server that is not told otherwise. They
// admit every query of the product's screens with room to spare.
func DefaultLimits() Limits {
	return Limits{
		MaxBodyBytes:    1 << 20,
		MaxQueryTokens:  10_000,
		MaxComplexity:   50_000,
		ListFactor:      10,
		MaxDepth:        12,
		MaxAliases:      30,
		MaxRootFields:   20,
		MaxInputList:    1000,
		MaxFilterList:   100,
		MaxInputString:  16 << 10,
		MaxFilterString: 256,
		MaxInputNodes:   2000,
		Timeout:         30 * time.Second,
	}
}

// withDefaults fills every zero field of l from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	fill := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = d.MaxBodyBytes
	}
	fill(&l.MaxQueryTokens, d.MaxQueryTokens)
	fill(&l.MaxComplexity, d.MaxComplexity)
	fill(&l.ListFactor, d.ListFactor)
	fill(&l.MaxDepth, d.MaxDepth)
	fill(&l.MaxAliases, d.MaxAliases)
	fill(&l.MaxRootFields, d.MaxRootFields)
	fill(&l.MaxInputList, d.MaxInputList)
	fill(&l.MaxFilterList, d.MaxFilterList)
	fill(&l.MaxInputString, d.MaxInputString)
	fill(&l.MaxFilterString, d.MaxFilterString)
	fill(&l.MaxInputNodes, d.MaxInputNodes)
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	return l
}
