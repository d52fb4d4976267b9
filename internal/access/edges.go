package access

import (
	"context"
	"reflect"

	"github.com/pbxportal/pbxportal/internal/apperr"
)

// Visible keeps, of a resolved edge, only what the viewer may see: an object
// reached through a visible one is checked in its own right (docs/product.md §4).
// res is an entity (*ent.X) or a list of them; an
// invisible entity becomes nil, and a list loses its invisible entries. Every
// check of the edge is one batched call. Values of other types pass through.
func (v Viewer) Visible(ctx context.Context, res any) (any, error) {
	if rv := reflect.ValueOf(res); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return res, nil // an optional edge that leads nowhere (a recording without an owner)
	}
	if _, ok := ObjectOf(res); ok {
		seen, err := v.SeeEach(ctx, []any{res})
		if err != nil || !seen[0] {
			return nil, OrNotVisible(err)
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
	items := make([]any, list.Len())
	for i := range items {
		items[i] = list.Index(i).Interface()
	}
	seen, err := v.SeeEach(ctx, items)
	if err != nil {
		return nil, err
	}
	kept := reflect.MakeSlice(list.Type(), 0, list.Len())
	for i, ok := range seen {
		if ok {
			kept = reflect.Append(kept, list.Index(i))
		}
	}
	return kept.Interface(), nil
}

// OrNotVisible reports a failed visibility check: the check's own error if
// it failed, NOT_FOUND if the object is not visible.
func OrNotVisible(err error) error {
	if err != nil {
		return err
	}
	return apperr.NotVisible()
}
