package projection

import (
	"context"
	"fmt"
	"slices"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/user"
)

// Some relations of schema.zed have users as subjects and are written by
// the subject's own user row alone, from its fields (emitUser): the
// support scope (platform#support), the numbers of replayOthers
// (number#replayer), a user's domain and site memberships and rights
// (domain#member, site#site_manager, …). Which objects hold a user in them
// is therefore read from that one row, with the same emitter: one read
// answers them all.

// RowRelations lists, as "type#relation", the relations that only the
// subject's own user row writes, from its fields alone: every relation of
// the types without a table, and those that Columns looks up (ownRow).
func RowRelations() []string {
	out := []string{TypePlatform + "#support", TypeNumber + "#replayer"}
	for _, c := range Columns() {
		if c.LookedUp {
			out = append(out, c.Resource+"#"+c.Relation)
		}
	}
	return out
}

// RowResources returns, for each of RowRelations that holds the user
// userID, the ids of the objects whose relation holds it, as the user's
// row, read through c, writes them: nothing for a user that does not
// exist.
func RowResources(ctx context.Context, c *ent.Client, userID int) (map[string][]string, error) {
	u, err := c.User.Query().Where(user.ID(userID)).Only(ctx)
	switch {
	case ent.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("projection: read user %d: %w", userID, err)
	}
	return rowResources(u, RowRelations()), nil
}

// rowResources are, by "type#relation" of relations, the ids of the
// objects that emitUser writes in them for u, with u as the subject.
func rowResources(u *ent.User, relations []string) map[string][]string {
	me := Obj(TypeUser, u.ID)
	out := map[string][]string{}
	for _, r := range emitUser(u) {
		if r.Subject != me || r.SubjectRelation != "" {
			continue
		}
		k := r.Resource.Type + "#" + r.Relation
		if slices.Contains(relations, k) {
			out[k] = append(out[k], r.Resource.ID)
		}
	}
	return out
}
