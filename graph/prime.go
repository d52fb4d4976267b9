package graph

import (
	"context"
	"reflect"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/pbxportal/pbxportal/internal/access"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
)

// PrimeChecks is a field middleware that, when a field resolves to a list of
// objects (a connection, or a list edge), queues every permission check their
// selected fields will make (see pageChecks). The items' resolvers then find
// their answers pending in the batcher, so a page costs one
// CheckBulkPermissions call however its goroutines are scheduled. A root
// page is sent at once, without the batcher's wait; a nested list (one per
// parent item) was primed with its root page when the root eager-loaded it,
// and otherwise gathers with its siblings in one batch. Checks that the
// container grants the request looked up already can answer are decided in
// SQL first (access.Viewer.Decider), without SpiceDB; a root page's checks
// of its own nodes' visibility (a recording's replayUrl) are answered by the
// page's query itself (access.Viewer.Listed).
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
	root := fc.Object == "Query"
	if len(items) < 2 && !root {
		return res, nil
	}
	checks := pageChecks(graphql.GetOperationContext(ctx), items, sel, false, 0)
	if v, err := r.viewer(ctx); err == nil {
		if root && isConnection(res) {
			// A root connection's nodes passed its list's filter: their
			// visibility checks are answered by its own query.
			checks = v.Listed(items, checks)
		}
		checks = b.Decide(ctx, checks, v.Decider(r.client))
	}
	if root {
		b.PrimeNow(checks)
	} else {
		b.Prime(checks)
	}
	return res, nil
}

// maxPrimeDepth is how deep pageChecks follows eager-loaded list edges.
const maxPrimeDepth = 3

// pageChecks lists the checks that resolving sel on items will make: each
// @authz field and viewerCan of the items; for each single-object edge
// selected (a recording's owner, a user's site), the target's visibility and
// @authz fields, found from the item's foreign key without loading it; and,
// for each list edge that the page's query eager-loaded (a queue's
// supervisors), the same for every object in it, with its visibility.
// checkVisible adds the items' own visibility (edges are checked in their
// own right; a root connection's nodes are filtered by its query).
func pageChecks(oc *graphql.OperationContext, items []any, sel ast.SelectionSet, checkVisible bool, depth int) []authz.Check {
	var checks []authz.Check
	for _, item := range items {
		if v := reflect.ValueOf(item); !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() {
			continue // a null entry (an invisible node) selects nothing
		}
		o, isObject := access.ObjectOf(item)
		if isObject && checkVisible {
			checks = append(checks, authz.Check{Resource: o, Permission: access.Visibility(o)})
		}
		for _, f := range graphql.CollectFields(oc, sel, []string{reflect.TypeOf(item).Elem().Name()}) {
			if isObject {
				if f.Name == "viewerCan" {
					for _, p := range viewerCanPermissions(item) {
						checks = append(checks, authz.Check{Resource: o, Permission: p})
					}
				}
				checks = append(checks, fieldChecks(o, f)...)
			}
			if target, ok := edgeTarget(item, f); ok {
				checks = append(checks, authz.Check{Resource: target, Permission: access.Visibility(target)})
				for _, tf := range graphql.CollectFields(oc, f.Selections, []string{f.Definition.Type.Name()}) {
					checks = append(checks, fieldChecks(target, tf)...)
				}
			}
			if depth < maxPrimeDepth {
				if loaded, ok := loadedEdge(item, f); ok {
					checks = append(checks, pageChecks(oc, loaded, f.Selections, true, depth+1)...)
				}
			}
		}
	}
	return checks
}

// loadedEdge is the list edge f of item if the query eager-loaded it (ent's
// Named<Edge>(alias), which entgql fills for selected edges).
func loadedEdge(item any, f graphql.CollectedField) ([]any, bool) {
	if f.Definition == nil || f.Definition.Type.Elem == nil || len(f.Selections) == 0 {
		return nil, false
	}
	m := reflect.ValueOf(item).MethodByName("Named" + strings.ToUpper(f.Name[:1]) + f.Name[1:])
	if !m.IsValid() || m.Type().NumIn() != 1 || m.Type().NumOut() != 2 {
		return nil, false
	}
	alias := f.Alias
	if alias == "" {
		alias = f.Name
	}
	out := m.Call([]reflect.Value{reflect.ValueOf(alias)})
	if !out[1].IsNil() || out[0].Kind() != reflect.Slice {
		return nil, false
	}
	list := make([]any, out[0].Len())
	for i := range list {
		list[i] = out[0].Index(i).Interface()
	}
	return list, true
}

// fieldChecks is the check an @authz field f of o makes, if it is one.
func fieldChecks(o authz.Object, f graphql.CollectedField) []authz.Check {
	if f.Definition == nil {
		return nil
	}
	if d := f.Definition.Directives.ForName("authz"); d != nil {
		if arg := d.Arguments.ForName("permission"); arg != nil {
			return []authz.Check{{Resource: o, Permission: arg.Value.Raw}}
		}
	}
	return nil
}

// edgeTarget is the object a single-object edge f of item leads to, read
// from the item's foreign key (owner → OwnerID), without loading it.
func edgeTarget(item any, f graphql.CollectedField) (authz.Object, bool) {
	if f.Definition == nil || f.Definition.Type.Elem != nil || len(f.Selections) == 0 {
		return authz.Object{}, false
	}
	typ := projection.ObjectType(f.Definition.Type.Name())
	if typ == "" {
		return authz.Object{}, false
	}
	v := reflect.ValueOf(item)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return authz.Object{}, false
	}
	fk := v.Elem().FieldByName(strings.ToUpper(f.Name[:1]) + f.Name[1:] + "ID")
	if !fk.IsValid() || fk.Kind() != reflect.Int || fk.Int() == 0 {
		return authz.Object{}, false
	}
	return projection.Obj(typ, int(fk.Int())), true
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

// isConnection says whether res is a connection (it has edges).
func isConnection(res any) bool {
	v := reflect.ValueOf(res)
	return v.Kind() == reflect.Pointer && !v.IsNil() && v.Elem().Kind() == reflect.Struct &&
		v.Elem().FieldByName("Edges").IsValid()
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
