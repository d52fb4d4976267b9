package memstore

import (
	"math"
	"strings"
	"time"

	"github.com/google/btree"

	core "github.com/authzed/spicedb/pkg/proto/core/v1"
)

// Revision stamps in row versions. Committed revisions are wall-clock
// nanoseconds, far below both.
const (
	// live is the deleted stamp of a row version not deleted.
	live = math.MaxUint64
	// pending stamps what the open write transaction created or deleted; it
	// is replaced by the transaction's revision when it commits. It is after
	// every committed revision, so no snapshot sees a pending creation, and
	// every snapshot still sees a row whose deletion is pending.
	pending = math.MaxUint64 - 1
)

// Fields of a relationship, indexes into row.f.
const (
	fResType = iota
	fResID
	fResRel
	fSubType
	fSubID
	fSubRel
	nFields
)

// Key orders of the two indexes: forward (resource, then subject, the
// order SpiceDB calls ByResource) and reverse (subject, then resource:
// BySubject).
var (
	forwardOrder = [nFields]uint8{fResType, fResID, fResRel, fSubType, fSubID, fSubRel}
	reverseOrder = [nFields]uint8{fSubType, fSubID, fSubRel, fResType, fResID, fResRel}
)

// row is one version of a relationship: its six names as handles into the
// string table, and the revisions that created and deleted it. 48 bytes.
type row struct {
	f       [nFields]uint32
	created uint64
	deleted uint64
	// extra says the row has caveat, expiration or integrity data in
	// table.extras.
	extra bool
}

// visibleAt reports whether the version exists in the snapshot at rev.
func (r *row) visibleAt(rev uint64) bool { return r.created <= rev && rev < r.deleted }

// extra holds the rarely present parts of a relationship.
type extra struct {
	caveat     *core.ContextualizedCaveat
	expiration *time.Time
	integrity  *core.RelationshipIntegrity
}

const (
	chunkBits = 12
	chunkSize = 1 << chunkBits
	// probeBase is the first row id that names a probe rather than a row:
	// a search key made of strings, for seeking the indexes.
	probeBase  = math.MaxUint32 - probeSlots + 1
	probeSlots = 256
)

// probe is a search key of strings. Ids from probeBase up name the probes;
// a reader takes one from the free channel, so no two use one at once.
type probe struct {
	s [nFields]string
}

// table holds relationships: an arena of row versions in fixed chunks (so a
// row never moves), a string table that interns every name once, and two
// B-trees of row ids, one per key order. Every field is guarded by the
// store's lock.
type table struct {
	chunks   [][]row
	nextRow  uint32
	freeRows []uint32
	extras   map[uint32]*extra

	strs     []string
	refs     []uint32
	ids      map[string]uint32
	freeStrs []uint32

	fwd *btree.BTreeG[uint32]
	rev *btree.BTreeG[uint32]

	probes    [probeSlots]probe
	freeProbe chan uint32
}

func newTable() *table {
	t := &table{
		extras:    map[uint32]*extra{},
		strs:      []string{""},
		refs:      []uint32{0},
		ids:       map[string]uint32{"": 0},
		freeProbe: make(chan uint32, probeSlots),
	}
	for i := range uint32(probeSlots) {
		t.freeProbe <- probeBase + i
	}
	t.fwd = btree.NewG(64, t.lessFunc(forwardOrder))
	t.rev = btree.NewG(64, t.lessFunc(reverseOrder))
	return t
}

// row returns the row version with id.
func (t *table) row(id uint32) *row {
	return &t.chunks[id>>chunkBits][id&(chunkSize-1)]
}

// field returns field f of a row or a probe.
func (t *table) field(id uint32, f uint8) string {
	if id >= probeBase {
		return t.probes[id-probeBase].s[f]
	}
	return t.strs[t.row(id).f[f]]
}

