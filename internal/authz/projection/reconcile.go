package projection

import (
	"context"
	"fmt"

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

// Reconcile compares the projection of the whole database with what SpiceDB
// holds and, with fix, writes the difference. At start-up it rebuilds the
// embedded, in-memory SpiceDB from nothing.
func Reconcile(ctx context.Context, db *ent.Client, spice *authz.Client, fix bool) (Drift, error) {
	want, err := All(ctx, db)
	if err != nil {
		return Drift{}, err
	}
	var have []authz.Relationship
	for _, typ := range Types() {
		rels, err := spice.ReadRelationships(ctx, typ)
		if err != nil {
			return Drift{}, fmt.Errorf("projection: read %s: %w", typ, err)
		}
		have = append(have, rels...)
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
