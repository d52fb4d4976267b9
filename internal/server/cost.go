package server

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/pbxportal/pbxportal/internal/apperr"
)

// costGuard refuses, after validation and before execution, an operation
// whose shape (depth, aliases, root fields), inputs or estimated cost
// exceeds the limits. Walking the operation is itself bounded: it stops at
// the first bound crossed, and the fields it visits (fragments expanded) are
// bounded by MaxComplexity, so a fragment bomb costs no more than an
// ordinary query.
type costGuard struct {
	limits Limits
	schema graphql.ExecutableSchema
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = &costGuard{}

// ExtensionName names the extension.
func (*costGuard) ExtensionName() string { return "CostGuard" }

// Validate keeps the schema, to estimate costs over it.
func (g *costGuard) Validate(es graphql.ExecutableSchema) error {
	g.schema = es
	return nil
}

// MutateOperationContext checks the operation before it runs.
func (g *costGuard) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	w := shapeWalker{limits: g.limits, schema: g.schema.Schema(), vars: oc.Variables}
	w.walk(oc.Operation.SelectionSet, 0)
	if w.err == nil {
		cost := complexity.Calculate(ctx, pagedSchema{g.schema, g.limits}, oc.Operation, oc.Variables)
		if cost > g.limits.MaxComplexity {
			w.err = apperr.New(apperr.LimitExceeded, "the query's estimated cost %d exceeds the limit of %d: ask for smaller pages or fewer fields", cost, g.limits.MaxComplexity)
		}
	}
	if w.err != nil {
		// Marked a validation failure, so that the transport answers it
		// with HTTP 422 as it does the validator's own refusals; the
		// presenter shows its contract code.
		gqlErr := &gqlerror.Error{Err: w.err, Message: w.err.Error()}
		errcode.Set(gqlErr, errcode.ValidationFailed)
		return gqlErr
	}
	return nil
}

// shapeWalker walks an operation's selections, fragments expanded, and
// checks its shape and its arguments; err is the first bound crossed.
type shapeWalker struct {
	limits                      Limits
	schema                      *ast.Schema
	vars                        map[string]any
	fields, aliases, roots, ins int
	err                         error
}

func (w *shapeWalker) walk(set ast.SelectionSet, depth int) {
	for _, sel := range set {
		if w.err != nil {
			return
		}
		switch s := sel.(type) {
		case *ast.Field:
			w.field(s, depth)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				w.walk(s.Definition.SelectionSet, depth)
			}
		case *ast.InlineFragment:
			w.walk(s.SelectionSet, depth)
		}
	}
}

func (w *shapeWalker) field(f *ast.Field, depth int) {
	w.fields++
	if depth == 0 {
		w.roots++
	}
	if f.Alias != "" && f.Alias != f.Name {
		w.aliases++
	}
	switch {
	case w.roots > w.limits.MaxRootFields:
		w.err = apperr.New(apperr.LimitExceeded, "the operation selects more than %d root fields", w.limits.MaxRootFields)
	case w.aliases > w.limits.MaxAliases:
		w.err = apperr.New(apperr.LimitExceeded, "the operation has more than %d aliases", w.limits.MaxAliases)
	case depth+1 > w.limits.MaxDepth:
		w.err = apperr.New(apperr.LimitExceeded, "the operation nests deeper than %d levels", w.limits.MaxDepth)
	case w.fields > w.limits.MaxComplexity:
		w.err = apperr.New(apperr.LimitExceeded, "the operation selects more than %d fields", w.limits.MaxComplexity)
	}
	if w.err != nil {
		return
	}
	if f.Definition != nil {
		args := f.ArgumentMap(w.vars)
		for _, a := range f.Definition.Arguments {
			if w.err = w.input(a.Type, args[a.Name], a.Name, false); w.err != nil {
				return
			}
		}
		if w.err = cursorsFitOrder(f.Definition, args); w.err != nil {
			return
		}
	}
	// Introspection is bounded by the validator's own depth rule.
	if f.Name == "__schema" || f.Name == "__type" {
		return
	}
	w.walk(f.SelectionSet, depth+1)
}

