package access

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
	"github.com/pbxportal/pbxportal/internal/authz/sqlfilter"
)

// localRelations are the relations whose lookups LocalLookup answers: the
// viewer relations whose column tests the rows of a table
// (sqlfilter.Schema.ViewerRelationFilter).
func localRelations(s *sqlfilter.Schema) map[list]bool {
	local := map[list]bool{}
	for _, k := range s.ViewerRelations() {
		typ, rel, _ := strings.Cut(k, "#")
		if hasTable(typ) {
			local[list{typ, rel}] = true
		}
	}
	return local
}

// AnswersLocally reports whether LocalLookup answers the lookups of
// typ#perm.
func (l *Lists) AnswersLocally(typ, perm string) bool { return l.local[list{typ, perm}] }

// LocalRelations lists, as "type#relation", sorted, every relation whose
// lookups LocalLookup answers.
func (l *Lists) LocalRelations() []string {
	out := make([]string, 0, len(l.local))
	for k := range l.local {
		out = append(out, k.typ+"#"+k.permission)
	}
	slices.Sort(out)
	return out
}

// LocalLookup answers from the database the lookups of the viewer's own
// relations (sqlfilter.Schema.ViewerRelation: domain#member,
// queue#supervisor, site#site_manager, …) whose column tests the rows of a
// table, for the client to make instead of a SpiceDB call
// (authz.Client.AnswerLocally). A page's list filter and its Decider make
// these lookups on every request that nothing remembered answers; each is
// then one indexed query of the viewer's own rows. Inside a transaction (a
// mutation) it answers nothing: SpiceDB does, as before.
func (l *Lists) LocalLookup(client *ent.Client) authz.LocalLookup {
	return func(ctx context.Context, typ, perm string, subject authz.Object) ([]string, bool, error) {
		if subject.Type != projection.TypeUser || ent.TxFromContext(ctx) != nil {
			return nil, false, nil
		}
		viewer, err := strconv.Atoi(subject.ID)
		if err != nil || !l.AnswersLocally(typ, perm) {
			return nil, false, nil
		}
		f, _ := l.schema.ViewerRelationFilter(typ, perm, viewer)
		ids, err := idsWhere(ctx, client, typ, f)
		if err != nil {
			return nil, true, err
		}
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = strconv.Itoa(id)
		}
		return out, true, nil
	}
}
