package memstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/spiceerrors"
	"github.com/authzed/spicedb/pkg/tuple"
)

// writeChunk is how many mutations a write applies under the store's lock
// before it lets readers in.
const writeChunk = 1024

// rowChange is a row version that the transaction created or deleted.
type rowChange struct {
	id      uint32
	created bool
}

// rwTx is a write transaction. It reads at pending, so it sees its own
// writes; the rows and values it creates or deletes carry pending until it
// commits, so no snapshot sees them before.
type rwTx struct {
	reader

	// mu serialises the transaction's own use from several goroutines.
	mu      sync.Mutex
	started bool // holds s.writeSlot
	// ctx bounds the wait for the write slot.
	ctx context.Context

	rows []rowChange
	// fix are the pending stamps of small values, set at commit.
	fix []*uint64
	// undo reverts the small-value changes, last first, at rollback.
	undo []func()
}

func newTx(ctx context.Context, s *Store) *rwTx {
	tx := &rwTx{ctx: ctx}
	tx.reader = reader{s: s, rev: pending, now: time.Now(), tx: tx}
	return tx
}

// begin takes the store's write lock on the transaction's first use.
func (tx *rwTx) begin() error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.beginLocked()
}

func (tx *rwTx) beginLocked() error {
	if !tx.started {
		select {
		case tx.s.writeSlot <- struct{}{}:
		case <-tx.ctx.Done():
			return fmt.Errorf("memstore: wait for the write transaction before this one: %w", tx.ctx.Err())
		}
		tx.started = true
	}
	tx.s.mu.RLock()
	defer tx.s.mu.RUnlock()
	if tx.s.closed {
		return ErrClosed
	}
	return nil
}

// write runs f with the transaction begun and the store locked for
// writing.
func (tx *rwTx) write(f func() error) error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if err := tx.beginLocked(); err != nil {
		return err
	}
	tx.s.mu.Lock()
	defer tx.s.mu.Unlock()
	if tx.s.closed { // Close may have run since beginLocked looked
		return ErrClosed
	}
	return f()
}

// commit stamps the transaction's changes with a new revision, frees what
// it created and deleted itself, and collects garbage.
func (tx *rwTx) commit() (datastore.Revision, error) {
	s := tx.s
	if !tx.started {
		s.mu.RLock()
		defer s.mu.RUnlock()
		if s.closed {
			return datastore.NoRevision, ErrClosed
		}
		s.issue(s.head)
		return Revision(s.head), nil
	}
	defer func() { <-s.writeSlot }()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return datastore.NoRevision, ErrClosed
	}
	now := s.now()
	rev := max(now, s.head+1, s.issued.Load()+1)
	t := s.t
	for _, c := range tx.rows {
		r := t.row(c.id)
		if r.created == pending && r.deleted == pending {
			t.free(c.id)
			continue
		}
		if c.created && r.created == pending {
			r.created = rev
			s.liveRows++
		}
		if !c.created && r.deleted == pending {
			r.deleted = rev
			s.liveRows--
			s.gcQueue = append(s.gcQueue, gcEntry{rev: rev, id: c.id})
		}
	}
	for _, p := range tx.fix {
		if *p == pending {
			*p = rev
		}
	}
	s.head = rev
	s.gcLocked(now)
	return Revision(rev), nil
}

// rollback undoes the transaction's changes.
func (tx *rwTx) rollback() {
	if !tx.started {
		return
	}
	s := tx.s
	defer func() { <-s.writeSlot }()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	for _, c := range slices.Backward(tx.rows) {
		r := s.t.row(c.id)
		if c.created && r.created == pending {
			s.t.free(c.id)
		}
		if !c.created && r.deleted == pending {
			r.deleted = live
		}
	}
	for _, u := range slices.Backward(tx.undo) {
		u()
	}
}

