package graph

import (
	"context"
	"reflect"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/pbxportal/pbxportal/internal/access"
	"github.com/pbxportal/pbxportal/internal/authz"
)

// PrimeChecks is a field middleware that, when a field resolves to a list of
// objects (a connection, or a list edge), queues at once every permission
// check their selected fields will make: each @authz field and viewerCan.
// The items' resolvers then find their answers pending in the batcher, so a
// page costs one CheckBulkPermissions call however its goroutines are
// scheduled (DESIGN.md, "Requests, reads").
func (r *Resolver) PrimeChecks(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	if err != nil || res == nil {
		return res, err
	}
	b, ok := authz.BatcherFrom(ctx)
	fc := graphql.GetFieldContext(ctx)
	if !ok || fc == nil {
		return res, nil
	}
	items, sel := listed(res, fc.Field.Selections)
	if len(items) < 2 {
		return res, nil
	}
	oc := graphql.GetOperationContext(ctx)
	var checks []authz.Check
	for _, item := range items {
		o, ok := access.ObjectOf(item)
		if !ok {
			return res, nil
		}
		for _, f := range graphql.CollectFields(oc, sel, []string{reflect.TypeOf(item).Elem().Name()}) {
			if f.Name == "viewerCan" {
				for _, p := range viewerCanPermissions(item) {
					checks = append(checks, authz.Check{Resource: o, Permission: p})
				}
			}
			if f.Definition == nil {
				continue
			}
			if d := f.Definition.Directives.ForName("authz"); d != nil {
				if arg := d.Arguments.ForName("permission"); arg != nil {
					checks = append(checks, authz.Check{Resource: o, Permission: arg.Value.Raw})
				}
			}
		}
	}
	b.Prime(checks)
	return res, nil
}

// listed returns the objects of a list result and the selection made on each:
// the nodes of a connection (edges { node { … } }), or the items of a list.
func listed(res any, sel ast.SelectionSet) ([]any, ast.SelectionSet) {
	v := reflect.ValueOf(res)
	if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
		edges := v.Elem().FieldByName("Edges")
		if !edges.IsValid() || edges.Kind() != reflect.Slice {
			return nil, nil
		}
		nodeSel := subSelection(subSelection(sel, "edges"), "node")
		items := make([]any, 0, edges.Len())
		for i := range edges.Len() {
			if e := edges.Index(i); !e.IsNil() {
				items = append(items, e.Elem().FieldByName("Node").Interface())
			}
		}
		return items, nodeSel
	}
	if v.Kind() != reflect.Slice {
		return nil, nil
	}
	items := make([]any, v.Len())
	for i := range items {
		items[i] = v.Index(i).Interface()
	}
	return items, sel
}

// subSelection is the selection under the fields named name (fragments
// included, so that every alias and spread is primed).
func subSelection(sel ast.SelectionSet, name string) ast.SelectionSet {
	var out ast.SelectionSet
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if s.Name == name {
				out = append(out, s.SelectionSet...)
			}
		case *ast.InlineFragment:
			out = append(out, subSelection(s.SelectionSet, name)...)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				out = append(out, subSelection(s.Definition.SelectionSet, name)...)
			}
		}
	}
	return out
}
