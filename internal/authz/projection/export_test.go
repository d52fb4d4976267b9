package projection

import (
	"context"

	"github.com/pbxportal/pbxportal/internal/authz"
)

// Held returns, for the tests, every relationship of the projection's types
// that SpiceDB holds, all in memory.
func Held(ctx context.Context, spice *authz.Client) ([]authz.Relationship, error) {
	var have []authz.Relationship
	if err := exportOwned(ctx, spice, func(batch []authz.Relationship) error {
		have = append(have, batch...)
		return nil
	}); err != nil {
		return nil, err
	}
	return have, nil
}
