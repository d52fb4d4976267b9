package embedded

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	spicedatastore "github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/tuple"
)

// DefaultCompactEvery is how many write transactions the memory datastore
// takes before it is compacted. SpiceDB's memory datastore keeps a snapshot
// of every revision it has written and a changelog entry for each, and never
// drops one; at 600,000 relationships each write retains about 18 KiB. A
// generation of 10,000 writes therefore bounds that garbage at about 175 MiB,
// while a compaction (a copy of the head, about 30 µs a relationship on one
// core, writes not blocked) runs at most once per 10,000 writes.
const DefaultCompactEvery = 10_000

// compactingDatastore is SpiceDB's memory datastore in generations: after
// every `every` write transactions it copies the head of the current
// generation into a fresh memory datastore and swaps to it, so the
// snapshots and changelog that the old one retained are freed.
//
// Reads stay at least as fresh as any write before them: every revision the
// old generation issued is older than the new generation's first revision
// (its floor). For prevGrace after a swap, a read at such a revision is
// served by the old generation, so that a request that began before the
// swap reads one state throughout (an intersection evaluated half before
// and half after a swap could be true in neither); after that, at the
// floor, whose state holds every write of the old generation.
//
// Writes are blocked only while the changes made during the copy are
// replayed. A Watch ends at the swap, with an error, and cannot resume from
// before the floor (pbxportal does not watch); relationship counters are
// not copied (pbxportal registers none), and a compaction is abandoned if
// the schema changed while it copied.
type compactingDatastore struct {
	build    func(context.Context) (spicedatastore.Datastore, error)
	every    int64
	uniqueID string
	// onCompact, when set, is told the outcome of every compaction and how
	// long it took.
	onCompact func(err error, took time.Duration)

	// gate is held shared by every write transaction and exclusively while
	// a compaction replays the last changes and swaps generations.
	gate sync.RWMutex

	mu    sync.RWMutex
	cur   spicedatastore.Datastore
	floor spicedatastore.Revision // nil before the first compaction
	// prev is the generation before the last swap while reads at its
	// revisions may still be under way (prevGrace), else nil.
	prev spicedatastore.Datastore
	// watches cancel the Watches opened on the current generation.
	watches []context.CancelFunc
	// closed is set by Close, under mu: no compaction starts after it.
	closed bool

	writes  atomic.Int64 // write transactions in the current generation
	running atomic.Bool  // a compaction is under way
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// newCompactingDatastore builds the first generation with build and
// compacts after every `every` write transactions.
func newCompactingDatastore(ctx context.Context, every int, build func(context.Context) (spicedatastore.Datastore, error)) (*compactingDatastore, error) {
	first, err := build(ctx)
	if err != nil {
		return nil, err
	}
	id, err := first.UniqueID(ctx)
	if err != nil {
		_ = first.Close()
		return nil, fmt.Errorf("embedded: datastore id: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &compactingDatastore{build: build, every: int64(every), uniqueID: id, cur: first, ctx: runCtx, cancel: cancel}, nil
}

// prevGrace is how long the generation before a swap keeps serving reads
// at its own revisions: longer than any request runs.
const prevGrace = time.Minute

// current returns the current generation and its floor.
func (c *compactingDatastore) current() (spicedatastore.Datastore, spicedatastore.Revision) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.cur, c.floor
}

// atLeastFloor returns rev, or the floor if rev is older.
func atLeastFloor(rev, floor spicedatastore.Revision) spicedatastore.Revision {
	if floor != nil && rev.LessThan(floor) {
		return floor
	}
	return rev
}

func (c *compactingDatastore) MetricsID() (string, error) {
	ds, _ := c.current()
	return ds.MetricsID()
}

// UniqueID is the first generation's: ZedTokens carry it, and they stay
// valid across generations.
func (c *compactingDatastore) UniqueID(context.Context) (string, error) { return c.uniqueID, nil }

// generationAt returns the generation that serves reads at rev, and the
// revision to read it at.
func (c *compactingDatastore) generationAt(rev spicedatastore.Revision) (spicedatastore.Datastore, spicedatastore.Revision) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.floor != nil && rev.LessThan(c.floor) && c.prev != nil {
		return c.prev, rev
	}
	return c.cur, atLeastFloor(rev, c.floor)
}

func (c *compactingDatastore) SnapshotReader(rev spicedatastore.Revision) spicedatastore.Reader {
	ds, at := c.generationAt(rev)
	return ds.SnapshotReader(at)
}

func (c *compactingDatastore) OptimizedRevision(ctx context.Context) (spicedatastore.RevisionWithSchemaHash, error) {
	ds, floor := c.current()
	rev, err := ds.OptimizedRevision(ctx)
	if err == nil && floor != nil && rev.Revision.LessThan(floor) {
		return ds.HeadRevision(ctx)
	}
	return rev, err
}

func (c *compactingDatastore) HeadRevision(ctx context.Context) (spicedatastore.RevisionWithSchemaHash, error) {
	ds, _ := c.current()
	return ds.HeadRevision(ctx)
}

func (c *compactingDatastore) CheckRevision(ctx context.Context, rev spicedatastore.Revision) error {
	ds, at := c.generationAt(rev)
	return ds.CheckRevision(ctx, at)
}

func (c *compactingDatastore) RevisionFromString(s string) (spicedatastore.Revision, error) {
	ds, _ := c.current()
	return ds.RevisionFromString(s)
}

// Watch watches the current generation until the next swap, which ends it
// with an error. A Watch from before the floor is refused: the changes
// before it are gone, and skipping them silently would be wrong.
func (c *compactingDatastore) Watch(ctx context.Context, after spicedatastore.Revision, opts spicedatastore.WatchOptions) (<-chan spicedatastore.RevisionChanges, <-chan error) {
	c.mu.Lock()
	ds, floor := c.cur, c.floor
	if floor != nil && after.LessThan(floor) {
		c.mu.Unlock()
		errs := make(chan error, 1)
		errs <- spicedatastore.NewInvalidRevisionErr(after, spicedatastore.RevisionStale)
		return make(chan spicedatastore.RevisionChanges), errs
	}
	ctx, cancel := context.WithCancel(ctx)
	c.watches = append(c.watches, cancel)
	c.mu.Unlock()
	return ds.Watch(ctx, after, opts)
}

func (c *compactingDatastore) ReadyState(ctx context.Context) (spicedatastore.ReadyState, error) {
	ds, _ := c.current()
	return ds.ReadyState(ctx)
}

func (c *compactingDatastore) Features(ctx context.Context) (*spicedatastore.Features, error) {
	ds, _ := c.current()
	return ds.Features(ctx)
}

func (c *compactingDatastore) OfflineFeatures() (*spicedatastore.Features, error) {
	ds, _ := c.current()
	return ds.OfflineFeatures()
}

func (c *compactingDatastore) Statistics(ctx context.Context) (spicedatastore.Stats, error) {
	ds, _ := c.current()
	return ds.Statistics(ctx)
}

// ReadWriteTx runs f on the current generation, and starts a compaction when
// the generation has taken its share of writes.
func (c *compactingDatastore) ReadWriteTx(ctx context.Context, f spicedatastore.TxUserFunc, opts ...options.RWTOptionsOption) (spicedatastore.Revision, error) {
	c.gate.RLock()
	ds, _ := c.current()
	rev, err := ds.ReadWriteTx(ctx, f, opts...)
	c.gate.RUnlock()
	if err == nil && c.writes.Add(1) >= c.every && c.startCompaction() {
		go func() {
			defer c.wg.Done()
			defer c.running.Store(false)
			start := time.Now()
			err := c.compact(c.ctx)
			if err != nil {
				c.writes.Store(0) // try again after another generation's writes
			}
			if c.onCompact != nil {
				c.onCompact(err, time.Since(start))
			}
		}()
	}
	return rev, err
}

// startCompaction reports whether a compaction may start now, and if so
// counts it as running: none is under way and the datastore is not closed.
func (c *compactingDatastore) startCompaction() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || !c.running.CompareAndSwap(false, true) {
		return false
	}
	c.wg.Add(1)
	return true
}