// lessFunc orders row ids by their fields in order, as strings, then by id:
// every version of a relationship sits next to the others.
func (t *table) lessFunc(order [nFields]uint8) btree.LessFunc[uint32] {
	return func(a, b uint32) bool {
		if a < probeBase && b < probeBase {
			ra, rb := t.row(a), t.row(b)
			for _, f := range order {
				ha, hb := ra.f[f], rb.f[f]
				if ha != hb {
					return t.strs[ha] < t.strs[hb]
				}
			}
			return a < b
		}
		for _, f := range order {
			if c := strings.Compare(t.field(a, f), t.field(b, f)); c != 0 {
				return c < 0
			}
		}
		// A probe sorts before the rows with its fields, so seeking it finds
		// the first of them.
		return a >= probeBase && b < probeBase
	}
}

// lookup returns the handle of s, if it is interned.
func (t *table) lookup(s string) (uint32, bool) {
	h, ok := t.ids[s]
	return h, ok
}

// intern returns the handle of s, interning it, and counts one more
// reference to it. fresh says s was not interned before.
func (t *table) intern(s string) (h uint32, fresh bool) {
	h, ok := t.ids[s]
	if !ok {
		s = strings.Clone(s)
		if n := len(t.freeStrs); n > 0 {
			h = t.freeStrs[n-1]
			t.freeStrs = t.freeStrs[:n-1]
			t.strs[h] = s
		} else {
			h = uint32(len(t.strs))
			t.strs = append(t.strs, s)
			t.refs = append(t.refs, 0)
		}
		t.ids[s] = h
		fresh = true
	}
	if h != 0 {
		t.refs[h]++
	}
	return h, fresh
}

// release drops one reference to handle h, and forgets the string when it
// was the last.
func (t *table) release(h uint32) {
	if h == 0 {
		return
	}
	t.refs[h]--
	if t.refs[h] == 0 {
		delete(t.ids, t.strs[h])
		t.strs[h] = ""
		t.freeStrs = append(t.freeStrs, h)
	}
}

// insert adds a row version with the given fields and stamps to both
// indexes and returns its id.
func (t *table) insert(f [nFields]string, created uint64, ex *extra) (id uint32, fresh bool) {
	if n := len(t.freeRows); n > 0 {
		id = t.freeRows[n-1]
		t.freeRows = t.freeRows[:n-1]
	} else {
		id = t.nextRow
		if id>>chunkBits == uint32(len(t.chunks)) {
			t.chunks = append(t.chunks, make([]row, chunkSize))
		}
		t.nextRow++
	}
	r := t.row(id)
	for i := range f {
		var nf bool
		r.f[i], nf = t.intern(f[i])
		fresh = fresh || nf
	}
	r.created, r.deleted, r.extra = created, live, ex != nil
	if ex != nil {
		t.extras[id] = ex
	}
	t.fwd.ReplaceOrInsert(id)
	t.rev.ReplaceOrInsert(id)
	return id, fresh
}

// free removes a row version from both indexes and forgets it.
func (t *table) free(id uint32) {
	t.fwd.Delete(id)
	t.rev.Delete(id)
	r := t.row(id)
	for _, h := range r.f {
		t.release(h)
	}
	if r.extra {
		delete(t.extras, id)
	}
	*r = row{}
	t.freeRows = append(t.freeRows, id)
}

// takeProbe returns a probe id for a search key; give it back with
// putProbe.
func (t *table) takeProbe(f [nFields]string) uint32 {
	id := <-t.freeProbe
	t.probes[id-probeBase].s = f
	return id
}

func (t *table) putProbe(id uint32) {
	t.probes[id-probeBase].s = [nFields]string{}
	t.freeProbe <- id
}

// find returns the id of the version of the relationship with fields f that
// is visible at rev.
func (t *table) find(f [nFields]string, rev uint64) (uint32, bool) {
	var key [nFields]uint32
	for i, s := range f {
		h, ok := t.lookup(s)
		if !ok {
			return 0, false
		}
		key[i] = h
	}
	p := t.takeProbe(f)
	defer t.putProbe(p)
	var found uint32
	ok := false
	t.fwd.AscendGreaterOrEqual(p, func(id uint32) bool {
		r := t.row(id)
		if r.f != key {
			return false
		}
		if r.visibleAt(rev) {
			found, ok = id, true
			return false
		}
		return true
	})
	return found, ok
}
