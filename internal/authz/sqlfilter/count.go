package sqlfilter

import (
	"context"
	"fmt"
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
//
// PostgreSQL counts the filter whole, in one query: it plans an OR by its
// statistics, and reads the table to count most of it, the bypass's count
// included. The second part has no good plan there: the share of the other
// domains is not known when the query is planned, and the correlated
// subqueries' estimates make it read the table (and compile it with JIT).

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
// does not split: when the viewer holds no broad grant. When n has no term
// but plain broad ones, it is one part, their ids merged into one IN list.
//
// The broad terms that test one plain column (a foreign key to the broad
// type's table) make D; every other term, a broad one under a condition
// included (a domain's portal users), is tested on the rows outside D,
// which the column's index finds (see the top of this file). When no broad
// term is plain, D is the broad terms as written and the other terms drive
// the second part by their own indexes, each row tested against NOT D:
// such a viewer's other terms hold no broad grant, so they select few rows.
func (r *renderer) countParts(s *sql.Selector, n *node) []*sql.Predicate {
	if s.Dialect() != dialect.SQLite || n.op != opOr || !r.holdsBroad(n) {
		return nil
	}
	var plain, others []*node
	var add func(*node)
	add = func(n *node) {
		switch {
		case n.op == opOr && r.holdsBroad(n):
			for _, k := range n.kids {
				add(k)
			}
		case r.holdsBroad(n) && r.plainBroad(s, n, plain):
			plain = append(plain, n)
		default:
			others = append(others, n)
		}
	}
	add(n)
	if len(plain) == 0 {
		return r.countByOthers(s, others)
	}
	col, bare, _ := plainColumn(s, plain[0].col)
	table := r.schema.broad[plain[0].typ]
	if r.schema.refs == nil || r.schema.refs(s.TableName(), bare) != table {
		// A column that references nothing may name a domain that does
		// not exist: its rows are neither granted nor of another domain.
		return r.countByOthers(s, append(plain, others...))
	}
	ids := r.foundIDs(plain)
	r.correlated = true
	defer func() { r.correlated = false }()
	t := r.renderOr(s, others)
	if t == nil {
		// D alone: one part, its terms merged into one IN list that the
		// column's index counts (an OR of two, domain#manage and
		// domain#replays_all, would be read twice and its row ids merged).
		return []*sql.Predicate{InInts(col, ids)}
	}
	t = noIndex(t) // the other domains' rows drive, by the column's index
	r.aliases++
	d := sql.Dialect(s.Dialect()).Table(table).As(fmt.Sprintf("sqlf%d", r.aliases))
	otherDomains := sql.Dialect(s.Dialect()).Select(d.C("id")).From(d).Where(sql.Not(InInts(d.C("id"), ids)))
	parts := []*sql.Predicate{InInts(col, ids), sql.And(sql.In(col, otherDomains), t)}
	if r.schema.notNull == nil || !r.schema.notNull(s.TableName(), bare) {
		parts = append(parts, sql.And(sql.IsNull(col), t))
	}
	return parts
}

// plainBroad says whether the broad term b tests one plain column, the
// same column of the same broad table as the terms already in plain.
func (r *renderer) plainBroad(s *sql.Selector, b *node, plain []*node) bool {
	if b.op != opLookup {
		return false
	}
	col, _, ok := plainColumn(s, b.col)
	if !ok || len(plain) == 0 {
		return ok
	}
	first, _, _ := plainColumn(s, plain[0].col)
	return col == first && r.schema.broad[b.typ] == r.schema.broad[plain[0].typ]
}

// countByOthers splits a filter whose broad terms are all under a
// condition: D as written, then the other terms, by their indexes, on the
// rows outside D.
func (r *renderer) countByOthers(s *sql.Selector, terms []*node) []*sql.Predicate {
	var broad, others []*node
	for _, n := range terms {
		if r.holdsBroad(n) {
			broad = append(broad, n)
		} else {
			others = append(others, n)
		}
	}
	d, t := r.renderOr(s, broad), r.renderOr(s, others)
	if d == nil || t == nil {
		return nil
	}
	notD := sql.P(func(b *sql.Builder) {
		b.WriteString("NOT COALESCE(").Join(d).WriteString(", ").Join(sql.False()).WriteString(")")
	})
	return []*sql.Predicate{d, sql.And(t, notD)}
}

// renderOr renders the OR of ns, nil when none matches anything.
func (r *renderer) renderOr(s *sql.Selector, ns []*node) *sql.Predicate {
	var preds []*sql.Predicate
	for _, n := range ns {
		if p := r.render(s, n); p != nil {
			preds = append(preds, p)
		}
	}
	switch len(preds) {
	case 0:
		return nil
	case 1:
		return preds[0]
	}
	return sql.Or(preds...)
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