// Close waits for a compaction under way to stop and closes the current
// generation.
func (c *compactingDatastore) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	ds, _ := c.current()
	return ds.Close()
}

// compact copies the head of the current generation into a new one, replays
// what was written meanwhile with writes blocked, and swaps. The old
// generation is not closed: reads in flight may still use its snapshots, and
// the garbage collector frees it when they end.
func (c *compactingDatastore) compact(ctx context.Context) error {
	old, _ := c.current()
	start, err := old.HeadRevision(ctx)
	if err != nil {
		return fmt.Errorf("embedded: compaction: head revision: %w", err)
	}
	next, err := c.build(ctx)
	if err != nil {
		return fmt.Errorf("embedded: compaction: new datastore: %w", err)
	}
	if err := c.swap(ctx, old, start.Revision, next); err != nil {
		_ = next.Close()
		return err
	}
	return nil
}

func (c *compactingDatastore) swap(ctx context.Context, old spicedatastore.Datastore, start spicedatastore.Revision, next spicedatastore.Datastore) error {
	if err := copyHead(ctx, old, start, next); err != nil {
		return fmt.Errorf("embedded: compaction: copy: %w", err)
	}
	c.gate.Lock()
	defer c.gate.Unlock()
	head, err := old.HeadRevision(ctx)
	if err != nil {
		return fmt.Errorf("embedded: compaction: head revision: %w", err)
	}
	if head.Revision.GreaterThan(start) {
		changes, err := changesBetween(ctx, old, start, head.Revision)
		if err != nil {
			return fmt.Errorf("embedded: compaction: changes during the copy: %w", err)
		}
		if _, err := next.ReadWriteTx(ctx, func(ctx context.Context, rwt spicedatastore.ReadWriteTransaction) error {
			return rwt.WriteRelationships(ctx, changes)
		}); err != nil {
			return fmt.Errorf("embedded: compaction: replay changes: %w", err)
		}
	}
	floor, err := next.HeadRevision(ctx)
	if err != nil {
		return fmt.Errorf("embedded: compaction: new head revision: %w", err)
	}
	if !floor.Revision.GreaterThan(head.Revision) {
		return fmt.Errorf("embedded: compaction: new generation's revision %s is not after %s", floor.Revision, head.Revision)
	}
	c.mu.Lock()
	c.prev, c.cur, c.floor = old, next, floor.Revision
	watches := c.watches
	c.watches = nil
	c.mu.Unlock()
	for _, cancel := range watches {
		cancel()
	}
	time.AfterFunc(prevGrace, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.prev == old {
			c.prev = nil
		}
	})
	c.writes.Store(0)
	return nil
}

