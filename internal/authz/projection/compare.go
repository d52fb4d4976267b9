package projection

import (
	"cmp"
	"context"
	"encoding/binary"
	"hash/maphash"
	"slices"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/authz"
)

// compare finds how SpiceDB differs from the database's projection without
// holding either side's relationships in memory, so that a restart on a
// SpiceDB that keeps a million relationships costs a few bytes per
// relationship, not the relationships:
//
//  1. it walks the database and keeps a 128-bit fingerprint of each
//     relationship the projection emits (16 bytes each), sorted;
//  2. it streams SpiceDB's export: a relationship whose fingerprint is in
//     the set marks it seen; any other is extra, and goes to extra after
//     the export, in one call (so extra holds the extra relationships);
//  3. only if some fingerprint was not seen, it walks the database again
//     and hands the relationships of the unseen ones to missing, a page of
//     the walk at a time.
//
// The fingerprints are keyed with seeds chosen at random per call, so no
// input can be built to collide; two different relationships share one
// with a probability of about 2^-128 per pair, far below any other failure.
// missing and extra may write to SpiceDB: the export has ended by then.
func compare(ctx context.Context, db *ent.Client, spice *authz.Client, missing, extra func([]authz.Relationship) error) error {
	fp := newFingerprinter()
	var want []fingerprint
	if err := Walk(ctx, db, PageSize, func(rels []authz.Relationship) error {
		for _, r := range rels {
			want = append(want, fp.of(r))
		}
		return nil
	}); err != nil {
		return err
	}
	slices.SortFunc(want, fingerprint.compare)
	want = slices.Compact(want)
	want = slices.Clip(want)

	seen := make([]bool, len(want))
	unseen := len(want)
	var extras []authz.Relationship
	if err := exportOwned(ctx, spice, func(batch []authz.Relationship) error {
		for _, r := range batch {
			i, ok := slices.BinarySearchFunc(want, fp.of(r), fingerprint.compare)
			switch {
			case !ok:
				extras = append(extras, r)
			case !seen[i]:
				seen[i] = true
				unseen--
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if len(extras) > 0 {
		if err := extra(extras); err != nil {
			return err
		}
	}
	if unseen == 0 {
		return nil
	}
	return Walk(ctx, db, PageSize, func(rels []authz.Relationship) error {
		var lack []authz.Relationship
		for _, r := range rels {
			// A relationship the first walk did not emit was written
			// since; the outbox brings it to SpiceDB.
			if i, ok := slices.BinarySearchFunc(want, fp.of(r), fingerprint.compare); ok && !seen[i] {
				seen[i] = true
				lack = append(lack, r)
			}
		}
		if len(lack) == 0 {
			return nil
		}
		return missing(lack)
	})
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
