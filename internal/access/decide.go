package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"entgo.io/ent/dialect/sql"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
	"github.com/pbxportal/pbxportal/internal/authz/sqlfilter"
)

// A page's permission checks (its @authz fields, viewerCan, the visibility
// of its edges) ask about the same containers its list filter asked about:
// users(first:50)'s view_private is self + domain->manage +
// site->site_manager + agent_in->supervisor, every part of which user#view
// looked up already.
// Decider answers such checks with the compiled permission, run in SQL over
// the page's ids, instead of a CheckBulkPermissions call.
//
// A compiled permission is a union (sqlfilter compiles nothing else), so a
// part of it grants what it grants: a queues page looked up domain#manage
// and site#site_manager for queue#view, not the domain#member and
// queue#supervisor that its supervisors' user#view also names, yet an
// office manager's domain->manage grants every one of them. Decider
// therefore also allows, from the lookups made, what the permission's other
// lookups could only add to; it denies only with every lookup made. When what is left needs
// only lookups that the database answers (domain#member, queue#supervisor,
// site#reach: Lists.LocalLookup), it makes them rather than send the
// checks to SpiceDB, which at a revision it has no cache for dispatches
// every branch of every check.

// Decider answers, from the request's container lookups, the checks whose
// permission compiles and whose lookups the request has made already, and
// allows those that the lookups made grant when the others are not made;
// for the rest, it makes the lookups the permission lacks, if the database
// answers them all, and decides them too. Whatever it cannot decide goes to
// SpiceDB. Whether a check is decided here therefore depends only on what
// the request asked before (its list) and on the checks, never on timing.
// Inside a transaction (a mutation) it decides nothing: its rows may not be
// committed yet.
func (v Viewer) Decider(client *ent.Client) authz.Decider {
	return func(ctx context.Context, checks []authz.Check) ([]bool, []bool, error) {
		decided := make([]bool, len(checks))
		allowed := make([]bool, len(checks))
		if ent.TxFromContext(ctx) != nil {
			return decided, allowed, nil
		}
		groups := map[list][]int{} // positions in checks
		var order []list
		for i, ch := range checks {
			k := list{ch.Resource.Type, ch.Permission}
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], i)
		}
		for _, k := range order {
			at := groups[k]
			p := v.Lists.plan(k)
			if p == nil {
				continue
			}
			made, whole := v.lookedUp(p)
			local := !whole && v.localMissing(p, made)
			if !whole && len(made) == 0 && !local {
				continue // nothing made to decide from, and SpiceDB answers what is missing
			}
			ids := make([]int, 0, len(at))
			for _, i := range at {
				id, err := strconv.Atoi(checks[i].Resource.ID)
				if err != nil {
					return nil, nil, fmt.Errorf("access: decide %s:%s: %w", k.typ, checks[i].Resource.ID, err)
				}
				ids = append(ids, id)
			}
			set := make(map[int]bool, len(ids))
			// pass allows, of the ids not allowed yet, those that the
			// lookups made grant; a lookup not made finds nothing.
			pass := func(made map[string][]string) error {
				rest := slices.DeleteFunc(slices.Clone(ids), func(id int) bool { return set[id] })
				if len(rest) == 0 {
					return nil
				}
				f, err := p.Filter(ctx, v.Lists.schema, v.User.ID, func(_ context.Context, typ, perm string) ([]string, error) {
					return made[typ+"#"+perm], nil
				})
				if err != nil {
					return fmt.Errorf("access: decide %s#%s: %w", k.typ, k.permission, err)
				}
				if granted, known := f.IDs(); known { // the checked rows exist
					for _, id := range rest {
						if _, ok := slices.BinarySearch(granted, id); ok {
							set[id] = true
						}
					}
					return nil
				}
				filters := []*sqlfilter.Filter{f}
				if broad, ok := f.Broad(); ok {
					filters = []*sqlfilter.Filter{broad, f}
				}
				for _, f := range filters {
					yes, err := allowedIDs(ctx, client, k.typ, rest, uncounted(f.Apply))
					if err != nil {
						return fmt.Errorf("access: decide %s#%s: %w", k.typ, k.permission, err)
					}
					for _, id := range yes {
						set[id] = true
					}
					if rest = slices.DeleteFunc(rest, func(id int) bool { return set[id] }); len(rest) == 0 {
						break
					}
				}
				return nil
			}
			if whole || len(made) > 0 {
				if err := pass(made); err != nil {
					return nil, nil, err
				}
			}
			if local && len(set) < len(ids) { // Decide asks each check once
				if err := v.lookUpMissing(ctx, p, made); err != nil {
					return nil, nil, err
				}
				made, whole = v.lookedUp(p)
				if err := pass(made); err != nil {
					return nil, nil, err
				}
			}
			for n, i := range at {
				// Without every lookup, a row the filter leaves out may
				// still be granted by one not made: SpiceDB decides it.
				decided[i], allowed[i] = whole || set[ids[n]], set[ids[n]]
			}
		}
		return decided, allowed, nil
	}
}