// errSchemaChanged abandons a compaction during which the schema changed.
var errSchemaChanged = errors.New("the schema changed during the copy")

// copyHead writes the schema and every relationship of from at rev into the
// empty datastore to, in one transaction: one revision, one changelog entry.
func copyHead(ctx context.Context, from spicedatastore.Datastore, rev spicedatastore.Revision, to spicedatastore.Datastore) error {
	r := from.SnapshotReader(rev)
	namespaces, err := r.LegacyListAllNamespaces(ctx)
	if err != nil {
		return fmt.Errorf("namespaces: %w", err)
	}
	caveats, err := r.LegacyListAllCaveats(ctx)
	if err != nil {
		return fmt.Errorf("caveats: %w", err)
	}
	stored, err := r.ReadStoredSchema(ctx)
	if err != nil && !errors.Is(err, spicedatastore.ErrSchemaNotFound) {
		return fmt.Errorf("stored schema: %w", err)
	}
	_, err = to.ReadWriteTx(ctx, func(ctx context.Context, rwt spicedatastore.ReadWriteTransaction) error {
		defs := make([]*core.CaveatDefinition, 0, len(caveats))
		for _, cv := range caveats {
			defs = append(defs, cv.Definition)
		}
		if len(defs) > 0 {
			if err := rwt.LegacyWriteCaveats(ctx, defs); err != nil {
				return err
			}
		}
		for _, ns := range namespaces {
			if err := rwt.LegacyWriteNamespaces(ctx, ns.Definition); err != nil {
				return err
			}
		}
		if stored != nil {
			if err := rwt.WriteStoredSchema(ctx, stored.Get()); err != nil {
				return err
			}
		}
		for _, ns := range namespaces {
			rels, err := r.QueryRelationships(ctx, spicedatastore.RelationshipsFilter{OptionalResourceType: ns.Definition.Name})
			if err != nil {
				return err
			}
			src := &pulled{}
			src.next, src.stop = iter.Pull2(iter.Seq2[tuple.Relationship, error](rels))
			_, err = rwt.BulkLoad(ctx, src)
			src.stop()
			if err != nil {
				return err
			}
		}
		return nil
	}, options.WithDisableRetries(true))
	return err
}

// pulled is a relationship iterator as BulkLoad reads it.
type pulled struct {
	next func() (tuple.Relationship, error, bool)
	stop func()
}

func (p *pulled) Next(context.Context) (*tuple.Relationship, error) {
	rel, err, ok := p.next()
	if !ok {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &rel, nil
}

// changesBetween returns the relationship changes that ds committed after
// from, up to and including to, in order, from its changelog. It fails with
// errSchemaChanged if the schema changed.
func changesBetween(ctx context.Context, ds spicedatastore.Datastore, from, to spicedatastore.Revision) ([]tuple.RelationshipUpdate, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	updates, errs := ds.Watch(ctx, from, spicedatastore.WatchOptions{
		Content: spicedatastore.WatchRelationships | spicedatastore.WatchSchema | spicedatastore.WatchCheckpoints,
	})
	var changes []tuple.RelationshipUpdate
	for {
		select {
		case rc, ok := <-updates:
			if !ok {
				return nil, errors.New("the changelog ended early")
			}
			if len(rc.ChangedDefinitions) > 0 || len(rc.DeletedNamespaces) > 0 || len(rc.DeletedCaveats) > 0 {
				return nil, errSchemaChanged
			}
			changes = append(changes, rc.RelationshipChanges...)
			if rc.IsCheckpoint && !rc.Revision.LessThan(to) {
				return changes, nil
			}
		case err := <-errs:
			return nil, err
		}
	}
}

var _ spicedatastore.Datastore = (*compactingDatastore)(nil)