// gcLocked frees the row versions and values deleted longer than the GC
// window before now. The caller holds s.mu for writing.
func (s *Store) gcLocked(now uint64) {
	if now <= s.window {
		return
	}
	horizon := now - s.window
	for s.gcNext < len(s.gcQueue) && s.gcQueue[s.gcNext].rev <= horizon {
		e := s.gcQueue[s.gcNext]
		s.gcNext++
		if s.t.row(e.id).deleted == e.rev {
			s.t.free(e.id)
			s.pruned = max(s.pruned, e.rev)
		}
	}
	if s.gcNext > 1024 && s.gcNext > len(s.gcQueue)/2 {
		s.gcQueue = slices.Clone(s.gcQueue[s.gcNext:])
		s.gcNext = 0
	}
	s.pruned = max(s.pruned, pruneMap(s.namespaces, horizon), pruneMap(s.caveats, horizon), pruneMap(s.counters, horizon))
	var newest uint64
	s.schema, newest = s.schema.prune(horizon)
	s.pruned = max(s.pruned, newest)
}

func pruneMap[T any](m map[string]*versions[T], horizon uint64) uint64 {
	var newest uint64
	for name, vs := range m {
		var n uint64
		*vs, n = vs.prune(horizon)
		newest = max(newest, n)
		if len(*vs) == 0 {
			delete(m, name)
		}
	}
	return newest
}

// setVersion makes val the value of vs from this transaction on. The caller
// holds s.mu for writing.
func setVersion[T any](tx *rwTx, vs *versions[T], val T) {
	if cur, ok := vs.at(pending); ok {
		deleteVersion(tx, cur)
	}
	nv := &version[T]{created: pending, deleted: live, val: val}
	*vs = append(*vs, nv)
	tx.fix = append(tx.fix, &nv.created)
	tx.undo = append(tx.undo, func() {
		*vs = slices.DeleteFunc(*vs, func(v *version[T]) bool { return v == nv })
	})
}

// deleteVersion deletes v from this transaction on.
func deleteVersion[T any](tx *rwTx, v *version[T]) {
	v.deleted = pending
	tx.fix = append(tx.fix, &v.deleted)
	tx.undo = append(tx.undo, func() { v.deleted = live })
}

// setNamed sets the value called name in m.
func setNamed[T any](tx *rwTx, m map[string]*versions[T], name string, val T) {
	vs := m[name]
	if vs == nil {
		vs = &versions[T]{}
		m[name] = vs
	}
	setVersion(tx, vs, val)
}

// currentNamed returns the value called name in m as the transaction sees
// it.
func currentNamed[T any](m map[string]*versions[T], name string) (*version[T], bool) {
	vs := m[name]
	if vs == nil {
		return nil, false
	}
	return vs.at(pending)
}

