package projection

import (
	"context"
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

// Held returns the relationships of the projection's types that SpiceDB
// holds, read as one stream of SpiceDB's bulk export.
func Held(ctx context.Context, spice *authz.Client) ([]authz.Relationship, error) {
	owned := Types()
	var have []authz.Relationship
	if err := spice.ExportRelationships(ctx, func(batch []authz.Relationship) error {
		for _, r := range batch {
			if slices.Contains(owned, r.Resource.Type) {
				have = append(have, r)
			}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("projection: read spicedb: %w", err)
	}
	return have, nil
}

// Reconcile compares the projection of the whole database with what SpiceDB
// holds and, with fix, writes the difference, in WriteRelationships calls of
// at most SpiceDB's 1,000 updates. TOUCH and DELETE are idempotent, so it is
// safe against a SpiceDB that others write to at the same time.
func Reconcile(ctx context.Context, db *ent.Client, spice *authz.Client, fix bool) (Drift, error) {
	want, err := All(ctx, db)
	if err != nil {
		return Drift{}, err
	}
	have, err := Held(ctx, spice)
	if err != nil {
		return Drift{}, err
	}
	var d Drift
	d.Missing, d.Extra = Diff(have, want)
	if fix {
		if err := spice.WriteRelationships(ctx, d.Missing, d.Extra); err != nil {
			return d, fmt.Errorf("projection: repair: %w", err)
		}
	}
	return d, nil
}

// Rebuild writes the projection into a SpiceDB that nobody else writes to
// meanwhile (the caller holds the relay's exclusivity). It creates the missing relationships
// through SpiceDB's bulk import, which refuses one that exists, and deletes
// the extra ones. Into a SpiceDB that holds none of the projection (a fresh
// embedded one) it streams the database, a page at a time, straight into
// the import, reading the next page while SpiceDB loads the last.
func Rebuild(ctx context.Context, db *ent.Client, spice *authz.Client) (Drift, error) {
	have, err := Held(ctx, spice)
	if err != nil {
		return Drift{}, err
	}
	if len(have) == 0 {
		return Drift{}, importAll(ctx, db, spice)
	}
	want, err := All(ctx, db)
	if err != nil {
		return Drift{}, err
	}
	var d Drift
	d.Missing, d.Extra = Diff(have, want)
	if _, err := spice.ImportRelationships(ctx, d.Missing); err != nil {
		return d, fmt.Errorf("projection: import: %w", err)
	}
	if err := spice.WriteRelationships(ctx, nil, d.Extra); err != nil {
		return d, fmt.Errorf("projection: delete extra: %w", err)
	}
	return d, nil
}

// importAll imports every page of Walk, Walk reading ahead by one page.
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
	var imported error
	for rels := range pages {
		if imported != nil {
			continue // the walk is cancelled; let it end
		}
		if _, err := spice.ImportRelationships(ctx, rels); err != nil {
			imported = fmt.Errorf("projection: import: %w", err)
			cancel()
		}
	}
	if err := <-walked; imported == nil {
		return err
	}
	return imported
}