// input checks one argument value of type t, at path (the argument's name,
// then its fields, dotted), against the input limits: list lengths, string
// lengths, no NUL byte, cursors this server could have issued, and the
// number of values in all. Inside a where input (filter) the lists and
// strings are bounded tighter: they become SQL variables and LIKE patterns.
func (w *shapeWalker) input(t *ast.Type, v any, path string, filter bool) error {
	if v == nil {
		return nil
	}
	if w.ins++; w.ins > w.limits.MaxInputNodes {
		return apperr.BadInput(path, "the arguments hold more than %d values", w.limits.MaxInputNodes)
	}
	if t.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			return w.input(t.Elem, v, path, filter) // a single value coerced to a list
		}
		limit := w.limits.MaxInputList
		if filter {
			limit = w.limits.MaxFilterList
		}
		if len(list) > limit {
			return apperr.BadInput(path, "at most %d items", limit)
		}
		for _, item := range list {
			if err := w.input(t.Elem, item, path, filter); err != nil {
				return err
			}
		}
		return nil
	}
	def := w.schema.Types[t.NamedType]
	if def == nil {
		return nil
	}
	if def.Kind == ast.InputObject {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		filter = filter || strings.HasSuffix(def.Name, "WhereInput")
		for _, f := range def.Fields {
			if err := w.input(f.Type, obj[f.Name], path+"."+f.Name, filter); err != nil {
				return err
			}
		}
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return nil
	}
	limit := w.limits.MaxInputString
	if filter {
		limit = w.limits.MaxFilterString
	}
	switch {
	case len(s) > limit:
		return apperr.BadInput(path, "at most %d bytes", limit)
	case strings.IndexByte(s, 0) >= 0:
		return apperr.BadInput(path, "must not contain a NUL byte")
	case def.Name == "Cursor" && !validCursor(s):
		return apperr.BadInput(path, "not a cursor of this connection: pass a cursor from its pageInfo or edges")
	}
	return nil
}

// pagedSchema estimates the cost of fields for gqlgen's complexity
// calculation: a connection costs its page size times what it selects, a
// list edge ListFactor times, nodes(ids) the number of ids times.
type pagedSchema struct {
	graphql.ExecutableSchema
	limits Limits
}

// Complexity returns the estimated cost of one field.
func (s pagedSchema) Complexity(ctx context.Context, typeName, field string, child int, args map[string]any) (int, bool) {
	if c, ok := s.ExecutableSchema.Complexity(ctx, typeName, field, child, args); ok {
		return c, ok
	}
	def := s.Schema().Types[typeName]
	if def == nil {
		return 0, false
	}
	fd := def.Fields.ForName(field)
	if fd == nil {
		return 0, false
	}
	n := 1
	_, hasFirst := args["first"]
	_, hasLast := args["last"]
	switch {
	case fd.Arguments.ForName("first") != nil && fd.Arguments.ForName("last") != nil:
		n = defaultPageSize
		if hasFirst || hasLast {
			n = max(intArg(args["first"]), intArg(args["last"]))
		}
	case fd.Type.Elem != nil && strings.HasSuffix(typeName, "Connection"):
		n = 1 // a connection's edges: counted by the connection
	case fd.Type.Elem != nil && fd.Arguments.ForName("ids") != nil:
		ids, _ := args["ids"].([]any)
		n = len(ids)
	case fd.Type.Elem != nil:
		if k := s.Schema().Types[fd.Type.Name()]; k != nil && k.Kind != ast.Scalar && k.Kind != ast.Enum {
			n = s.limits.ListFactor
		}
	}
	return saturating(1, n, child), true
}

// saturating returns base + n*child, capped at the largest int.
func saturating(base, n, child int) int {
	const maxInt = int(^uint(0) >> 1)
	if n < 1 {
		n = 1
	}
	if child > (maxInt-base)/n {
		return maxInt
	}
	return base + n*child
}

// intArg reads a page size however the argument arrived: literal, variable
// or defaulted.
func intArg(v any) int {
	switch n := v.(type) {
	case int:
		return min(n, maxPageSize)
	case *int:
		if n != nil {
			return min(*n, maxPageSize)
		}
	case int64:
		return int(min(n, int64(maxPageSize)))
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return int(min(i, int64(maxPageSize)))
		}
	case float64:
		return int(min(n, float64(maxPageSize)))
	}
	return 0
}