// WriteRelationships applies creates, touches and deletes.
func (tx *rwTx) WriteRelationships(_ context.Context, mutations []tuple.RelationshipUpdate) error {
	for chunk := range slices.Chunk(mutations, writeChunk) {
		if err := tx.write(func() error {
			for _, m := range chunk {
				if err := tx.apply(m.Operation, &m.Relationship); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// apply applies one mutation; the caller holds s.mu for writing.
func (tx *rwTx) apply(op tuple.UpdateOperation, rel *tuple.Relationship) error {
	t := tx.s.t
	f := [nFields]string{
		fResType: rel.Resource.ObjectType, fResID: rel.Resource.ObjectID, fResRel: rel.Resource.Relation,
		fSubType: rel.Subject.ObjectType, fSubID: rel.Subject.ObjectID, fSubRel: rel.Subject.Relation,
	}
	existing, exists := t.find(f, pending)
	switch op {
	case tuple.UpdateOperationCreate:
		if exists {
			found := t.relationship(existing)
			return datastore.NewCreateRelationshipExistsError(&found)
		}
	case tuple.UpdateOperationTouch:
		if exists {
			if tx.same(existing, rel) {
				return nil
			}
			tx.deleteRow(existing)
		}
	case tuple.UpdateOperationDelete:
		if exists {
			tx.deleteRow(existing)
		}
		return nil
	default:
		return spiceerrors.MustBugf("unknown relationship update operation %v", op)
	}
	id, _ := t.insert(f, pending, extraOf(rel))
	tx.rows = append(tx.rows, rowChange{id: id, created: true})
	return nil
}

// same reports whether the stored row is rel, caveat and expiration
// included (a touch of it changes nothing).
func (tx *rwTx) same(id uint32, rel *tuple.Relationship) bool {
	r := tx.s.t.row(id)
	if !r.extra && rel.OptionalCaveat == nil && rel.OptionalExpiration == nil && rel.OptionalIntegrity == nil {
		return true
	}
	a, errA := tuple.String(tx.s.t.relationship(id))
	b, errB := tuple.String(*rel)
	return errA == nil && errB == nil && a == b
}

func (tx *rwTx) deleteRow(id uint32) {
	tx.s.t.row(id).deleted = pending
	tx.rows = append(tx.rows, rowChange{id: id})
}

// extraOf copies the rarely present parts of rel, or returns nil.
func extraOf(rel *tuple.Relationship) *extra {
	if rel.OptionalCaveat == nil && rel.OptionalExpiration == nil && rel.OptionalIntegrity == nil {
		return nil
	}
	ex := &extra{}
	if rel.OptionalCaveat != nil {
		ex.caveat = rel.OptionalCaveat.CloneVT()
	}
	if rel.OptionalExpiration != nil {
		e := *rel.OptionalExpiration
		ex.expiration = &e
	}
	if rel.OptionalIntegrity != nil {
		ex.integrity = rel.OptionalIntegrity.CloneVT()
	}
	return ex
}

// DeleteRelationships deletes the relationships that filter matches, at
// most the limit if one is given.
func (tx *rwTx) DeleteRelationships(_ context.Context, filter *v1.RelationshipFilter, opts ...options.DeleteOptionsOption) (uint64, bool, error) {
	dsFilter, err := datastore.RelationshipsFilterFromPublicFilter(filter)
	if err != nil {
		return 0, false, err
	}
	delOpts := options.NewDeleteOptionsWithOptionsAndDefaults(opts...)
	var limit uint64
	if delOpts.DeleteLimit != nil && *delOpts.DeleteLimit > 0 {
		limit = *delOpts.DeleteLimit
	}
	var n uint64
	err = tx.write(func() error {
		n = tx.deleteMatching(dsFilter, limit)
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return n, limit > 0 && n == limit, nil
}

// deleteMatching deletes what filter matches, up to limit if positive; the
// caller holds s.mu for writing.
func (tx *rwTx) deleteMatching(filter datastore.RelationshipsFilter, limit uint64) uint64 {
	qo := &options.QueryOptions{SkipExpiration: true}
	if limit > 0 {
		qo.Limit = &limit
	}
	q, err := planForward(filter, qo)
	if err != nil {
		return 0
	}
	var st scanState
	ids := tx.s.t.collect(q, &st, pending, tx.now, int(^uint(0)>>1), nil)
	for _, id := range ids {
		tx.deleteRow(id)
	}
	return uint64(len(ids))
}

// BulkLoad creates every relationship that source yields.
func (tx *rwTx) BulkLoad(ctx context.Context, source datastore.BulkWriteRelationshipSource) (uint64, error) {
	var n uint64
	batch := make([]tuple.Relationship, 0, writeChunk)
	flush := func() error {
		err := tx.write(func() error {
			for i := range batch {
				if err := tx.apply(tuple.UpdateOperationCreate, &batch[i]); err != nil {
					return err
				}
			}
			return nil
		})
		n += uint64(len(batch))
		batch = batch[:0]
		return err
	}
	for {
		rel, err := source.Next(ctx)
		if err != nil {
			return 0, err
		}
		if rel == nil {
			break
		}
		c := *rel
		if ex := extraOf(rel); ex != nil {
			c.OptionalCaveat, c.OptionalExpiration, c.OptionalIntegrity = ex.caveat, ex.expiration, ex.integrity
		}
		batch = append(batch, c)
		if len(batch) == writeChunk {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := flush(); err != nil {
		return 0, err
	}
	return n, nil
}

// WriteStoredSchema replaces the unified stored schema.
func (tx *rwTx) WriteStoredSchema(_ context.Context, schema *core.StoredSchema) error {
	data, err := schema.MarshalVT()
	if err != nil {
		return fmt.Errorf("memstore: marshal stored schema: %w", err)
	}
	return tx.write(func() error {
		setVersion(tx, &tx.s.schema, storedSchema{data: data, hash: schema.GetV1().GetSchemaHash()})
		return nil
	})
}

// assertSchemaHash fails unless the stored schema's hash is expected.
func (tx *rwTx) assertSchemaHash(expected string) error {
	unlock, err := tx.lock()
	if err != nil {
		return err
	}
	defer unlock()
	v, ok := tx.s.schema.at(pending)
	if !ok || v.val.hash == "" {
		return datastore.ErrSchemaNotFound
	}
	if v.val.hash != expected {
		return datastore.ErrSchemaHashPreconditionFailed
	}
	return nil
}

// LegacyWriteNamespaces writes namespace definitions.
func (tx *rwTx) LegacyWriteNamespaces(_ context.Context, defs ...*core.NamespaceDefinition) error {
	// Private copies: the caller may change its definitions afterwards.
	copies := make([]*core.NamespaceDefinition, len(defs))
	for i, def := range defs {
		copies[i] = def.CloneVT()
	}
	return tx.write(func() error {
		for _, def := range copies {
			setNamed(tx, tx.s.namespaces, def.Name, def)
		}
		return nil
	})
}

// LegacyDeleteNamespaces deletes namespace definitions and, if asked, their
// relationships.
func (tx *rwTx) LegacyDeleteNamespaces(_ context.Context, names []string, delOption datastore.DeleteNamespacesRelationshipsOption) error {
	if len(names) == 0 {
		return nil
	}
	return tx.write(func() error {
		for _, name := range names {
			v, ok := currentNamed(tx.s.namespaces, name)
			if !ok {
				return errors.New("namespace not found")
			}
			deleteVersion(tx, v)
			if delOption == datastore.DeleteNamespacesAndRelationships {
				tx.deleteMatching(datastore.RelationshipsFilter{OptionalResourceType: name}, 0)
			}
		}
		return nil
	})
}

// LegacyWriteCaveats writes caveat definitions.
func (tx *rwTx) LegacyWriteCaveats(_ context.Context, defs []*core.CaveatDefinition) error {
	seen := map[string]bool{}
	copies := make([]*core.CaveatDefinition, len(defs))
	for i, def := range defs {
		if seen[def.Name] {
			return fmt.Errorf("duplicate caveat %s", def.Name)
		}
		seen[def.Name] = true
		copies[i] = def.CloneVT()
	}
	return tx.write(func() error {
		for _, def := range copies {
			setNamed(tx, tx.s.caveats, def.Name, def)
		}
		return nil
	})
}

// LegacyDeleteCaveats deletes caveat definitions.
func (tx *rwTx) LegacyDeleteCaveats(_ context.Context, names []string) error {
	return tx.write(func() error {
		for _, name := range names {
			v, ok := currentNamed(tx.s.caveats, name)
			if !ok {
				return fmt.Errorf("caveat %s not found", name)
			}
			deleteVersion(tx, v)
		}
		return nil
	})
}

// RegisterCounter registers a relationship counter.
func (tx *rwTx) RegisterCounter(_ context.Context, name string, filter *core.RelationshipFilter) error {
	b, err := filter.MarshalVT()
	if err != nil {
		return err
	}
	return tx.write(func() error {
		if _, ok := currentNamed(tx.s.counters, name); ok {
			return datastore.NewCounterAlreadyRegisteredErr(name, filter)
		}
		setNamed(tx, tx.s.counters, name, counterValue{filter: b})
		return nil
	})
}

// UnregisterCounter removes a relationship counter.
func (tx *rwTx) UnregisterCounter(_ context.Context, name string) error {
	return tx.write(func() error {
		v, ok := currentNamed(tx.s.counters, name)
		if !ok {
			return datastore.NewCounterNotRegisteredErr(name)
		}
		deleteVersion(tx, v)
		return nil
	})
}

// StoreCounterValue records a counter's count as of a revision.
func (tx *rwTx) StoreCounterValue(_ context.Context, name string, value int, computedAt datastore.Revision) error {
	return tx.write(func() error {
		v, ok := currentNamed(tx.s.counters, name)
		if !ok {
			return datastore.NewCounterNotRegisteredErr(name)
		}
		setNamed(tx, tx.s.counters, name, counterValue{filter: v.val.filter, count: value, updated: computedAt, hasRev: true})
		return nil
	})
}

var _ datastore.ReadWriteTransaction = (*rwTx)(nil)
