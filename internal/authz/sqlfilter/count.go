package sqlfilter

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
)

// A count has no page to stop at. For a viewer who holds a broad grant
// (a domain), the filter D OR T, where D tests the granted domains and T is
// every other term, has no plan that is cheap on SQLite: the unary + that
// keeps T from choosing a page's plan makes a count read the whole table,
// and without it the count collects the row ids of the whole domain (see
// renderTop). So a count of such a filter is split into disjoint parts,
// counted one by one and added up:
//
//	D                             the granted domains, by the domain index
//	col IN (other domains) AND T  T among the rows of the other domains
//	col IS NULL AND T             T among the rows of no domain, when the
//	                              column may be NULL (Config.NotNull)
//
// D OR T is the union of D and (T AND NOT D), and NOT D is "of another
// domain or of none", since the column references the domains' table.
// Nothing is assumed about where T's rows lie: the second and third parts
// read the rows outside the granted domains, through the column's index,
// and test T on each (T's subqueries correlated, so that a test costs a
// lookup, not a list of the whole domain's users built first).

// Count is one part of a count in progress. The first filter of this
// package applied to the counted query claims the count and says how many
// parts it has; every part runs the same query with its own Count, and only
// the claimant's filter changes between them.
type Count struct {
	state *countState
	part  int
}

type countState struct {
	mu    sync.Mutex
	owner any
	parts int
}

type countKey struct{}

// CountPart returns ctx for the first part of a count, and that part.
// The count's query must be built with the returned context (ent builds a
// query's selector with the context of its Count).
func CountPart(ctx context.Context) (context.Context, *Count) {
	c := &Count{state: &countState{}}
	return context.WithValue(ctx, countKey{}, c), c
}

// Last says whether c is the count's last part (the first is the last
// when no filter split the count). It is known once c has run.
func (c *Count) Last() bool {
	c.state.mu.Lock()
	defer c.state.mu.Unlock()
	return c.part+1 >= c.state.parts
}

// Next returns ctx for the part after c, and that part.
func (c *Count) Next(ctx context.Context) (context.Context, *Count) {
	n := &Count{state: c.state, part: c.part + 1}
	return context.WithValue(ctx, countKey{}, n), n
}

func countFrom(ctx context.Context) *Count {
	if ctx == nil {
		return nil
	}
	c, _ := ctx.Value(countKey{}).(*Count)
	return c
}

// claim makes owner the count's filter if no other claimed it first, and
// says which part to write if owner is.
func (c *Count) claim(owner any, parts int) (int, bool) {
	c.state.mu.Lock()
	defer c.state.mu.Unlock()
	if c.state.owner == nil {
		c.state.owner, c.state.parts = owner, parts
	}
	if c.state.owner != owner || c.part >= c.state.parts {
		return 0, false
	}
	return c.part, true
}

// countParts returns the parts of n's filter for a count, or nil when it
// does not split: when the viewer holds no broad grant, when n has no
// other term, or when the broad terms are not all one plain column.
func (r *renderer) countParts(s *sql.Selector, n *node) []*sql.Predicate {
	if n.op != opOr || !r.holdsBroad(n) {
		return nil
	}
	var broad, others []*node
	var add func(*node)
	add = func(n *node) {
		switch {
		case n.op == opOr && r.holdsBroad(n):
			for _, k := range n.kids {
				add(k)
			}
		case r.holdsBroad(n):
			broad = append(broad, n)
		default:
			others = append(others, n)
		}
	}
	add(n)
	col, bare, table := "", "", ""
	var ids []int
	for _, b := range broad {
		c, name, ok := plainColumn(s, b.col)
		if !ok || (col != "" && c != col) || (table != "" && r.schema.broad[b.typ] != table) {
			return nil
		}
		col, bare, table = c, name, r.schema.broad[b.typ]
		ids = append(ids, r.found[b.typ+"#"+b.perm]...)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	r.correlated = true
	defer func() { r.correlated = false }()
	var terms []*sql.Predicate
	for _, o := range others {
		if p := r.render(s, o); p != nil {
			terms = append(terms, p)
		}
	}
	if len(terms) == 0 || col == "" || table == "" {
		return nil
	}
	t := terms[0]
	if len(terms) > 1 {
		t = sql.Or(terms...)
	}
	if s.Dialect() == dialect.SQLite {
		t = noIndex(t) // the other domains' rows drive, by the column's index
	}
	r.aliases++
	d := sql.Dialect(s.Dialect()).Table(table).As(fmt.Sprintf("sqlf%d", r.aliases))
	otherDomains := sql.Dialect(s.Dialect()).Select(d.C("id")).From(d).Where(sql.Not(InInts(d.C("id"), ids)))
	parts := []*sql.Predicate{InInts(col, ids), sql.And(sql.In(col, otherDomains), t)}
	if r.schema.notNull == nil || !r.schema.notNull(s.TableName(), bare) {
		parts = append(parts, sql.And(sql.IsNull(col), t))
	}
	return parts
}

// plainColumn returns the column c tests, qualified and bare, when c's
// Match is just that column of s's table against the subjects, as a
// foreign key is.
func plainColumn(s *sql.Selector, c Column) (string, string, bool) {
	if c.Match == nil {
		return "", "", false
	}
	var col string
	mark := sql.P()
	got := c.Match(s, func(name string) *sql.Predicate {
		col = name
		return mark
	})
	if got != mark || col == "" {
		return "", "", false
	}
	bare := strings.Trim(col[strings.LastIndexByte(col, '.')+1:], "`\"")
	if s.C(bare) != col {
		return "", "", false
	}
	return col, bare, true
}
