package memstore

import (
	"slices"
	"strings"
	"time"

	"github.com/google/btree"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
	"github.com/authzed/spicedb/pkg/tuple"
)

// A reader collects relationships under the read lock in batches, and lets
// SpiceDB consume each after releasing it. The first batch is small, since
// most queries (a check) want a few rows; each next one is twice as large,
// up to batchSize.
const (
	firstBatch = 16
	batchSize  = 1024
)

// keyRange is a run of one index: the rows whose first n fields, in the
// index's order, equal key's.
type keyRange struct {
	key [nFields]string // by field
	n   int
}

// query is a planned read: which index, which runs of it, and the filter
// every row must pass.
type query struct {
	useReverse bool
	ranges     []keyRange

	// The filter, on strings.
	resType     string
	resIDs      []string
	resIDSet    map[string]struct{}
	resIDPrefix string
	resRel      string
	selectors   []datastore.SubjectsSelector
	caveat      datastore.CaveatNameFilter
	expiration  datastore.ExpirationFilterOption
	skipCaveats bool
	// includeExpired keeps relationships whose expiration has passed.
	includeExpired bool

	// cursor, when set, keeps only rows after it in cursorOrder.
	cursor      *[nFields]string
	cursorOrder [nFields]uint8
	// sortForward collects every match and sorts it in resource order
	// before the cursor and limit apply (a reverse query sorted by
	// resource).
	sortForward bool
	limit       uint64
	hasLimit    bool
}

// scanState is where a batched scan stopped.
type scanState struct {
	ri      int
	last    uint32
	hasLast bool
	count   uint64
	done    bool
}

func (t *table) tree(reverse bool) (*btree.BTreeG[uint32], [nFields]uint8) {
	if reverse {
		return t.rev, reverseOrder
	}
	return t.fwd, forwardOrder
}

// collect appends to ids up to max matching rows visible at rev, resuming
// at st. The caller holds the store's lock.
func (t *table) collect(q *query, st *scanState, rev uint64, now time.Time, max int, ids []uint32) []uint32 {
	tree, order := t.tree(q.useReverse)
	for st.ri < len(q.ranges) && !st.done {
		rg := &q.ranges[st.ri]
		var prefix [nFields]uint32
		missing := false
		for k := 0; k < rg.n; k++ {
			h, ok := t.lookup(rg.key[order[k]])
			if !ok {
				missing = true
				break
			}
			prefix[k] = h
		}
		if missing {
			st.ri++
			st.hasLast = false
			continue
		}
		var pivot uint32
		var probe uint32
		if st.hasLast {
			pivot = st.last
		} else {
			start := rg.key
			for k := rg.n; k < nFields; k++ {
				start[order[k]] = ""
			}
			if q.cursor != nil && q.cursorOrder == order && compareKeys(*q.cursor, start, order) > 0 {
				start = *q.cursor
			}
			probe = t.takeProbe(start)
			pivot = probe
		}
		full, ended := false, true
		tree.AscendGreaterOrEqual(pivot, func(id uint32) bool {
			if st.hasLast && id == st.last {
				return true
			}
			r := t.row(id)
			for k := 0; k < rg.n; k++ {
				if r.f[order[k]] != prefix[k] {
					return false
				}
			}
			st.last, st.hasLast = id, true
			if !r.visibleAt(rev) || !t.matches(q, id, r, now) {
				return true
			}
			ids = append(ids, id)
			st.count++
			if q.hasLimit && !q.sortForward && st.count >= q.limit {
				st.done = true
				ended = false
				return false
			}
			if len(ids) >= max {
				full, ended = true, false
				return false
			}
			return true
		})
		if probe != 0 {
			t.putProbe(probe)
		}
		if st.done {
			break
		}
		if ended || !full {
			st.ri++
			st.hasLast = false
			continue
		}
		return ids
	}
	if st.ri >= len(q.ranges) {
		st.done = true
	}
	return ids
}

// compareKeys compares two keys of strings in order.
func compareKeys(a, b [nFields]string, order [nFields]uint8) int {
	for _, f := range order {
		if c := strings.Compare(a[f], b[f]); c != 0 {
			return c
		}
	}
	return 0
}

// rowKey is the fields of a row as strings.
func (t *table) rowKey(r *row) [nFields]string {
	var k [nFields]string
	for i, h := range r.f {
		k[i] = t.strs[h]
	}
	return k
}

