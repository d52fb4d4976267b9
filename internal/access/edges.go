package access

import (
	"context"
	"fmt"
	"reflect"

	"github.com/pbxportal/pbxportal/internal/authz"
)

// Visible keeps, of a resolved edge, only what the viewer may see: an object
// reached through a visible one is checked in its own right (SPEC §4,
// "Invisible objects"). res is an entity (*ent.X) or a list of them; an
// invisible entity becomes nil, and a list loses its invisible entries. Every
// check of the edge is one batched call. Values of other types pass through.
func (v Viewer) Visible(ctx context.Context, res any) (any, error) {
	if o, ok := ObjectOf(res); ok {
		ok, err := v.Checks.Check(ctx, o, visibility(o))
		if err != nil || !ok {
			return nil, orNotVisible(err)
		}
		return res, nil
	}
	list := reflect.ValueOf(res)
	if list.Kind() != reflect.Slice || list.Len() == 0 {
		return res, nil
	}
	if _, ok := ObjectOf(list.Index(0).Interface()); !ok {
		return res, nil
	}
	checks := make([]authz.Check, list.Len())
	for i := range checks {
		o, _ := ObjectOf(list.Index(i).Interface())
		checks[i] = authz.Check{Resource: o, Permission: visibility(o)}
	}
	allowed, err := v.Checks.CheckMany(ctx, checks)
	if err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	kept := reflect.MakeSlice(list.Type(), 0, list.Len())
	for i, ok := range allowed {
		if ok {
			kept = reflect.Append(kept, list.Index(i))
		}
	}
	return kept.Interface(), nil
}

func orNotVisible(err error) error {
	if err != nil {
		return fmt.Errorf("access: %w", err)
	}
	return ErrNotVisible()
}
