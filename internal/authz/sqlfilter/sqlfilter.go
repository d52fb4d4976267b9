// Package sqlfilter compiles a permission of schema.zed into an SQL filter
// over the table of the permission's object type, so that a list asks
// SpiceDB only about the containers its objects hang from (domains, sites,
// queues, groups, numbers) and never carries one id per visible row.
//
// A permission compiles when it is a union of
//   - relations whose subject is the viewer's type (user), which match the
//     viewer's own id;
//   - arrows (rel->perm) to a container type, which become one
//     LookupResources(container, perm) and a test of rel's column against
//     the containers found;
//   - arrows to a "through" type (one with a table, such as user or site),
//     which become a subquery over that type's table, compiled the same
//     way (or the ids its filter is, when they are known without a query:
//     Filter.IDs), but for its relations that only the viewer's own row
//     holds (a Self column), which are looked up (the viewer or nothing);
//   - computed usersets (another permission of the same type).
//
// Intersections, exclusions, caveats, wildcards, subject relations, nil and
// the functioned arrows (.any(), .all()) do not compile: Compile marks the plan as a fallback and says why, and the caller
// then looks the leaf type up as before.
//
// Which rows hold which relation is not written here: each Column, owned by
// the package that writes the relationships, says it.
package sqlfilter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"
)

// MaxInList is the most values an IN list carries as bind variables; a
// longer set goes to the database as one JSON parameter, unpacked by the
// database (json_each on SQLite, json_array_elements_text on PostgreSQL),
// so that no statement fails on the number of visible objects.
const MaxInList = 500

// Column says which rows of a table hold one relation of schema.zed.
type Column struct {
	// Resource and Relation name the relation, e.g. "recording", "owner".
	Resource, Relation string
	// Match returns the predicate, over the Resource's table selected by s,
	// of the rows whose relation holds a subject that in accepts: in(col)
	// tests a column (of any table) against the set of subject ids.
	Match func(s *sql.Selector, in func(col string) *sql.Predicate) *sql.Predicate
	// Resolve is set instead of Match for subjects whose ids are not row ids
	// (a platform, a number): it turns the subject ids into the predicate,
	// or returns nil when they match no row.
	Resolve func(ctx context.Context, ids []string) (func(*sql.Selector) *sql.Predicate, error)
	// Self says that the relation's subject is the row itself: Match
	// tests the row's own id, so that the only row holding a subject is
	// the subject's own row (a switch a user turns on for itself).
	Self bool
	// Via, when set, makes the column a copy: Relation is a relation of
	// Resource whose subjects are rows of a through type (Config.Tables),
	// Via a relation of that type, and Match tests the subjects of Via of
	// the row that Relation holds, as the resource's own row stores them
	// (recording#owner with Via "site": the owner's site, kept on the
	// recording). An arrow Relation->p whose p reaches Via->q then tests
	// the copy against the lookup of q instead of a subquery over the
	// through type's table. The column must hold exactly what the through
	// row's Via holds, at every moment a list reads it.
	Via string
	// LookedUp says that the relation, one whose subjects are viewers, is
	// looked up (LookupResources of Resource#Relation for the viewer) rather
	// than matched against the viewer: Match then tests the resource's own
	// id against the resources found. It suits a relation that only its
	// subject writes (a user's domain#member, from the user's row): the
	// lookup reads the viewer's own rows once, where matching the viewer
	// would read the subjects' table in a subquery of every filter that
	// names it.
	LookedUp bool

	// testsID: Match tests the resource's id and nothing else (see New).
	testsID bool
}

// Lookup answers LookupResources for the viewer.
type Lookup func(ctx context.Context, resourceType, permission string) ([]string, error)

// Schema is a compiled schema with the columns of its relations.
type Schema struct {
	defs    map[string]*core.NamespaceDefinition
	columns map[[2]string]Column
	copies  map[[3]string]Column // by resource, relation, Via
	tables  map[string]string
	viewer  string
	broad   map[string]string
	notNull func(table, column string) bool
	refs    func(table, column string) string
}