// matches applies the query's filter to a row.
func (t *table) matches(q *query, id uint32, r *row, now time.Time) bool {
	s := t.strs
	if q.resType != "" && s[r.f[fResType]] != q.resType {
		return false
	}
	if q.resRel != "" && s[r.f[fResRel]] != q.resRel {
		return false
	}
	if len(q.resIDs) > 0 {
		id := s[r.f[fResID]]
		if q.resIDSet != nil {
			if _, ok := q.resIDSet[id]; !ok {
				return false
			}
		} else if !slices.Contains(q.resIDs, id) {
			return false
		}
	}
	if q.resIDPrefix != "" && !strings.HasPrefix(s[r.f[fResID]], q.resIDPrefix) {
		return false
	}
	if len(q.selectors) > 0 {
		sub := tuple.ObjectAndRelation{ObjectType: s[r.f[fSubType]], ObjectID: s[r.f[fSubID]], Relation: s[r.f[fSubRel]]}
		if !slices.ContainsFunc(q.selectors, func(sel datastore.SubjectsSelector) bool { return selectorMatches(sel, sub) }) {
			return false
		}
	}
	var ex *extra
	if r.extra {
		ex = t.extras[id]
	}
	hasCaveat := ex != nil && ex.caveat != nil && ex.caveat.CaveatName != ""
	switch q.caveat.Option {
	case datastore.CaveatFilterOptionHasMatchingCaveat:
		if !hasCaveat || ex.caveat.CaveatName != q.caveat.CaveatName {
			return false
		}
	case datastore.CaveatFilterOptionNoCaveat:
		if hasCaveat {
			return false
		}
	}
	hasExpiration := ex != nil && ex.expiration != nil
	switch q.expiration {
	case datastore.ExpirationFilterOptionHasExpiration:
		if !hasExpiration {
			return false
		}
	case datastore.ExpirationFilterOptionNoExpiration:
		if hasExpiration {
			return false
		}
	}
	if q.skipCaveats && ex != nil && ex.caveat != nil {
		return false
	}
	if !q.includeExpired && hasExpiration && ex.expiration.Before(now) {
		return false
	}
	if q.cursor != nil && compareKeys(t.rowKey(r), *q.cursor, q.cursorOrder) <= 0 {
		return false
	}
	return true
}

// selectorMatches is memdb's subject selector test.
func selectorMatches(sel datastore.SubjectsSelector, sub tuple.ObjectAndRelation) bool {
	if sel.OptionalSubjectType != "" && sel.OptionalSubjectType != sub.ObjectType {
		return false
	}
	if len(sel.OptionalSubjectIds) > 0 && !slices.Contains(sel.OptionalSubjectIds, sub.ObjectID) {
		return false
	}
	if sel.RelationFilter.OnlyNonEllipsisRelations {
		return sub.Relation != datastore.Ellipsis
	}
	any := true
	if sel.RelationFilter.IncludeEllipsisRelation {
		any = false
		if sub.Relation == datastore.Ellipsis {
			return true
		}
	}
	if sel.RelationFilter.NonEllipsisRelation != "" {
		any = false
		if sub.Relation == sel.RelationFilter.NonEllipsisRelation {
			return true
		}
	}
	return any
}

// relationship builds a row's relationship; the caller holds the lock.
func (t *table) relationship(id uint32) tuple.Relationship {
	r := t.row(id)
	s := t.strs
	rel := tuple.Relationship{
		RelationshipReference: tuple.RelationshipReference{
			Resource: tuple.ObjectAndRelation{ObjectType: s[r.f[fResType]], ObjectID: s[r.f[fResID]], Relation: s[r.f[fResRel]]},
			Subject:  tuple.ObjectAndRelation{ObjectType: s[r.f[fSubType]], ObjectID: s[r.f[fSubID]], Relation: s[r.f[fSubRel]]},
		},
	}
	if r.extra {
		if ex := t.extras[id]; ex != nil {
			if ex.caveat != nil {
				rel.OptionalCaveat = ex.caveat.CloneVT()
			}
			if ex.expiration != nil {
				e := *ex.expiration
				rel.OptionalExpiration = &e
			}
			if ex.integrity != nil {
				rel.OptionalIntegrity = ex.integrity.CloneVT()
			}
		}
	}
	return rel
}

