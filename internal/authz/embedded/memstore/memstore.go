// Package memstore is a compact in-memory implementation of SpiceDB's
// datastore.Datastore, for an embedded SpiceDB whose relationships live only
// in the process.
//
// It keeps each relationship as one small fixed-size row version (names as
// handles into an interned string table) in an arena, indexed by two
// B-trees of row ids: one in resource order, one in subject order. Every
// row version carries the revisions that created and deleted it (MVCC), so
// a reader at revision R sees exactly the state at R while one write
// transaction at a time changes the head. Versions deleted longer ago than
// the GC window are freed as writes commit, so memory follows the live
// relationships however many writes there are. Watch is not supported.
package memstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
)

// Engine names the store in metrics and in SpiceDB's engine lookups.
const Engine = "memstore"

// maxRetries is how often a write transaction is run again after it failed
// with ErrSerialization.
const maxRetries = 10

var (
	// ErrClosed is what every operation returns after Close.
	ErrClosed = errors.New("memstore: datastore is closed")
	// ErrSerialization is the error a transaction function may return to
	// be run again (SpiceDB's datastore tests use it).
	ErrSerialization = errors.New("memstore: serialization error")
)

// Options configure a Store.
type Options struct {
	// GCWindow is how long a revision stays readable after a newer one
	// exists; versions deleted longer ago are freed. It must be larger than
	// Quantization.
	GCWindow time.Duration
	// Quantization is the interval to which OptimizedRevision rounds down;
	// zero or less hands out the head.
	Quantization time.Duration
}

// Store is the datastore. Its zero value is not usable; call New.
type Store struct {
	// writeSlot holds a token while the one open write transaction runs,
	// from its first use to its commit or rollback. A transaction waits for
	// it only as long as its context allows.
	writeSlot chan struct{}

	// start and startWall are the wall-clock time of New, read once: every
	// later "now" is startWall plus the monotonic time since start, so that
	// revisions, quantization and the GC window follow elapsed time even if
	// the wall clock is stepped.
	start     time.Time
	startWall uint64

	// mu guards everything below; readers hold it shared only while they
	// collect a bounded batch, never while SpiceDB consumes it.
	mu     sync.RWMutex
	closed bool
	t      *table
	// head is the newest committed revision; origin the revision of the
	// empty store.
	head, origin uint64
	liveRows     int64
	// issued is the newest revision handed out or read at: every later
	// commit is after it, whatever the wall clock does.
	issued atomic.Uint64

	// namespaces and caveats hold the definitions as written, each a
	// private copy that is never changed once stored: snapshot readers
	// share it, write transactions get a copy (definitionFor).
	namespaces map[string]*versions[*core.NamespaceDefinition]
	caveats    map[string]*versions[*core.CaveatDefinition]
	counters   map[string]*versions[counterValue]
	schema     versions[storedSchema]

	// gcQueue holds the row versions deleted by committed transactions, in
	// revision order, from gcNext on.
	gcQueue []gcEntry
	gcNext  int
	// pruned is the newest deletion revision of a version freed by GC: a
	// read at an older revision could miss it, so it fails as stale.
	pruned uint64

	window   uint64
	quantum  uint64
	uniqueID string
}

type gcEntry struct {
	rev uint64
	id  uint32
}

// New returns an empty store.
func New(opts Options) (*Store, error) {
	if opts.Quantization > opts.GCWindow {
		return nil, errors.New("memstore: the gc window must be larger than the quantization interval")
	}
	if opts.GCWindow <= 0 {
		return nil, errors.New("memstore: the gc window must be positive")
	}
	start := time.Now()
	s := &Store{
		writeSlot:  make(chan struct{}, 1),
		start:      start,
		startWall:  uint64(start.UnixNano()),
		t:          newTable(),
		namespaces: map[string]*versions[*core.NamespaceDefinition]{},
		caveats:    map[string]*versions[*core.CaveatDefinition]{},
		counters:   map[string]*versions[counterValue]{},
		window:     uint64(opts.GCWindow.Nanoseconds()),
		uniqueID:   uuid.NewString(),
	}
	if opts.Quantization > 0 {
		s.quantum = uint64(opts.Quantization.Nanoseconds())
	}
	s.head = s.now()
	s.origin = s.head
	s.issued.Store(s.head)
	return s, nil
}