// Config says how to compile.
type Config struct {
	// Schema is the text of the model (schema.zed and any list-only
	// definitions).
	Schema string
	// Columns are the columns of the relations.
	Columns []Column
	// Tables names the table of each type compiled through: an arrow to one
	// of these types becomes a subquery over its table rather than a lookup.
	Tables map[string]string
	// Viewer is the type of the viewer (the subject of every list).
	Viewer string
	// Broad names the container types whose grant covers a whole partition
	// of a table (a domain: every row of it), each with its table. A viewer
	// who holds one sees a large share of the rows; on SQLite the other
	// terms of such a filter are then kept from choosing the plan of a page
	// (see renderTop), and a count of it is split (see countParts).
	Broad map[string]string
	// NotNull says whether a column of a table never holds NULL; nil: any
	// column may. A count split by a broad column that may be NULL has a
	// part for the rows without one.
	NotNull func(table, column string) bool
	// References names the table a column of a table references by a
	// foreign key, "" if none; nil: no column does. A count is split by a
	// broad column only when it references the broad type's table, so that
	// "not one of the granted domains" is "another domain, or none".
	References func(table, column string) string
}

// New compiles the schema text of cfg.
func New(cfg Config) (*Schema, error) {
	cs, err := compiler.Compile(compiler.InputSchema{Source: input.Source("schema"), SchemaString: cfg.Schema},
		compiler.AllowUnprefixedObjectType())
	if err != nil {
		return nil, fmt.Errorf("sqlfilter: compile schema: %w", err)
	}
	s := &Schema{defs: map[string]*core.NamespaceDefinition{}, columns: map[[2]string]Column{}, copies: map[[3]string]Column{}, tables: cfg.Tables, viewer: cfg.Viewer, broad: cfg.Broad, notNull: cfg.NotNull, refs: cfg.References}
	for _, d := range cs.ObjectDefinitions {
		s.defs[d.GetName()] = d
	}
	for _, c := range cfg.Columns {
		if c.Via != "" {
			k := [3]string{c.Resource, c.Relation, c.Via}
			if _, dup := s.copies[k]; dup || c.Match == nil || c.Self {
				return nil, fmt.Errorf("sqlfilter: copy %s#%s via %s: one only, with Match, not Self", c.Resource, c.Relation, c.Via)
			}
			s.copies[k] = c
			continue
		}
		k := [2]string{c.Resource, c.Relation}
		if _, dup := s.columns[k]; dup {
			return nil, fmt.Errorf("sqlfilter: two columns for %s#%s", c.Resource, c.Relation)
		}
		if (c.Match == nil) == (c.Resolve == nil) {
			return nil, fmt.Errorf("sqlfilter: column %s#%s needs exactly one of Match and Resolve", c.Resource, c.Relation)
		}
		c.testsID = testsID(c)
		if c.LookedUp && (!c.testsID || c.Self) {
			return nil, fmt.Errorf("sqlfilter: looked-up column %s#%s must test the resource's id alone", c.Resource, c.Relation)
		}
		s.columns[k] = c
	}
	return s, nil
}

// testsID reports whether c's Match tests the resource's own id and
// nothing else. A filter made of such tests is a set of ids (Filter.IDs).
func testsID(c Column) bool {
	_, bare, ok := plainColumn(sql.Select().From(sql.Table("t")), c)
	return ok && bare == "id"
}

// Plan is a compiled permission of one type.
type Plan struct {
	Type, Permission string
	// Fallback, when not empty, says why the permission does not compile;
	// the plan then has no filter.
	Fallback string
	root     *node
}

type op int

const (
	opOr      op = iota // any of kids
	opViewer            // col holds the viewer
	opLookup            // col holds one of the looked-up typ#perm
	opThrough           // col holds a row of typ's table that passes sub
	opNever             // nothing
)

type node struct {
	op   op
	kids []*node
	col  Column
	typ  string // lookup or through type
	perm string // lookup permission
	sub  *node  // through: the filter over typ's table
}

// unsupported is why a permission does not compile.
type unsupported string

func (u unsupported) Error() string { return string(u) }

