// Package depends says, from the authorization model, which written
// relationships can change which answers of SpiceDB: a lookup or check of
// a permission on a type, for one subject. The client's remembered answers
// (see authz.Client.CarryAnswers) outlive a write that cannot change them.
//
// A permission depends on the relations its expression reaches, through
// computed usersets, arrows and subject relations, transitively. Writing
// a relationship of a relation it does not reach cannot change its answer
// for anyone. Writing one of a relation it reaches directly, whose subject is
// a plain object (no subject relation, no wildcard), and that it never
// walks as an arrow's tupleset nor through a subject relation, changes the
// answers of that subject alone (office_manager@user:7 changes what user 7
// manages, no one else's). Every other write to a reached relation may
// change the answer for any subject.
package depends

import (
	"fmt"

	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"

	"github.com/pbxportal/pbxportal/internal/authz"
)

// relation names one relation of one type.
type relation struct{ typ, name string }

// reach is what one permission depends on.
type reach struct {
	// any are the relations whose every write may change the answer for
	// any subject.
	any map[relation]bool
	// own are the relations whose write changes the answer of its own
	// subject only.
	own map[relation]bool
	// expires says that the permission reaches a relation whose
	// relationships may expire: its answers change with time alone.
	expires bool
}

// Graph is the dependencies of every relation and permission of a schema.
type Graph struct {
	reaches map[relation]*reach
	expires bool
}

// New compiles schema and computes its dependencies.
func New(schema string) (*Graph, error) {
	cs, err := compiler.Compile(compiler.InputSchema{Source: input.Source("schema"), SchemaString: schema},
		compiler.AllowUnprefixedObjectType())
	if err != nil {
		return nil, fmt.Errorf("depends: compile schema: %w", err)
	}
	defs := map[string]*core.NamespaceDefinition{}
	for _, d := range cs.ObjectDefinitions {
		defs[d.GetName()] = d
	}
	g := &Graph{reaches: map[relation]*reach{}}
	for _, d := range cs.ObjectDefinitions {
		for _, r := range d.GetRelation() {
			w := walker{defs: defs, seen: map[relation]bool{}, out: &reach{any: map[relation]bool{}, own: map[relation]bool{}}}
			w.walk(d.GetName(), r.GetName())
			for rel := range w.out.any {
				delete(w.out.own, rel)
			}
			g.reaches[relation{d.GetName(), r.GetName()}] = w.out
			g.expires = g.expires || w.out.expires
		}
	}
	return g, nil
}

// Expires reports whether some relation of the schema holds relationships
// that expire: its answers then change with time alone, and must not be
// remembered for longer than a write from elsewhere may go unseen.
func (g *Graph) Expires() bool { return g.expires }

// Changes says whose answer to permission on an object of resourceType a
// write of a relationship of writtenType#writtenRelation can change. A
// permission the schema does not have, or one that reaches a relation
// whose relationships expire, can be changed by any write.
func (g *Graph) Changes(writtenType, writtenRelation, resourceType, permission string) authz.Change {
	r, ok := g.reaches[relation{resourceType, permission}]
	switch {
	case !ok || r.expires:
		return authz.ChangesAnyone
	case r.any[relation{writtenType, writtenRelation}]:
		return authz.ChangesAnyone
	case r.own[relation{writtenType, writtenRelation}]:
		return authz.ChangesItsSubject
	}
	return authz.ChangesNobody
}

// walker collects the dependencies of one permission.
type walker struct {
	defs map[string]*core.NamespaceDefinition
	seen map[relation]bool
	out  *reach
}

func (w *walker) rel(typ, name string) *core.Relation {
	for _, r := range w.defs[typ].GetRelation() {
		if r.GetName() == name {
			return r
		}
	}
	return nil
}

// walk adds what typ#name depends on.
func (w *walker) walk(typ, name string) {
	at := relation{typ, name}
	if w.seen[at] {
		return
	}
	w.seen[at] = true
	r := w.rel(typ, name)
	if r == nil {
		return // SpiceDB skips a subject type without the relation
	}
	if rw := r.GetUsersetRewrite(); rw != nil {
		w.rewrite(typ, rw)
		return
	}
	w.out.own[at] = true
	for _, a := range r.GetTypeInformation().GetAllowedDirectRelations() {
		if a.GetRequiredExpiration() != nil {
			w.out.expires = true
		}
		switch {
		case a.GetPublicWildcard() != nil:
			w.out.any[at] = true
		case a.GetRelation() != "...":
			// A subject set: whoever holds it, now or later.
			w.out.any[at] = true
			w.walk(a.GetNamespace(), a.GetRelation())
		}
	}
}

// rewrite adds what a permission's expression depends on. Intersections
// and exclusions depend on every operand, as unions do.
func (w *walker) rewrite(typ string, rw *core.UsersetRewrite) {
	var set *core.SetOperation
	switch {
	case rw.GetUnion() != nil:
		set = rw.GetUnion()
	case rw.GetIntersection() != nil:
		set = rw.GetIntersection()
	default:
		set = rw.GetExclusion()
	}
	for _, ch := range set.GetChild() {
		switch {
		case ch.GetComputedUserset() != nil:
			w.walk(typ, ch.GetComputedUserset().GetRelation())
		case ch.GetTupleToUserset() != nil:
			t := ch.GetTupleToUserset()
			w.arrow(typ, t.GetTupleset().GetRelation(), t.GetComputedUserset().GetRelation())
		case ch.GetFunctionedTupleToUserset() != nil:
			t := ch.GetFunctionedTupleToUserset()
			w.arrow(typ, t.GetTupleset().GetRelation(), t.GetComputedUserset().GetRelation())
		case ch.GetUsersetRewrite() != nil:
			w.rewrite(typ, ch.GetUsersetRewrite())
		}
	}
}

// arrow adds what typ#tupleset->computed depends on: any write of the
// tupleset, and what computed depends on for each type the tupleset holds.
func (w *walker) arrow(typ, tupleset, computed string) {
	w.out.any[relation{typ, tupleset}] = true
	w.walk(typ, tupleset) // its expiry, and its subjects' types
	r := w.rel(typ, tupleset)
	for _, a := range r.GetTypeInformation().GetAllowedDirectRelations() {
		w.walk(a.GetNamespace(), computed)
	}
}
