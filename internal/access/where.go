package access

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"entgo.io/ent/dialect/sql"
)

// RestrictWhere makes every predicate of a connection's where input that
// reaches another object through an edge (has<Edge>With) match only objects
// the viewer may see, at any depth and under and, or and not: naming an
// invisible queue matches exactly as naming one that does not exist
// (docs/product.md §4). Each such object is restricted
// by its root connection's filter, computed once per type. where is a
// *ent.<Type>WhereInput, or nil.
func (v Viewer) RestrictWhere(ctx context.Context, where any) error {
	return restrictor{v: v, filters: map[list]func(*sql.Selector){}}.restrict(ctx, where)
}

// restrictor walks one where input, with the filters it has computed.
type restrictor struct {
	v       Viewer
	filters map[list]func(*sql.Selector)
}

func (r restrictor) restrict(ctx context.Context, where any) error {
	w := reflect.ValueOf(where)
	if !w.IsValid() || w.Kind() != reflect.Pointer || w.IsNil() {
		return nil
	}
	s := w.Elem()
	for i := range s.NumField() {
		name, f := s.Type().Field(i).Name, s.Field(i)
		switch {
		case name == "Not":
			if err := r.restrict(ctx, f.Interface()); err != nil {
				return err
			}
		case name == "And" || name == "Or":
			for k := range f.Len() {
				if err := r.restrict(ctx, f.Index(k).Interface()); err != nil {
					return err
				}
			}
		case strings.HasPrefix(name, "Has") && strings.HasSuffix(name, "With"):
			for k := range f.Len() {
				target := f.Index(k).Interface()
				if err := r.visibleOnly(ctx, target); err != nil {
					return err
				}
				if err := r.restrict(ctx, target); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// visibleOnly adds to the where input of an edge's target the filter of the
// target's root connection. A target without one is refused, so that an
// edge added later cannot filter by what the viewer may not see.
func (r restrictor) visibleOnly(ctx context.Context, where any) error {
	w := reflect.ValueOf(where)
	l, ok := rootLists()[strings.TrimSuffix(w.Elem().Type().Name(), "WhereInput")]
	add := w.MethodByName("AddPredicates")
	if !ok || !add.IsValid() {
		return fmt.Errorf("access: no visibility filter for an edge to %T", where)
	}
	f, ok := r.filters[l]
	if !ok {
		var err error
		if f, err = r.v.filter(ctx, l.typ, l.permission); err != nil {
			return err
		}
		r.filters[l] = f
	}
	add.Call([]reflect.Value{reflect.ValueOf(f).Convert(add.Type().In(0).Elem())})
	return nil
}