// now is the store's clock in nanoseconds: wall-clock time at New, then
// monotonic.
func (s *Store) now() uint64 { return s.startWall + uint64(time.Since(s.start)) }

// issue records that rev was handed out, so that every later commit is
// after it.
func (s *Store) issue(rev uint64) {
	for {
		cur := s.issued.Load()
		if rev <= cur || s.issued.CompareAndSwap(cur, rev) {
			return
		}
	}
}

// MetricsID names the store in metrics.
func (s *Store) MetricsID() (string, error) { return Engine, nil }

// EngineName names the engine.
func (s *Store) EngineName() string { return Engine }

// UniqueID is a random id chosen by New.
func (s *Store) UniqueID(context.Context) (string, error) { return s.uniqueID, nil }

// SnapshotReader reads the state at rev. An invalid or stale rev fails every
// read, as memdb's does.
func (s *Store) SnapshotReader(dr datastore.Revision) datastore.Reader {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return &reader{s: s, initErr: ErrClosed}
	}
	rev, err := s.checkRevisionLocked(dr)
	if err != nil {
		return &reader{s: s, initErr: err}
	}
	s.issue(rev)
	return &reader{s: s, rev: rev, now: time.Now()}
}

// HeadRevision is the newest committed revision. A head older than half
// the GC window is first moved to now, a revision with the same state: a
// request given the head of a store left quiet for longer than the window
// could otherwise not read at it again once any write commits, since a
// revision is readable for the window after it was made, not after it was
// handed out (SpiceDB's datastore contract).
func (s *Store) HeadRevision(context.Context) (datastore.RevisionWithSchemaHash, error) {
	s.mu.RLock()
	if !s.closed && s.head+s.window/2 < s.now() {
		s.mu.RUnlock()
		s.mu.Lock()
		if !s.closed && s.head+s.window/2 < s.now() {
			// No write transaction needs the write slot for this: its
			// pending rows are invisible at the new head, and it commits
			// after it.
			s.head = max(s.now(), s.head+1, s.issued.Load()+1)
		}
		s.mu.Unlock()
		s.mu.RLock()
	}
	defer s.mu.RUnlock()
	if s.closed {
		return datastore.RevisionWithSchemaHash{}, ErrClosed
	}
	s.issue(s.head)
	return datastore.RevisionWithSchemaHash{Revision: Revision(s.head), SchemaHash: s.schemaHashAt(s.head)}, nil
}

// OptimizedRevision is now rounded down to the quantization interval, so
// that requests in one interval share a revision (and SpiceDB's caches), or
// the head when the rounded revision is before the store existed.
func (s *Store) OptimizedRevision(context.Context) (datastore.RevisionWithSchemaHash, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return datastore.RevisionWithSchemaHash{}, ErrClosed
	}
	rev := s.now()
	if s.quantum > 0 {
		rev -= rev % s.quantum
	}
	if rev < s.origin || rev < s.pruned {
		rev = s.head
	}
	s.issue(rev)
	return datastore.RevisionWithSchemaHash{Revision: Revision(rev), SchemaHash: s.schemaHashAt(rev)}, nil
}

// CheckRevision fails for a revision older than the GC window (other than
// the head) and for one after both now and the head.
func (s *Store) CheckRevision(_ context.Context, dr datastore.Revision) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	_, err := s.checkRevisionLocked(dr)
	return err
}

func (s *Store) checkRevisionLocked(dr datastore.Revision) (uint64, error) {
	r, ok := dr.(Revision)
	if !ok {
		return 0, datastore.NewInvalidRevisionErr(dr, datastore.CouldNotDetermineRevision)
	}
	rev := uint64(r)
	if rev == s.head {
		return rev, nil
	}
	now := s.now()
	if rev < s.origin || rev < s.pruned || rev+s.window < now {
		return 0, datastore.NewInvalidRevisionErr(dr, datastore.RevisionStale)
	}
	if rev > now && rev > s.head {
		return 0, datastore.NewInvalidRevisionErr(dr, datastore.CouldNotDetermineRevision)
	}
	return rev, nil
}