// localMissing reports whether the database answers every lookup of p that
// made lacks (Lists.LocalLookup).
func (v Viewer) localMissing(p *sqlfilter.Plan, made map[string][]string) bool {
	for _, k := range p.Lookups() {
		if _, ok := made[k]; ok {
			continue
		}
		typ, perm, _ := strings.Cut(k, "#")
		if !v.Lists.AnswersLocally(typ, perm) {
			return false
		}
	}
	return true
}

// lookUpMissing makes, concurrently, the lookups of p that made lacks.
func (v Viewer) lookUpMissing(ctx context.Context, p *sqlfilter.Plan, made map[string][]string) error {
	var wg sync.WaitGroup
	keys := slices.DeleteFunc(p.Lookups(), func(k string) bool { _, ok := made[k]; return ok })
	errs := make([]error, len(keys))
	for i, k := range keys {
		typ, perm, _ := strings.Cut(k, "#")
		wg.Go(func() {
			if _, err := v.Checks.LookupResources(ctx, typ, perm); err != nil {
				errs[i] = fmt.Errorf("access: decide, lookup %s: %w", k, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// lookedUp returns the answers of the lookups of p (keyed "type#perm") that
// the request has made, and whether it has made every one. They are read
// once, so that a lookup finishing meanwhile cannot make the decision
// depend on timing.
func (v Viewer) lookedUp(p *sqlfilter.Plan) (map[string][]string, bool) {
	made := map[string][]string{}
	whole := true
	for _, k := range p.Lookups() {
		typ, perm, _ := strings.Cut(k, "#")
		if ids, ok := v.Checks.LookedUp(typ, perm); ok {
			made[k] = ids
		} else {
			whole = false
		}
	}
	return made, whole
}

// allowedIDs returns those of ids, objects of the SpiceDB type typ, whose
// rows pass f.
func allowedIDs(ctx context.Context, c *ent.Client, typ string, ids []int, f func(*sql.Selector)) ([]int, error) {
	return idsWhere(ctx, c, typ, func(s *sql.Selector) {
		s.Where(sqlfilter.InInts(s.C("id"), ids))
		f(s)
	})
}

// idsWhere returns the ids of the objects of the SpiceDB type typ whose
// rows pass f.
func idsWhere(ctx context.Context, c *ent.Client, typ string, f func(*sql.Selector)) ([]int, error) {
	switch typ {
	case projection.TypeUser:
		return c.User.Query().Where(f).IDs(ctx)
	case projection.TypeDomain:
		return c.Domain.Query().Where(f).IDs(ctx)
	case projection.TypeSite:
		return c.Site.Query().Where(f).IDs(ctx)
	case projection.TypeQueue:
		return c.CallQueue.Query().Where(f).IDs(ctx)
	case projection.TypeGroup:
		return c.Group.Query().Where(f).IDs(ctx)
	case projection.TypeRecording:
		return c.Recording.Query().Where(f).IDs(ctx)
	case projection.TypeContact:
		return c.Contact.Query().Where(f).IDs(ctx)
	}
	return nil, fmt.Errorf("access: no table of %s", typ)
}

// hasTable reports whether idsWhere reads objects of typ.
func hasTable(typ string) bool {
	switch typ {
	case projection.TypeUser, projection.TypeDomain, projection.TypeSite, projection.TypeQueue,
		projection.TypeGroup, projection.TypeRecording, projection.TypeContact:
		return true
	}
	return false
}

// Listed settles, of a root connection's page checks, those its own query
// answered: each node's visibility (user#view, recording#replay, …, see
// Visibility), which is the permission its list filter compiles (Users,
// Recordings, …) and which every node the query returned passed, with the
// request's lookups. A recordings page's replayUrl (@authz "replay") is
// then allowed without a second query. It returns the other checks.
// nodes must be the page of a root connection, filtered by its list.
func (v Viewer) Listed(nodes []any, checks []authz.Check) []authz.Check {
	// Every type ObjectOf names is a root list's whose permission is its
	// Visibility (rootLists).
	visibility := func(ch authz.Check) bool { return ch.Permission == Visibility(ch.Resource) }
	if !slices.ContainsFunc(checks, visibility) {
		return checks // a users page's view_private, say: nothing to settle
	}
	onPage := make(map[authz.Object]bool, len(nodes))
	for _, n := range nodes {
		if o, ok := ObjectOf(n); ok {
			onPage[o] = true
		}
	}
	var settled, rest []authz.Check
	for _, ch := range checks {
		if onPage[ch.Resource] && visibility(ch) {
			settled = append(settled, ch)
		} else {
			rest = append(rest, ch)
		}
	}
	if len(settled) > 0 {
		v.Checks.Settle(settled)
	}
	return rest
}
