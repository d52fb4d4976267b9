package memstore

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/tuple"
)

// reader reads the store at one revision: a snapshot's, or (inside a write
// transaction) pending, which also sees the transaction's own writes.
type reader struct {
	s       *Store
	rev     uint64
	now     time.Time
	initErr error
	tx      *rwTx
}

// lock takes the store's read lock for one bounded step of a read and
// checks that the read may still go on; call the returned unlock after.
func (r *reader) lock() (unlock func(), err error) {
	if r.initErr != nil {
		return nil, r.initErr
	}
	if r.tx != nil {
		if err := r.tx.begin(); err != nil {
			return nil, err
		}
	}
	r.s.mu.RLock()
	if r.s.closed {
		r.s.mu.RUnlock()
		return nil, ErrClosed
	}
	if r.rev < r.s.pruned {
		r.s.mu.RUnlock()
		return nil, datastore.NewInvalidRevisionErr(Revision(r.rev), datastore.RevisionStale)
	}
	return r.s.mu.RUnlock, nil
}

// QueryRelationships reads relationships from the resource side.
func (r *reader) QueryRelationships(_ context.Context, filter datastore.RelationshipsFilter, opts ...options.QueryOptionsOption) (datastore.RelationshipIterator, error) {
	if r.initErr != nil {
		return nil, r.initErr
	}
	q, err := planForward(filter, options.NewQueryOptionsWithOptions(opts...))
	if err != nil {
		return nil, err
	}
	return r.run(q), nil
}

// ReverseQueryRelationships reads relationships from the subject side.
func (r *reader) ReverseQueryRelationships(_ context.Context, sf datastore.SubjectsFilter, opts ...options.ReverseQueryOptionsOption) (datastore.RelationshipIterator, error) {
	if r.initErr != nil {
		return nil, r.initErr
	}
	return r.run(planReverse(sf, options.NewReverseQueryOptionsWithOptions(opts...))), nil
}

// run iterates a query: each batch is collected under the read lock, and
// yielded after it is released.
func (r *reader) run(q *query) datastore.RelationshipIterator {
	return func(yield func(tuple.Relationship, error) bool) {
		if q.sortForward {
			rels, err := r.sorted(q)
			if err != nil {
				yield(tuple.Relationship{}, err)
				return
			}
			for _, rel := range rels {
				if !yield(rel, nil) {
					return
				}
			}
			return
		}
		var st scanState
		var ids []uint32
		var rels []tuple.Relationship
		for n := firstBatch; !st.done; n = min(2*n, batchSize) {
			unlock, err := r.lock()
			if err != nil {
				yield(tuple.Relationship{}, err)
				return
			}
			ids = r.s.t.collect(q, &st, r.rev, r.now, n, ids[:0])
			rels = rels[:0]
			for _, id := range ids {
				rels = append(rels, r.s.t.relationship(id))
			}
			unlock()
			for _, rel := range rels {
				if !yield(rel, nil) {
					return
				}
			}
		}
	}
}

// sorted collects every match of q, sorts it in resource order and applies
// the limit.
func (r *reader) sorted(q *query) ([]tuple.Relationship, error) {
	unlock, err := r.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	t := r.s.t
	var st scanState
	ids := t.collect(q, &st, r.rev, r.now, int(^uint(0)>>1), nil)
	less := t.lessFunc(forwardOrder)
	sort.Slice(ids, func(i, j int) bool { return less(ids[i], ids[j]) })
	if q.hasLimit && uint64(len(ids)) > q.limit {
		ids = ids[:q.limit]
	}
	rels := make([]tuple.Relationship, 0, len(ids))
	for _, id := range ids {
		rels = append(rels, t.relationship(id))
	}
	return rels, nil
}

// ReadStoredSchema reads the unified stored schema.
func (r *reader) ReadStoredSchema(context.Context) (*datastore.ReadOnlyStoredSchema, error) {
	unlock, err := r.lock()
	if err != nil {
		return nil, err
	}
	v, ok := r.s.schema.at(r.rev)
	unlock()
	if !ok {
		return nil, datastore.ErrSchemaNotFound
	}
	stored := &core.StoredSchema{}
	if err := stored.UnmarshalVT(v.val.data); err != nil {
		return nil, fmt.Errorf("memstore: unmarshal stored schema: %w", err)
	}
	return datastore.NewReadOnlyStoredSchemaWithSize(stored, len(v.val.data)), nil
}

// LegacyReadNamespaceByName reads one namespace definition.
func (r *reader) LegacyReadNamespaceByName(_ context.Context, name string) (*core.NamespaceDefinition, datastore.Revision, error) {
	unlock, err := r.lock()
	if err != nil {
		return nil, datastore.NoRevision, err
	}
	var v *version[*core.NamespaceDefinition]
	ok := false
	if vs := r.s.namespaces[name]; vs != nil {
		v, ok = vs.at(r.rev)
	}
	unlock()
	if !ok {
		return nil, datastore.NoRevision, datastore.NewNamespaceNotFoundErr(name)
	}
	return definitionFor(r, v.val), Revision(v.created), nil
}

// LegacyListAllNamespaces lists every namespace definition, by name.
func (r *reader) LegacyListAllNamespaces(context.Context) ([]datastore.RevisionedNamespace, error) {
	return r.namespacesNamed(nil)
}

// LegacyLookupNamespacesWithNames reads the named namespace definitions
// that exist.
func (r *reader) LegacyLookupNamespacesWithNames(_ context.Context, names []string) ([]datastore.RevisionedNamespace, error) {
	if len(names) == 0 {
		return nil, nil
	}
	return r.namespacesNamed(names)
}

