package access

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
	"github.com/pbxportal/pbxportal/internal/authz/sqlfilter"
)

// localAnswers are the relations and permissions whose lookups LocalLookup
// answers:
//   - those of a type with a table that compile (sqlfilter.Schema.Compile)
//     and whose plan's lookups are all answered here too: site#reach is
//     site_manager (a column of the users table) + domain->manage, and
//     domain#manage is office_manager + platform->support;
//   - the relations that only their subject writes, from its own user row
//     and memberships (projection.RowRelations: platform#support,
//     domain#member, queue#supervisor, …), whose subjects are all users.
func localAnswers(s *sqlfilter.Schema, row map[list]bool) map[list]bool {
	local := map[list]bool{}
	visiting := map[list]bool{}
	var answers func(k list) bool
	answers = func(k list) bool {
		if done, ok := local[k]; ok {
			return done
		}
		if visiting[k] { // a cycle: SpiceDB answers it
			return false
		}
		visiting[k] = true
		ok := row[k]
		if !ok && hasTable(k.typ) {
			if p, err := s.Compile(k.typ, k.permission); err == nil && p.Fallback == "" {
				ok = !slices.ContainsFunc(p.Lookups(), func(l string) bool {
					typ, perm, _ := strings.Cut(l, "#")
					return !answers(list{typ, perm})
				})
			}
		}
		local[k] = ok
		return ok
	}
	for _, name := range s.Names() {
		typ, perm, _ := strings.Cut(name, "#")
		answers(list{typ, perm})
	}
	maps.DeleteFunc(local, func(_ list, ok bool) bool { return !ok })
	return local
}

// rowRelations are projection.RowRelations that the schema says only
// users hold (sqlfilter.Schema.ViewerRelation).
func rowRelations(s *sqlfilter.Schema) map[list]bool {
	row := map[list]bool{}
	for _, k := range projection.RowRelations() {
		typ, rel, _ := strings.Cut(k, "#")
		if s.ViewerRelation(typ, rel) {
			row[list{typ, rel}] = true
		}
	}
	return row
}

// AnswersLocally reports whether LocalLookup answers the lookups of
// typ#perm.
func (l *Lists) AnswersLocally(typ, perm string) bool { return l.local[list{typ, perm}] }

// LocalAnswers lists, as "type#name", sorted, every relation and permission
// whose lookups LocalLookup answers.
func (l *Lists) LocalAnswers() []string {
	out := make([]string, 0, len(l.local))
	for k := range l.local {
		out = append(out, k.typ+"#"+k.permission)
	}
	slices.Sort(out)
	return out
}

// LocalLookupsOf lists, as "type#name", the lookups that LocalLookup makes
// to answer a lookup of typ#perm: none for one it does not answer, or one
// read from the subject's row.
func (l *Lists) LocalLookupsOf(typ, perm string) []string {
	if !l.AnswersLocally(typ, perm) || l.row[list{typ, perm}] {
		return nil
	}
	return l.plan(list{typ, perm}).Lookups()
}

// LocalLookup answers from the database the lookups that the model compiles
// to SQL over the projection's columns (localAnswers), for the client to
// make instead of a SpiceDB call (authz.Client.AnswerLocally): the
// viewer's own relations (domain#member, queue#supervisor), and the
// container permissions built from them (domain#manage, site#reach,
// queue#manage). A page's list filter and its Decider make these lookups on
// every request that nothing remembered answers; each is then a query or
// two of indexed rows, where SpiceDB, at a revision it has no cache for,
// evaluates every branch afresh. A permission's own lookups are answered
// the same way, concurrently, before its query, and through spice, so that
// they are remembered and shared with the request's own lookups of them
// (an office manager's site#reach and domain#manage read domain#manage
// once). Inside a transaction (a mutation) it answers nothing: SpiceDB
// does.
func (l *Lists) LocalLookup(client *ent.Client, spice *authz.Client) authz.LocalLookup {
	return func(ctx context.Context, typ, perm string, subject authz.Object) ([]string, bool, error) {
		if subject.Type != projection.TypeUser || ent.TxFromContext(ctx) != nil || !l.AnswersLocally(typ, perm) {
			return nil, false, nil
		}
		viewer, err := strconv.Atoi(subject.ID)
		if err != nil {
			return nil, false, nil
		}
		if l.row[list{typ, perm}] {
			ids, err := rowResources(ctx, client, viewer)
			return ids[typ+"#"+perm], true, err
		}
		ids, err := l.answer(ctx, client, typ, perm, viewer, func(ctx context.Context, typ, perm string) ([]string, error) {
			return spice.LookupResources(ctx, typ, perm, subject)
		})
		return ids, true, err
	}
}

// answer is the lookup of typ#perm, one of localAnswers of a type with a
// table, for viewer, after the lookups of its plan.
func (l *Lists) answer(ctx context.Context, client *ent.Client, typ, perm string, viewer int, lookup sqlfilter.Lookup) ([]string, error) {
	p := l.plan(list{typ, perm})
	if p == nil {
		return nil, fmt.Errorf("access: %s#%s does not compile", typ, perm)
	}
	f, err := p.Filter(ctx, l.schema, viewer, lookup)
	if err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	ids, known := f.IDs()
	if !known {
		if ids, err = idsWhere(ctx, client, typ, uncounted(f.Apply)); err != nil {
			return nil, err
		}
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.Itoa(id)
	}
	return out, nil
}

// rowKey is the key of a user's row relations in a request
// (authz.RequestOnce).
type rowKey struct{ user int }

// rowResources are the row relations of user (projection.RowResources), read
// once per request however many of its lookups ask, and at once: a page's
// filter looks several of them up concurrently (domain#member,
// domain#office_manager, queue#supervisor), each from the same read.
func rowResources(ctx context.Context, client *ent.Client, user int) (map[string][]string, error) {
	return authz.RequestOnce(ctx, rowKey{user}, func() (map[string][]string, error) {
		return projection.RowResources(ctx, client, user)
	})
}
