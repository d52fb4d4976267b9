package projection

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/authz"
)

// Many relations of schema.zed have users as subjects and are written by the
// subject's own user (emitUser) alone: from its row's fields (the support
// scope, platform#support; the numbers of replayOthers, number#replayer; a
// user's domain#member, site#site_manager, …; its switches on itself,
// user#replays_own) and from its memberships, the
// rows of join tables keyed by the user (group#member, queue#supervisor,
// queue#agent, group#replayer). Which objects hold a user in them is
// therefore read from that user alone, row and memberships in one
// statement, with the same emitter: one read answers them all.

// RowRelations lists, as "type#relation", the relations that only the
// subject's own user writes, from its row and its memberships: every
// relation of the types without a table, those that Columns looks up
// (ownRow), and the user's switches on itself (self: replays_own, the menu
// levels, …).
func RowRelations() []string {
	out := []string{TypePlatform + "#support", TypeNumber + "#replayer"}
	for _, c := range Columns() {
		if c.LookedUp || (c.Self && c.Resource == TypeUser) {
			out = append(out, c.Resource+"#"+c.Relation)
		}
	}
	return out
}

// membership is a join table keyed by a user, whose rows emitUser reads as
// one of the user's edges.
type membership struct {
	table, userCol, idCol string
	set                   func(u *ent.User, ids []int)
}

// memberships are the user's edges that emitUser reads.
func memberships() []membership {
	return []membership{
		{user.GroupsTable, user.GroupsPrimaryKey[1], user.GroupsPrimaryKey[0], func(u *ent.User, ids []int) {
			for _, id := range ids {
				u.Edges.Groups = append(u.Edges.Groups, &ent.Group{ID: id})
			}
		}},
		{user.SupervisedQueuesTable, user.SupervisedQueuesPrimaryKey[1], user.SupervisedQueuesPrimaryKey[0], func(u *ent.User, ids []int) {
			for _, id := range ids {
				u.Edges.SupervisedQueues = append(u.Edges.SupervisedQueues, &ent.CallQueue{ID: id})
			}
		}},
		{user.AgentMembershipsTable, user.AgentMembershipsColumn, "queue_id", func(u *ent.User, ids []int) {
			for _, id := range ids {
				u.Edges.AgentMemberships = append(u.Edges.AgentMemberships, &ent.QueueAgent{UserID: u.ID, QueueID: id})
			}
		}},
		{user.ReplayGroupsTable, user.ReplayGroupsPrimaryKey[0], user.ReplayGroupsPrimaryKey[1], func(u *ent.User, ids []int) {
			for _, id := range ids {
				u.Edges.ReplayGroups = append(u.Edges.ReplayGroups, &ent.Group{ID: id})
			}
		}},
	}
}

// RowResources returns, by "type#relation", the ids of the objects whose
// relation holds the user userID as its subject (the RowRelations), as the
// user's row (UserRow: read once per request, by authentication first) and
// memberships (one statement) write them: nothing for a user that does not
// exist.
func RowResources(ctx context.Context, c *ent.Client, userID int) (map[string][]string, error) {
	row, err := UserRow(ctx, c, userID)
	switch {
	case ent.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, err
	}
	ms := memberships()
	// Each membership's ids come as one list, selected beside the row's
	// id. The generated query has no Modify (ent's sql/modifier feature is
	// off), but a predicate is handed the selector.
	withMemberships := func(s *sql.Selector) {
		for i, m := range ms {
			s.AppendSelectExprAs(idList(s, m), membershipColumn(i))
		}
	}
	var lists []membershipLists
	if err := c.User.Query().Where(user.ID(userID), withMemberships).Select(user.FieldID).Scan(ctx, &lists); err != nil {
		return nil, fmt.Errorf("projection: read user %d's memberships: %w", userID, err)
	}
	if len(lists) == 0 { // deleted since its row was read
		return nil, nil
	}
	u := *row // the request's row, shared: its edges are not set
	u.Edges = ent.UserEdges{}
	for i, m := range ms {
		ids, err := parseIDList(lists[0].ids(i))
		if err != nil {
			return nil, fmt.Errorf("projection: read user %d's %s: %w", userID, m.table, err)
		}
		m.set(&u, ids)
	}
	return rowResources(&u), nil
}

// userRowKey is the key of a user's row in a request (authz.RequestOnce).
type userRowKey struct{ id int }

// UserRow returns the row of the user id, read once per request
// (authz.RequestOnce) however many ask: authentication reads the viewer's,
// after the request's revision is settled, and RowResources reads the
// viewer's row relations from it. Without a request, it reads.
func UserRow(ctx context.Context, c *ent.Client, id int) (*ent.User, error) {
	return authz.RequestOnce(ctx, userRowKey{id}, func() (*ent.User, error) {
		u, err := c.User.Get(ctx, id)
		if err != nil && !ent.IsNotFound(err) {
			return nil, fmt.Errorf("projection: read user %d: %w", id, err)
		}
		return u, err
	})
}

// membershipLists is the row of a user's memberships (idList) as scanned.
type membershipLists struct {
	ID int    `sql:"id"`
	M0 string `sql:"pbx_membership_0"`
	M1 string `sql:"pbx_membership_1"`
	M2 string `sql:"pbx_membership_2"`
	M3 string `sql:"pbx_membership_3"`
}

// ids is the list of the i-th membership.
func (l membershipLists) ids(i int) string {
	return [...]string{l.M0, l.M1, l.M2, l.M3}[i]
}

func membershipColumn(i int) string { return "pbx_membership_" + strconv.Itoa(i) }

// idList is the subquery of m's ids for the user row of s, as one text of
// ids separated by commas, empty for none: never NULL.
func idList(s *sql.Selector, m membership) sql.Querier {
	return sql.ExprFunc(func(b *sql.Builder) {
		agg := "coalesce(group_concat(%s), '')"
		if b.Dialect() == dialect.Postgres {
			agg = "coalesce(string_agg(%s::text, ','), '')"
		}
		b.WriteString("(SELECT ").WriteString(fmt.Sprintf(agg, b.Quote(m.idCol))).
			WriteString(" FROM ").Ident(m.table).
			WriteString(" WHERE ").Ident(m.userCol).WriteString(" = ").WriteString(s.C(user.FieldID)).WriteString(")")
	})
}

// parseIDList reads idList's value.
func parseIDList(text string) ([]int, error) {
	if text == "" {
		return nil, nil
	}
	var ids []int
	for _, s := range strings.Split(text, ",") {
		id, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("id %q: %w", s, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// rowResources are, by "type#relation", the ids of the objects that
// emitUser writes with u as their subject.
func rowResources(u *ent.User) map[string][]string {
	me := Obj(TypeUser, u.ID)
	out := map[string][]string{}
	for _, r := range emitUser(u) {
		if r.Subject == me && r.SubjectRelation == "" {
			k := r.Resource.Type + "#" + r.Relation
			out[k] = append(out[k], r.Resource.ID)
		}
	}
	return out
}