// Compile compiles typ#permission. A shape that does not compile is not an
// error: the plan says it falls back, and why.
func (s *Schema) Compile(typ, permission string) (*Plan, error) {
	p := &Plan{Type: typ, Permission: permission}
	if s.rel(typ, permission) == nil {
		return nil, fmt.Errorf("sqlfilter: %s#%s is not in the schema", typ, permission)
	}
	n, err := s.compile(typ, permission, 0)
	var u unsupported
	switch {
	case errors.As(err, &u):
		p.Fallback = string(u)
	case err != nil:
		return nil, err
	default:
		p.root = n
	}
	return p, nil
}

func (s *Schema) rel(typ, name string) *core.Relation {
	d := s.defs[typ]
	if d == nil {
		return nil
	}
	for _, r := range d.GetRelation() {
		if r.GetName() == name {
			return r
		}
	}
	return nil
}

// compile compiles typ#name into a filter over typ's rows.
func (s *Schema) compile(typ, name string, depth int) (*node, error) {
	if depth > 16 {
		return nil, unsupported(fmt.Sprintf("%s#%s nests too deep", typ, name))
	}
	r := s.rel(typ, name)
	if r == nil {
		return &node{op: opNever}, nil
	}
	if r.GetUsersetRewrite() == nil { // a relation: does it hold the viewer?
		var kids []*node
		for _, a := range r.GetTypeInformation().GetAllowedDirectRelations() {
			switch {
			case a.GetRequiredCaveat() != nil || a.GetRequiredExpiration() != nil:
				return nil, unsupported(fmt.Sprintf("%s#%s has a caveat or an expiration", typ, name))
			case a.GetPublicWildcard() != nil:
				return nil, unsupported(fmt.Sprintf("%s#%s allows a wildcard", typ, name))
			case a.GetNamespace() != s.viewer:
				continue // the viewer is never such a subject
			case a.GetRelation() != "...":
				return nil, unsupported(fmt.Sprintf("%s#%s allows a subject relation", typ, name))
			}
			col, ok := s.columns[[2]string{typ, name}]
			if !ok || col.Match == nil {
				return nil, unsupported(fmt.Sprintf("no column holds %s#%s", typ, name))
			}
			if col.LookedUp {
				kids = append(kids, &node{op: opLookup, col: col, typ: typ, perm: name})
				continue
			}
			kids = append(kids, &node{op: opViewer, col: col})
		}
		return or(kids), nil
	}
	return s.rewrite(typ, r.GetUsersetRewrite(), depth)
}