// sortedUnique returns the strings sorted, without repeats.
func sortedUnique(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// subjectRanges are the runs of the reverse index for one selector, of
// relationships of resource type resType ("" for any). A run is as narrow
// as the key's order allows: with the subjects' ids, and the one subject
// relation the selector matches, if it matches one, it is also of the
// resource type. An arrow's lookup asks for the resources of one type and
// relation whose relation points at given subjects (the sites of
// domain:1); without the narrower run it would walk every relationship
// naming those subjects (every recording and user of domain:1) and filter.
func subjectRanges(sel datastore.SubjectsSelector, resType string) []keyRange {
	if len(sel.OptionalSubjectIds) == 0 {
		var k [nFields]string
		k[fSubType] = sel.OptionalSubjectType
		return []keyRange{{key: k, n: 1}}
	}
	subRel, pinned := pinnedRelation(sel.RelationFilter)
	ids := sortedUnique(sel.OptionalSubjectIds)
	out := make([]keyRange, 0, len(ids))
	for _, id := range ids {
		var k [nFields]string
		k[fSubType], k[fSubID] = sel.OptionalSubjectType, id
		n := 2
		if pinned {
			k[fSubRel], n = subRel, 3
			if resType != "" {
				k[fResType], n = resType, 4
			}
		}
		out = append(out, keyRange{key: k, n: n})
	}
	return out
}

// pinnedRelation is the one subject relation that f matches, if it
// matches exactly one (as selectorMatches decides).
func pinnedRelation(f datastore.SubjectRelationFilter) (string, bool) {
	switch {
	case f.OnlyNonEllipsisRelations:
		return "", false
	case f.IncludeEllipsisRelation && f.NonEllipsisRelation == "":
		return datastore.Ellipsis, true
	case !f.IncludeEllipsisRelation && f.NonEllipsisRelation != "":
		return f.NonEllipsisRelation, true
	}
	return "", false
}

// cursorKey is a cursor's relationship as a key.
func cursorKey(c options.Cursor) *[nFields]string {
	if c == nil {
		return nil
	}
	return &[nFields]string{
		fResType: c.Resource.ObjectType, fResID: c.Resource.ObjectID, fResRel: c.Resource.Relation,
		fSubType: c.Subject.ObjectType, fSubID: c.Subject.ObjectID, fSubRel: c.Subject.Relation,
	}
}

// planForward plans a QueryRelationships.
func planForward(filter datastore.RelationshipsFilter, qo *options.QueryOptions) (*query, error) {
	if qo.After != nil && qo.Sort == options.Unsorted {
		return nil, datastore.ErrCursorsWithoutSorting
	}
	q := &query{
		resType:     filter.OptionalResourceType,
		resIDs:      filter.OptionalResourceIds,
		resIDPrefix: filter.OptionalResourceIDPrefix,
		resRel:      filter.OptionalResourceRelation,
		selectors:   filter.OptionalSubjectsSelectors,
		caveat:      filter.OptionalCaveatNameFilter,
		expiration:  filter.OptionalExpirationOption,
		skipCaveats: qo.SkipCaveats,
	}
	q.includeExpired = qo.SkipExpiration
	if len(q.resIDs) > 8 {
		q.resIDSet = make(map[string]struct{}, len(q.resIDs))
		for _, id := range q.resIDs {
			q.resIDSet[id] = struct{}{}
		}
	}
	if qo.Limit != nil {
		q.limit, q.hasLimit = *qo.Limit, true
	}
	single := len(q.selectors) == 1 && q.selectors[0].OptionalSubjectType != ""
	switch {
	case qo.Sort == options.BySubject:
		q.useReverse = true
		if single {
			q.ranges = subjectRanges(q.selectors[0], q.resType)
		} else {
			q.ranges = []keyRange{{}}
		}
		q.cursor, q.cursorOrder = cursorKey(qo.After), reverseOrder
		return q, nil
	case q.resType != "":
		if len(q.resIDs) > 0 {
			for _, id := range sortedUnique(q.resIDs) {
				var k [nFields]string
				k[fResType], k[fResID], k[fResRel] = q.resType, id, q.resRel
				n := 2
				if q.resRel != "" {
					n = 3
				}
				q.ranges = append(q.ranges, keyRange{key: k, n: n})
			}
		} else {
			var k [nFields]string
			k[fResType] = q.resType
			q.ranges = []keyRange{{key: k, n: 1}}
		}
	case qo.Sort == options.Unsorted && single:
		q.useReverse = true
		q.ranges = subjectRanges(q.selectors[0], q.resType)
	default:
		q.ranges = []keyRange{{}}
	}
	if qo.Sort != options.Unsorted {
		q.cursor, q.cursorOrder = cursorKey(qo.After), forwardOrder
	}
	return q, nil
}

// planReverse plans a ReverseQueryRelationships.
func planReverse(sf datastore.SubjectsFilter, qo *options.ReverseQueryOptions) *query {
	q := &query{
		selectors:      []datastore.SubjectsSelector{sf.AsSelector()},
		skipCaveats:    qo.SkipCaveatsForReverse,
		includeExpired: qo.SkipExpirationForReverse,
		useReverse:     true,
	}
	if qo.ResRelation != nil {
		q.resType, q.resRel = qo.ResRelation.Namespace, qo.ResRelation.Relation
	}
	if qo.LimitForReverse != nil {
		q.limit, q.hasLimit = *qo.LimitForReverse, true
	}
	if sf.SubjectType != "" {
		q.ranges = subjectRanges(q.selectors[0], q.resType)
	} else {
		q.ranges = []keyRange{{}}
	}
	switch qo.SortForReverse {
	case options.BySubject:
		q.cursor, q.cursorOrder = cursorKey(qo.AfterForReverse), reverseOrder
	case options.ByResource:
		q.sortForward = true
		q.cursor, q.cursorOrder = cursorKey(qo.AfterForReverse), forwardOrder
	case options.ChooseEfficient:
		if qo.AfterForReverse != nil || q.hasLimit {
			q.sortForward = true
			q.cursor, q.cursorOrder = cursorKey(qo.AfterForReverse), forwardOrder
		}
	}
	return q
}