// RevisionFromString parses a revision.
func (s *Store) RevisionFromString(serialized string) (datastore.Revision, error) {
	return RevisionFromString(serialized)
}

// Watch is not supported: it reports a WatchDisabledError.
func (s *Store) Watch(context.Context, datastore.Revision, datastore.WatchOptions) (<-chan datastore.RevisionChanges, <-chan error) {
	errs := make(chan error, 1)
	errs <- datastore.NewWatchDisabledErr("the embedded memory store keeps no changelog")
	return make(chan datastore.RevisionChanges), errs
}

// ReadyState is always ready.
func (s *Store) ReadyState(context.Context) (datastore.ReadyState, error) {
	return datastore.ReadyState{IsReady: true}, nil
}

// Features are OfflineFeatures.
func (s *Store) Features(context.Context) (*datastore.Features, error) { return s.OfflineFeatures() }

// OfflineFeatures: integrity data is kept; Watch is not supported.
func (s *Store) OfflineFeatures() (*datastore.Features, error) {
	unsupported := datastore.Feature{Status: datastore.FeatureUnsupported, Reason: "the embedded memory store keeps no changelog"}
	return &datastore.Features{
		Watch:                   unsupported,
		ContinuousCheckpointing: unsupported,
		WatchEmitsImmediately:   unsupported,
		IntegrityData:           datastore.Feature{Status: datastore.FeatureSupported},
	}, nil
}

// Statistics counts the relationships at the head and the object types.
func (s *Store) Statistics(ctx context.Context) (datastore.Stats, error) {
	head, err := s.HeadRevision(ctx)
	if err != nil {
		return datastore.Stats{}, err
	}
	s.mu.RLock()
	count := s.liveRows
	s.mu.RUnlock()
	nss, err := s.SnapshotReader(head.Revision).LegacyListAllNamespaces(ctx)
	if err != nil {
		return datastore.Stats{}, fmt.Errorf("memstore: list object types: %w", err)
	}
	return datastore.Stats{
		UniqueID:                   s.uniqueID,
		EstimatedRelationshipCount: uint64(max(count, 0)),
		ObjectTypeStatistics:       datastore.ComputeObjectTypeStats(nss),
	}, nil
}

// Close frees the data; every later operation fails with ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.t = newTable()
	s.namespaces, s.caveats, s.counters = nil, nil, nil
	s.schema = nil
	s.gcQueue = nil
	return nil
}

// ReadWriteTx runs f in a write transaction and commits it unless f fails;
// f runs again (up to maxRetries times) if it fails with ErrSerialization.
// The transaction takes the write lock at its first use, so a transaction
// that waits before touching the store holds up no other.
func (s *Store) ReadWriteTx(ctx context.Context, f datastore.TxUserFunc, opts ...options.RWTOptionsOption) (datastore.Revision, error) {
	config := options.NewRWTOptionsWithOptions(opts...)
	attempts := maxRetries
	if config.DisableRetries {
		attempts = 1
	}
	for range attempts {
		tx := newTx(ctx, s)
		err := func() error {
			defer func() {
				// A panicking f must not keep the write slot: undo what it
				// wrote, then let the panic go on.
				if p := recover(); p != nil {
					tx.rollback()
					panic(p)
				}
			}()
			if config.SchemaHashPrecondition != "" {
				if err := tx.assertSchemaHash(config.SchemaHashPrecondition); err != nil {
					return err
				}
			}
			return f(ctx, tx)
		}()
		if err != nil {
			tx.rollback()
			if errors.Is(err, ErrSerialization) {
				continue
			}
			return datastore.NoRevision, err
		}
		return tx.commit()
	}
	return datastore.NoRevision, fmt.Errorf("memstore: %w: too many retries", ErrSerialization)
}

var (
	_ datastore.Datastore          = (*Store)(nil)
	_ datastore.EngineIdentifiable = (*Store)(nil)
)

// RowVersions is how many relationship row versions the store holds: the
// live relationships and the versions deleted within the GC window (or
// since the last write, which is when versions are collected).
func (s *Store) RowVersions() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return int(s.t.nextRow) - len(s.t.freeRows)
}
