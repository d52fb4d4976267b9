package projection

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/authz"
)

// Types are the object types whose relationships the projection owns.
func Types() []string {
	return []string{TypePlatform, TypeUser, TypeDomain, TypeSite, TypeQueue, TypeGroup, TypeRecording, TypeContact, TypeNumber}
}

// Drift is how SpiceDB differs from the database's projection.
type Drift struct {
	// Missing are relationships the database implies and SpiceDB lacks.
	Missing []authz.Relationship
	// Extra are relationships SpiceDB holds that the database does not imply.
	Extra []authz.Relationship
}

// exportOwned streams the relationships of the projection's types that
// SpiceDB holds to fn, a batch of SpiceDB's bulk export at a time.
func exportOwned(ctx context.Context, spice *authz.Client, fn func([]authz.Relationship) error) error {
	owned := Types()
	if err := spice.ExportRelationships(ctx, func(batch []authz.Relationship) error {
		batch = slices.DeleteFunc(batch, func(r authz.Relationship) bool { return !slices.Contains(owned, r.Resource.Type) })
		if len(batch) == 0 {
			return nil
		}
		return fn(batch)
	}); err != nil {
		return fmt.Errorf("projection: read spicedb: %w", err)
	}
	return nil
}

// errHoldsOne ends the export of holdsAny at the first relationship.
var errHoldsOne = errors.New("spicedb holds a relationship of the projection")

// holdsAny reports whether SpiceDB holds any relationship of the
// projection's types, reading no further than the first one.
func holdsAny(ctx context.Context, spice *authz.Client) (bool, error) {
	err := exportOwned(ctx, spice, func([]authz.Relationship) error { return errHoldsOne })
	if errors.Is(err, errHoldsOne) {
		return true, nil
	}
	return false, err
}

// Reconcile compares the projection of the whole database with what SpiceDB
// holds and, with fix, writes the difference, in WriteRelationships calls of
// at most SpiceDB's 1,000 updates. TOUCH and DELETE are idempotent, so it is
// safe against a SpiceDB that others write to at the same time. It streams
// both sides (see compare); what it holds is the drift it reports.
func Reconcile(ctx context.Context, db *ent.Client, spice *authz.Client, fix bool) (Drift, error) {
	var d Drift
	err := compare(ctx, db, spice,
		func(rels []authz.Relationship) error { d.Missing = append(d.Missing, rels...); return nil },
		func(rels []authz.Relationship) error { d.Extra = append(d.Extra, rels...); return nil })
	if err != nil {
		return Drift{}, err
	}
	if fix {
		if err := spice.WriteRelationships(ctx, d.Missing, d.Extra); err != nil {
			return d, fmt.Errorf("projection: repair: %w", err)
		}
	}
	return d, nil
}

// Repair counts what Rebuild wrote into SpiceDB.
type Repair struct {
	// Imported is how many missing relationships it imported into a SpiceDB
	// that held some already (0 into an empty one, which it fills whole).
	Imported int
	// Deleted is how many extra relationships it deleted.
	Deleted int
}

// Rebuild writes the projection into a SpiceDB that nobody else writes to
// meanwhile (the caller holds the relay's exclusivity). Into a SpiceDB that
// holds none of the projection (a fresh embedded one) it streams the
// database, a page at a time, straight into SpiceDB's bulk import, reading
// the next page while SpiceDB loads the last. Into one that holds some (a
// restart on a persistent datastore) it compares the two as streams (see
// compare), imports what is missing a page at a time (the import refuses a
// relationship that exists) and then deletes what is extra.
func Rebuild(ctx context.Context, db *ent.Client, spice *authz.Client) (Repair, error) {
	some, err := holdsAny(ctx, spice)
	if err != nil {
		return Repair{}, err
	}
	if !some {
		return Repair{}, importAll(ctx, db, spice)
	}
	var (
		r     Repair
		extra []authz.Relationship
	)
	err = compare(ctx, db, spice,
		func(rels []authz.Relationship) error {
			n, err := spice.ImportRelationships(ctx, rels)
			r.Imported += n
			if err != nil {
				return fmt.Errorf("projection: import: %w", err)
			}
			return nil
		},
		func(rels []authz.Relationship) error { extra = append(extra, rels...); return nil })
	if err != nil {
		return r, err
	}
	if err := spice.WriteRelationships(ctx, nil, extra); err != nil {
		return r, fmt.Errorf("projection: delete extra: %w", err)
	}
	r.Deleted = len(extra)
	return r, nil
}

// importAll imports every page of Walk into one Import, Walk reading ahead
// by one page.
func importAll(ctx context.Context, db *ent.Client, spice *authz.Client) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan []authz.Relationship, 1)
	walked := make(chan error, 1)
	go func() {
		defer close(pages)
		walked <- Walk(ctx, db, PageSize, func(rels []authz.Relationship) error {
			select {
			case pages <- rels:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	im := spice.StartImport(ctx)
	var imported error
	for rels := range pages {
		if imported != nil {
			continue // the walk is cancelled; let it end
		}
		if err := im.Add(rels); err != nil {
			imported = fmt.Errorf("projection: import: %w", err)
			cancel()
		}
	}
	if err := <-walked; err != nil && imported == nil {
		imported = err
		cancel() // ends the streams under way: the walk is incomplete
	}
	_, err := im.Close()
	if imported != nil {
		return imported
	}
	if err != nil {
		return fmt.Errorf("projection: import: %w", err)
	}
	return nil
}
