package projection

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"slices"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/authz"
)

// compare finds how SpiceDB differs from the database's projection without
// holding either side's relationships in memory, so that a restart on a
// SpiceDB that keeps millions of relationships costs a few bytes per
// relationship, not the relationships:
//
//  1. at the same time, it walks the database and streams SpiceDB's export,
//     keeping a 128-bit fingerprint (16 bytes) of each relationship of
//     either side;
//  2. it sorts both sets and merges them: a fingerprint only the database
//     has is a missing relationship, one only SpiceDB has an extra one;
//  3. only if some are extra, it streams the export again and hands those
//     relationships to extra, in one call after the export has ended; only
//     if some are missing, it walks the database again and hands those to
//     missing, a page of the walk at a time.
//
// So when nothing differs (a restart) it reads each side once, the two in
// parallel. The fingerprints are keyed with seeds chosen at random per call,
// so no input can be built to collide; two different relationships share
// one with a probability of about 2^-128 per pair, far below any other
// failure. missing and extra may write to SpiceDB: no export is open then.
func compare(ctx context.Context, db *ent.Client, spice *authz.Client, missing, extra func([]authz.Relationship) error) error {
	fp := newFingerprinter()
	var want, have []fingerprint
	both, cancel := context.WithCancel(ctx) // one side's failure ends the other
	defer cancel()
	walked := make(chan error, 1)
	go func() {
		fp := fp.clone()
		err := Walk(both, db, PageSize, func(rels []authz.Relationship) error {
			for _, r := range rels {
				want = append(want, fp.of(r))
			}
			return nil
		})
		if err != nil {
			cancel()
		}
		walked <- err
	}()
	exported := exportOwned(both, spice, func(batch []authz.Relationship) error {
		for _, r := range batch {
			have = append(have, fp.of(r))
		}
		return nil
	})
	if exported != nil {
		cancel()
	}
	if err := cause(<-walked, exported); err != nil {
		return err
	}
	lack, excess := subtract(want, have), subtract(have, want)
	want, have = nil, nil
	if len(excess) > 0 {
		var extras []authz.Relationship
		if err := exportOwned(ctx, spice, func(batch []authz.Relationship) error {
			for _, r := range batch {
				if take(excess, fp.of(r)) {
					extras = append(extras, r)
				}
			}
			return nil
		}); err != nil {
			return err
		}
		if err := extra(extras); err != nil {
			return err
		}
	}
	if len(lack) == 0 {
		return nil
	}
	return Walk(ctx, db, PageSize, func(rels []authz.Relationship) error {
		var page []authz.Relationship
		for _, r := range rels {
			// A relationship the first walk did not emit was written
			// since; the outbox brings it to SpiceDB.
			if take(lack, fp.of(r)) {
				page = append(page, r)
			}
		}
		if len(page) == 0 {
			return nil
		}
		return missing(page)
	})
}

// cause returns the first of errs that is not the cancellation one side's
// failure caused in the other, or else the first error.
func cause(errs ...error) error {
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return cmp.Or(errs...)
}

// subtract sorts a and b and returns the distinct fingerprints of a that b
// lacks, each with a flag that take sets.
func subtract(a, b []fingerprint) []taken {
	slices.SortFunc(a, fingerprint.compare)
	slices.SortFunc(b, fingerprint.compare)
	var out []taken
	for i, j := 0, 0; i < len(a); i++ {
		if i > 0 && a[i] == a[i-1] {
			continue
		}
		for j < len(b) && b[j].compare(a[i]) < 0 {
			j++
		}
		if j == len(b) || b[j] != a[i] {
			out = append(out, taken{f: a[i]})
		}
	}
	return out
}

// taken is a fingerprint of a set and whether take has met it.
type taken struct {
	f    fingerprint
	seen bool
}

// take reports whether f is in the sorted set and met for the first time.
func take(set []taken, f fingerprint) bool {
	i, ok := slices.BinarySearchFunc(set, f, func(t taken, f fingerprint) int { return t.f.compare(f) })
	if !ok || set[i].seen {
		return false
	}
	set[i].seen = true
	return true
}

// fingerprint is a 128-bit hash of one relationship.
type fingerprint [2]uint64

func (a fingerprint) compare(b fingerprint) int {
	if c := cmp.Compare(a[0], b[0]); c != 0 {
		return c
	}
	return cmp.Compare(a[1], b[1])
}

// fingerprinter hashes relationships with two random seeds.
type fingerprinter struct {
	seeds [2]maphash.Seed
	buf   []byte
}

func newFingerprinter() *fingerprinter {
	return &fingerprinter{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
}

// clone returns a fingerprinter with the same seeds and a buffer of its
// own, for another goroutine.
func (f *fingerprinter) clone() *fingerprinter { return &fingerprinter{seeds: f.seeds} }

// of returns r's fingerprint. Each field is written with its length first,
// so that two relationships whose fields split the same characters
// differently ("ab"+"c", "a"+"bc") hash differently.
func (f *fingerprinter) of(r authz.Relationship) fingerprint {
	f.buf = f.buf[:0]
	for _, s := range []string{r.Resource.Type, r.Resource.ID, r.Relation, r.Subject.Type, r.Subject.ID, r.SubjectRelation} {
		f.buf = binary.AppendUvarint(f.buf, uint64(len(s)))
		f.buf = append(f.buf, s...)
	}
	return fingerprint{maphash.Bytes(f.seeds[0], f.buf), maphash.Bytes(f.seeds[1], f.buf)}
}
