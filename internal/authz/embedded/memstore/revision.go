package memstore

import (
	"fmt"
	"strconv"

	"github.com/authzed/spicedb/pkg/datastore"
)

// Revision is a revision of the store: the nanosecond wall-clock time at
// which its write transaction committed, made strictly greater than every
// revision before it. A read at Revision R sees every write committed at or
// before R, so any R not after now names one state, whether or not a write
// committed exactly at R; that is what revision quantization and the GC
// window (both measured in time) need, and a revision from before a restart
// still orders before the rebuilt store's.
type Revision uint64

// RevisionFromString parses a Revision from its String form.
func RevisionFromString(s string) (Revision, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("memstore: malformed revision %q: %w", s, err)
	}
	return Revision(v), nil
}

// String is the revision's decimal form.
func (r Revision) String() string { return strconv.FormatUint(uint64(r), 10) }

// ByteSortable is false: decimal strings of different lengths do not sort
// as their numbers.
func (Revision) ByteSortable() bool { return false }

// Equal reports whether rhs is the same revision.
func (r Revision) Equal(rhs datastore.Revision) bool {
	o, ok := rhs.(Revision)
	return ok && o == r
}

// GreaterThan reports whether r is after rhs; every revision is after
// datastore.NoRevision.
func (r Revision) GreaterThan(rhs datastore.Revision) bool {
	if rhs == datastore.NoRevision {
		return true
	}
	o, ok := rhs.(Revision)
	return ok && r > o
}

// LessThan reports whether r is before rhs.
func (r Revision) LessThan(rhs datastore.Revision) bool {
	o, ok := rhs.(Revision)
	return ok && r < o
}

var _ datastore.Revision = Revision(0)