// namespacesNamed reads the named namespaces, or all when names is nil.
func (r *reader) namespacesNamed(names []string) ([]datastore.RevisionedNamespace, error) {
	found, err := visibleNamed(r, r.s.namespaceMap, names)
	if err != nil {
		return nil, err
	}
	out := make([]datastore.RevisionedNamespace, 0, len(found))
	for _, f := range found {
		out = append(out, datastore.RevisionedNamespace{Definition: definitionFor(r, f.v.val), LastWrittenRevision: Revision(f.v.created)})
	}
	return out, nil
}

func (s *Store) namespaceMap() map[string]*versions[*core.NamespaceDefinition] {
	return s.namespaces
}
func (s *Store) caveatMap() map[string]*versions[*core.CaveatDefinition] { return s.caveats }

// definitionFor returns a stored namespace or caveat definition to r's
// caller. A snapshot reader gets the stored definition itself, never
// copied: SpiceDB caches definitions per revision only, so it reads them
// again at every new revision, and decoding or copying them each time was
// most of what the first request at a new revision allocated. Sharing is
// safe because SpiceDB's read path never changes a definition it reads: its
// own schema cache hands one definition to every request at a revision
// (and, watching, at every revision). A write transaction gets a copy,
// since schema changes build on what they read.
func definitionFor[T interface{ CloneVT() T }](r *reader, def T) T {
	if r.tx != nil {
		return def.CloneVT()
	}
	return def
}

type named[T any] struct {
	name string
	v    *version[T]
}

// visibleNamed returns the values of m visible to r with the given names
// (all when names is nil), sorted by name.
func visibleNamed[T any](r *reader, m func() map[string]*versions[T], names []string) ([]named[T], error) {
	unlock, err := r.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []named[T]
	add := func(name string, vs *versions[T]) {
		if vs == nil {
			return
		}
		if v, ok := vs.at(r.rev); ok {
			out = append(out, named[T]{name, v})
		}
	}
	if names == nil {
		for name, vs := range m() {
			add(name, vs)
		}
	} else {
		for _, name := range sortedUnique(names) {
			add(name, m()[name])
		}
	}
	slices.SortFunc(out, func(a, b named[T]) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	return out, nil
}

// LegacyReadCaveatByName reads one caveat definition.
func (r *reader) LegacyReadCaveatByName(_ context.Context, name string) (*core.CaveatDefinition, datastore.Revision, error) {
	found, err := visibleNamed(r, r.s.caveatMap, []string{name})
	if err != nil {
		return nil, datastore.NoRevision, err
	}
	if len(found) == 0 {
		return nil, datastore.NoRevision, datastore.NewCaveatNameNotFoundErr(name)
	}
	return definitionFor(r, found[0].v.val), Revision(found[0].v.created), nil
}

// LegacyListAllCaveats lists every caveat definition.
func (r *reader) LegacyListAllCaveats(context.Context) ([]datastore.RevisionedCaveat, error) {
	return r.caveatsNamed(nil)
}

// LegacyLookupCaveatsWithNames reads the named caveat definitions that
// exist.
func (r *reader) LegacyLookupCaveatsWithNames(_ context.Context, names []string) ([]datastore.RevisionedCaveat, error) {
	if len(names) == 0 {
		return nil, nil
	}
	return r.caveatsNamed(names)
}

func (r *reader) caveatsNamed(names []string) ([]datastore.RevisionedCaveat, error) {
	found, err := visibleNamed(r, r.s.caveatMap, names)
	if err != nil {
		return nil, err
	}
	out := make([]datastore.RevisionedCaveat, 0, len(found))
	for _, f := range found {
		out = append(out, datastore.RevisionedCaveat{Definition: definitionFor(r, f.v.val), LastWrittenRevision: Revision(f.v.created)})
	}
	return out, nil
}

// LookupCounters lists the registered relationship counters.
func (r *reader) LookupCounters(context.Context) ([]datastore.RelationshipCounter, error) {
	found, err := visibleNamed(r, func() map[string]*versions[counterValue] { return r.s.counters }, nil)
	if err != nil {
		return nil, err
	}
	out := make([]datastore.RelationshipCounter, 0, len(found))
	for _, f := range found {
		filter := &core.RelationshipFilter{}
		if err := filter.UnmarshalVT(f.v.val.filter); err != nil {
			return nil, err
		}
		var computed datastore.Revision = datastore.NoRevision
		if f.v.val.hasRev {
			computed = f.v.val.updated
		}
		out = append(out, datastore.RelationshipCounter{Name: f.name, Filter: filter, Count: f.v.val.count, ComputedAtRevision: computed})
	}
	return out, nil
}

// CountRelationships counts the relationships that a registered counter's
// filter matches.
func (r *reader) CountRelationships(ctx context.Context, name string) (int, error) {
	counters, err := r.LookupCounters(ctx)
	if err != nil {
		return 0, err
	}
	i := slices.IndexFunc(counters, func(c datastore.RelationshipCounter) bool { return c.Name == name })
	if i < 0 {
		return 0, datastore.NewCounterNotRegisteredErr(name)
	}
	filter, err := datastore.RelationshipsFilterFromCoreFilter(counters[i].Filter)
	if err != nil {
		return 0, err
	}
	it, err := r.QueryRelationships(ctx, filter)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, err := range it {
		if err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

var _ datastore.Reader = (*reader)(nil)