func (s *Schema) rewrite(typ string, rw *core.UsersetRewrite, depth int) (*node, error) {
	u := rw.GetUnion()
	if u == nil {
		return nil, unsupported(fmt.Sprintf("%s has an intersection or exclusion", typ))
	}
	var kids []*node
	for _, ch := range u.GetChild() {
		var n *node
		var err error
		switch {
		case ch.GetComputedUserset() != nil:
			n, err = s.compile(typ, ch.GetComputedUserset().GetRelation(), depth+1)
		case ch.GetTupleToUserset() != nil:
			t := ch.GetTupleToUserset()
			n, err = s.arrow(typ, t.GetTupleset().GetRelation(), t.GetComputedUserset().GetRelation(), depth)
		case ch.GetUsersetRewrite() != nil:
			n, err = s.rewrite(typ, ch.GetUsersetRewrite(), depth+1)
		default: // .any() and .all() arrows, nil: no list uses them, so none is compiled
			return nil, unsupported(fmt.Sprintf("%s has an operand that does not compile", typ))
		}
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	return or(kids), nil
}

// arrow compiles typ#tupleset->computed.
func (s *Schema) arrow(typ, tupleset, computed string, depth int) (*node, error) {
	r := s.rel(typ, tupleset)
	if r == nil {
		return nil, fmt.Errorf("sqlfilter: %s#%s is not in the schema", typ, tupleset)
	}
	col, ok := s.columns[[2]string{typ, tupleset}]
	if !ok {
		return nil, unsupported(fmt.Sprintf("no column holds %s#%s", typ, tupleset))
	}
	var kids []*node
	for _, a := range r.GetTypeInformation().GetAllowedDirectRelations() {
		target := a.GetNamespace()
		if s.rel(target, computed) == nil {
			continue // SpiceDB skips a subject type without the permission
		}
		if a.GetRequiredCaveat() != nil || a.GetRequiredExpiration() != nil || a.GetPublicWildcard() != nil || a.GetRelation() != "..." {
			return nil, unsupported(fmt.Sprintf("%s#%s has a caveat, expiration, wildcard or subject relation", typ, tupleset))
		}
		if _, ok := s.tables[target]; ok {
			if col.Match == nil {
				return nil, unsupported(fmt.Sprintf("%s#%s resolves ids and cannot take a subquery", typ, tupleset))
			}
			sub, err := s.compile(target, computed, depth+1)
			if err != nil {
				return nil, err
			}
			kids = append(kids, s.throughNode(col, target, sub))
			continue
		}
		kids = append(kids, &node{op: opLookup, col: col, typ: target, perm: computed})
	}
	return or(kids), nil
}

// throughNode is the node of col holding a row of target's table that passes
// sub. The terms of sub that only the viewer's own row can pass (a Self
// column of the viewer: the owner's own switch) are taken out of the
// subquery and looked up instead: SpiceDB answers the viewer or nothing,
// and the term is col = viewer, or no term at all. The database then sees
// an equality on col, which its statistics estimate and its index on col
// serves, or nothing. Written as a subquery, PostgreSQL estimates the term
// inside an OR at half the table and walks the primary key of a page until
// enough rows pass (44 ms at 100,000 recordings for a viewer who sees 80,
// against 0.9 ms); written as col = viewer AND the subquery, a false switch
// still leaves an OR, which keeps a site manager's page from being one
// range of an index (see opLookup of a copy below).
//
// Likewise the lookups of sub over a relation of target that the resource's
// row keeps a copy of (a Column with Via): the copy is tested against the
// lookup, an IN list on an indexed column of the listed table, instead of
// a subquery over target's table (recording.owner_site_id IN (:sites) for
// owner->site_reach, rather than owner_id IN (SELECT id FROM users WHERE
// site_id IN (:sites))).
func (s *Schema) throughNode(col Column, target string, sub *node) *node {
	var kids []*node
	var flatten func(*node)
	flatten = func(n *node) {
		if n.op != opOr {
			kids = append(kids, n)
			return
		}
		for _, k := range n.kids {
			flatten(k)
		}
	}
	flatten(sub)
	var out, rest []*node
	for _, k := range kids {
		if k.op == opViewer && k.col.Self && k.col.Resource == target {
			out = append(out, &node{op: opLookup, col: col, typ: target, perm: k.col.Relation})
			continue
		}
		if (k.op == opLookup || k.op == opThrough) && k.col.Resource == target && k.col.Match != nil {
			if c, ok := s.copies[[3]string{col.Resource, col.Relation, k.col.Relation}]; ok {
				out = append(out, &node{op: k.op, col: c, typ: k.typ, perm: k.perm, sub: k.sub})
				continue
			}
		}
		rest = append(rest, k)
	}
	if len(rest) > 0 {
		out = append(out, &node{op: opThrough, col: col, typ: target, sub: or(rest)})
	}
	return or(out)
}

// or is the union of kids, without the ones that match nothing.
func or(kids []*node) *node {
	kids = slices.DeleteFunc(kids, func(n *node) bool { return n.op == opNever })
	switch len(kids) {
	case 0:
		return &node{op: opNever}
	case 1:
		return kids[0]
	}
	return &node{op: opOr, kids: kids}
}

// ViewerRelation says whether typ#name is a relation, not a permission,
// whose subjects can only be the viewer's type itself (no subject relation,
// no wildcard, no caveat): a lookup of it reads the viewer's own
// relationships, as many as the viewer holds, and dispatches nothing.
func (s *Schema) ViewerRelation(typ, name string) bool {
	r := s.rel(typ, name)
	if r == nil || r.GetUsersetRewrite() != nil {
		return false
	}
	allowed := r.GetTypeInformation().GetAllowedDirectRelations()
	for _, a := range allowed {
		if a.GetNamespace() != s.viewer || a.GetRelation() != "..." || a.GetPublicWildcard() != nil ||
			a.GetRequiredCaveat() != nil || a.GetRequiredExpiration() != nil {
			return false
		}
	}
	return len(allowed) > 0
}

// Names lists, as "type#name", sorted, every relation and permission of
// the schema.
func (s *Schema) Names() []string {
	var out []string
	for typ, d := range s.defs {
		for _, r := range d.GetRelation() {
			out = append(out, typ+"#"+r.GetName())
		}
	}
	slices.Sort(out)
	return out
}

// Lookups lists the LookupResources calls the plan makes, as "type#perm".
func (p *Plan) Lookups() []string {
	var out []string
	var walk func(*node)
	walk = func(n *node) {
		if n == nil {
			return
		}
		if n.op == opLookup {
			k := n.typ + "#" + n.perm
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
		for _, k := range n.kids {
			walk(k)
		}
		walk(n.sub)
	}
	walk(p.root)
	return out
}

// Filter makes the plan's SQL filter for the viewer: it looks up every
// container the plan needs, concurrently, and returns the filter of the
// plan's table. A fallback plan has no filter; Filter then fails.
func (p *Plan) Filter(ctx context.Context, s *Schema, viewerID int, lookup Lookup) (*Filter, error) {
	if p.Fallback != "" {
		return nil, fmt.Errorf("sqlfilter: %s#%s does not compile: %s", p.Type, p.Permission, p.Fallback)
	}
	found, err := lookupAll(ctx, p.Lookups(), lookup)
	if err != nil {
		return nil, err
	}
	resolved := map[*node]func(*sql.Selector) *sql.Predicate{}
	var prepare func(*node) error
	prepare = func(n *node) error {
		if n == nil {
			return nil
		}
		if n.op == opLookup && n.col.Resolve != nil {
			resolved[n] = nil // matches nothing
			if ids := found[n.typ+"#"+n.perm]; len(ids) > 0 {
				f, err := n.col.Resolve(ctx, ids)
				if err != nil {
					return fmt.Errorf("sqlfilter: resolve %s#%s: %w", n.col.Resource, n.col.Relation, err)
				}
				resolved[n] = f
			}
		}
		for _, k := range n.kids {
			if err := prepare(k); err != nil {
				return err
			}
		}
		return prepare(n.sub)
	}
	if err := prepare(p.root); err != nil {
		return nil, err
	}
	ints := map[string][]int{}
	for k, ids := range found {
		for _, id := range ids {
			if n, err := strconv.Atoi(id); err == nil {
				ints[k] = append(ints[k], n)
			}
		}
	}
	return &Filter{r: &renderer{schema: s, viewerID: viewerID, found: ints, resolved: resolved}, root: p.root}, nil
}

// Filter is a plan's filter for one viewer, with its lookups made.
type Filter struct {
	r    *renderer
	root *node
}

// Apply restricts sel, a query of the plan's table, to the rows that pass.
func (f *Filter) Apply(sel *sql.Selector) {
	rr := *f.r // a query may be built more than once, and concurrently
	c := countFrom(sel.Context())
	rr.counting = c != nil
	if c != nil {
		// f.r, the same for every build of this filter, claims the count.
		parts := rr.countParts(sel, f.root)
		if i, mine := c.claim(f.r, max(len(parts), 1)); mine && len(parts) > 0 {
			sel.Where(parts[i])
			return
		}
		rr.aliases = 0
	}
	var pred *sql.Predicate
	if c != nil && sel.Dialect() != dialect.SQLite {
		// A count on PostgreSQL reads every row of the filter: a
		// subquery hashed once serves it better than one per row.
		pred = rr.render(sel, f.root)
	} else {
		pred = rr.renderTop(sel, f.root)
	}
	if pred == nil {
		pred = sql.False()
	}
	sel.Where(pred)
}

// Broad returns the filter of f's broad terms alone (lookups of a Broad type
// that found something: a domain-wide grant), when f has other terms too.
// Rows to be checked that mostly pass a domain-wide grant are tested
// against it first, and against the whole filter only if some are left:
// the other terms may be subqueries, or carry lists (a supervisor's queues),
// which PostgreSQL plans afresh, item by item, for every statement.
func (f *Filter) Broad() (*Filter, bool) {
	if f.root.op != opOr || !f.r.holdsBroad(f.root) {
		return nil, false
	}
	var broad []*node
	others := false
	var add func(*node)
	add = func(n *node) {
		switch {
		case n.op == opOr && f.r.holdsBroad(n):
			for _, k := range n.kids {
				add(k)
			}
		case f.r.holdsBroad(n):
			broad = append(broad, n)
		default:
			others = true
		}
	}
	add(f.root)
	if !others {
		return nil, false
	}
	return &Filter{r: f.r, root: or(broad)}, true
}

// IDs returns, when the filter tests nothing but the row's id against ids
// known without reading the table (the viewer's own id, ids looked up),
// those ids, sorted and distinct: the rows that pass are those of them that
// exist. It is how a site manager's site#reach is the site her row names,
// with no query of the sites. ok is false when the filter tests anything
// else.
func (f *Filter) IDs() (ids []int, ok bool) {
	return f.r.knownIDs(f.root)
}

// knownIDs is Filter.IDs of n's filter. A through term whose subquery's
// filter is a set of known ids (a site manager's site#site_manager: the
// site her row names) is, like a lookup, its column tested against them.
func (r *renderer) knownIDs(n *node) (ids []int, ok bool) {
	var walk func(*node) bool
	walk = func(n *node) bool {
		switch n.op {
		case opNever:
			return true
		case opOr:
			for _, k := range n.kids {
				if !walk(k) {
					return false
				}
			}
			return true
		case opViewer:
			ids = append(ids, r.viewerID)
			return n.col.testsID
		case opLookup:
			if f, ok := r.resolved[n]; ok {
				return f == nil
			}
			found := r.found[n.typ+"#"+n.perm]
			ids = append(ids, found...)
			return len(found) == 0 || n.col.testsID
		case opThrough:
			sub, ok := r.knownIDs(n.sub)
			ids = append(ids, sub...)
			return ok && (len(sub) == 0 || n.col.testsID)
		}
		return false
	}
	if !walk(n) {
		return nil, false
	}
	slices.Sort(ids)
	return slices.Compact(ids), true
}

// lookupAll runs the lookups concurrently, the first in the caller's own
// goroutine: a lookup answered from the database runs deep, and each new
// goroutine grows its stack there, copying it each time it doubles.
func lookupAll(ctx context.Context, keys []string, lookup Lookup) (map[string][]string, error) {
	found := make(map[string][]string, len(keys))
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(keys))
	run := func(i int, k string) {
		typ, perm, _ := cut(k)
		ids, err := lookup(ctx, typ, perm)
		if err != nil {
			errs[i] = fmt.Errorf("sqlfilter: lookup %s: %w", k, err)
			return
		}
		mu.Lock()
		found[k] = ids
		mu.Unlock()
	}
	for i, k := range keys[min(1, len(keys)):] {
		wg.Go(func() { run(i+1, k) })
	}
	if len(keys) > 0 {
		run(0, keys[0])
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return found, nil
}

func cut(k string) (string, string, bool) {
	for i := range k {
		if k[i] == '#' {
			return k[:i], k[i+1:], true
		}
	}
	return k, "", false
}

// renderer writes the predicate of a plan for one viewer, once its lookups
// are done.
type renderer struct {
	schema   *Schema
	viewerID int
	found    map[string][]int
	resolved map[*node]func(*sql.Selector) *sql.Predicate
	aliases  int
	// correlated: a subquery over a through type's table is written as a
	// correlated EXISTS, looked up for each row tested, instead of a list
	// the database builds once (see countParts).
	correlated bool
	// perRow: a correlated subquery also ends in OFFSET 0, which keeps
	// PostgreSQL from turning the EXISTS back into a hashed list of every
	// matching row (it does so when it expects to test many rows, as a page
	// walking the primary key of a large table makes it expect).
	perRow bool
	// counting: the filter is a count's (totalCount), which has no page
	// order to keep.
	counting bool
}

// renderTop renders the filter of the listed table. When the viewer holds a
// broad grant (a lookup of a Broad type that found something) and the
// database is SQLite, every other term of the top-level OR is wrapped in a
// unary + that no index can serve. Otherwise SQLite answers the OR as a
// MULTI-INDEX OR: it collects the row ids of every term, the whole domain
// for the broad one, into a temporary set and sorts them before a page's
// ORDER BY id LIMIT n can take its first rows (31–114 ms for 100,000
// recordings). With one term that no index serves, it walks the table in
// id order instead and stops at the page's last row. The rows selected are
// the same; only the plan changes. On PostgreSQL the other terms keep
// their indexes, but their subqueries are correlated and fenced (perRow):
// an IN (subquery) there is hashed whole before the page's first row, every
// user of the reached sites for an office manager (18 ms at 10,000 users),
// when the domain's term already covers nearly every row.
func (r *renderer) renderTop(s *sql.Selector, n *node) *sql.Predicate {
	if n.op != opOr || !r.holdsBroad(n) {
		return r.render(s, n)
	}
	sqlite := s.Dialect() == dialect.SQLite
	var broad, others []*sql.Predicate
	var broadNodes []*node
	var add func(*node)
	add = func(n *node) {
		if n.op == opOr && r.holdsBroad(n) {
			for _, k := range n.kids {
				add(k)
			}
			return
		}
		if r.holdsBroad(n) {
			if p := r.render(s, n); p != nil {
				broad, broadNodes = append(broad, p), append(broadNodes, n)
			}
			return
		}
		// The page walks the table and tests the other terms only on rows
		// outside the granted domains, usually a few: a subquery is then
		// looked up for each of them (correlated) rather than built whole
		// first (3.5 ms for the users of 40 sites, against 0.1 ms).
		correlated, perRow := r.correlated, r.perRow
		r.correlated, r.perRow = true, !sqlite
		if p := r.render(s, n); p != nil {
			if sqlite {
				p = noIndex(p)
			}
			others = append(others, p)
		}
		r.correlated, r.perRow = correlated, perRow
	}
	add(n)
	if sqlite && !r.counting && len(others) == 0 {
		return r.broadPage(s, broadNodes, broad)
	}
	// The broad terms first: SQLite evaluates an OR from the left and stops
	// at the first true term, which for most rows is the domain's.
	// PostgreSQL orders an OR's terms by cost, and a correlated subquery
	// costs more than an IN list, so it too tests the domain's first.
	preds := append(broad, others...)
	if len(preds) == 1 {
		return preds[0]
	}
	return sql.Or(preds...)
}

// broadPage is the filter of a SQLite page whose terms are all broad (nodes,
// rendered as preds): the rows of one domain are a range of the domain
// column's index, already in id order, so the page reads them by it; the
// rows of several come out of the index unordered, to be sorted in a
// temporary B-tree before the page's first row, so the page walks the table
// in id order instead (unary +). Terms that test the same plain column
// (domain#manage beside domain#replays_all) are merged into one IN list of
// their distinct ids first, so that one domain under two terms is still one
// range.
func (r *renderer) broadPage(s *sql.Selector, nodes []*node, preds []*sql.Predicate) *sql.Predicate {
	var plain []*node
	for _, b := range nodes {
		if !r.plainBroad(s, b, plain) {
			break
		}
		plain = append(plain, b)
	}
	if len(plain) == len(nodes) {
		col, _, _ := plainColumn(s, plain[0].col)
		ids := r.foundIDs(plain)
		if len(ids) == 1 {
			return InInts(col, ids)
		}
		return noIndex(InInts(col, ids))
	}
	if len(preds) == 1 && len(r.found[nodes[0].typ+"#"+nodes[0].perm]) == 1 {
		return preds[0]
	}
	return noIndex(sql.Or(preds...))
}

// foundIDs are the distinct ids the lookups of nodes found, sorted.
func (r *renderer) foundIDs(nodes []*node) []int {
	var ids []int
	for _, b := range nodes {
		ids = append(ids, r.found[b.typ+"#"+b.perm]...)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// holdsBroad says whether n is, or is an OR of, a lookup of a Broad type
// that found something for the viewer.
func (r *renderer) holdsBroad(n *node) bool {
	switch n.op {
	case opOr:
		return slices.ContainsFunc(n.kids, r.holdsBroad)
	case opLookup:
		_, resolved := r.resolved[n]
		_, broad := r.schema.broad[n.typ]
		return broad && !resolved && len(r.found[n.typ+"#"+n.perm]) > 0
	}
	return false
}

// noIndex is p under SQLite's unary +: the same truth value, but a term the
// planner does not drive by an index.
func noIndex(p *sql.Predicate) *sql.Predicate {
	return sql.P(func(b *sql.Builder) {
		b.WriteString("+")
		b.Wrap(func(b *sql.Builder) { b.Join(p) })
	})
}

// render returns the predicate of n, or nil when n matches nothing: an OR
// leaves such terms out, since one term that no index serves (FALSE
// included) makes SQLite scan the table instead of using an index per term.
func (r *renderer) render(s *sql.Selector, n *node) *sql.Predicate {
	switch n.op {
	case opOr:
		return r.renderOr(s, n.kids)
	case opViewer:
		return n.col.Match(s, func(col string) *sql.Predicate { return sql.EQ(col, r.viewerID) })
	case opLookup:
		if f, ok := r.resolved[n]; ok {
			if f == nil {
				return nil
			}
			return f(s)
		}
		ids := r.found[n.typ+"#"+n.perm]
		if len(ids) == 0 {
			return nil
		}
		return n.col.Match(s, func(col string) *sql.Predicate { return InInts(col, ids) })
	case opThrough:
		if ids, ok := r.knownIDs(n.sub); ok {
			// The subquery would select these rows of the through table
			// (those of them that exist, as a foreign key's are): the
			// column is tested against them, as against a lookup's.
			if len(ids) == 0 {
				return nil
			}
			return n.col.Match(s, func(col string) *sql.Predicate { return InInts(col, ids) })
		}
		r.aliases++
		t := sql.Dialect(s.Dialect()).Table(r.schema.tables[n.typ]).As(fmt.Sprintf("sqlf%d", r.aliases))
		sub := sql.Dialect(s.Dialect()).Select(t.C("id")).From(t)
		p := r.render(sub, n.sub)
		if p == nil {
			return nil
		}
		if r.correlated {
			return n.col.Match(s, func(col string) *sql.Predicate {
				q := sub.Clone().Where(sql.And(sql.ColumnsEQ(t.C("id"), col), p))
				if r.perRow {
					q.Offset(0)
				}
				return sql.Exists(q)
			})
		}
		sub.Where(p)
		return n.col.Match(s, func(col string) *sql.Predicate { return sql.In(col, sub) })
	}
	return nil
}

// InInts tests col against ids: an IN list of bind variables up to
// MaxInList ids, one JSON parameter beyond, and FALSE for none.
func InInts(col string, ids []int) *sql.Predicate {
	switch {
	case len(ids) == 0:
		return sql.False()
	case len(ids) <= MaxInList:
		return sql.InInts(col, ids...)
	}
	return inJSON(col, ids, "bigint")
}

// InStrings is InInts for strings.
func InStrings(col string, vs []string) *sql.Predicate {
	switch {
	case len(vs) == 0:
		return sql.False()
	case len(vs) <= MaxInList:
		args := make([]any, len(vs))
		for i, v := range vs {
			args[i] = v
		}
		return sql.In(col, args...)
	}
	return inJSON(col, vs, "text")
}

// inJSON tests col against a list sent as one JSON array parameter.
func inJSON[T any](col string, vs []T, pgType string) *sql.Predicate {
	js, err := json.Marshal(vs)
	if err != nil { // ints and strings always marshal
		return sql.False()
	}
	return sql.P(func(b *sql.Builder) {
		b.Ident(col)
		if b.Dialect() == dialect.Postgres {
			b.WriteString(" IN (SELECT value::" + pgType + " FROM json_array_elements_text(").Arg(string(js)).WriteString("::json))")
			return
		}
		b.WriteString(" IN (SELECT value FROM json_each(").Arg(string(js)).WriteString("))")
	})
}
