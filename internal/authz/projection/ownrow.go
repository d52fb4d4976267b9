package projection

import (
	"context"
	"fmt"
	"slices"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/user"
)

// Two relations of schema.zed hang from types that have no table:
// platform#support and number#replayer. Their subjects are users, and only
// the subject's own user row writes them (emitUser: the support scope, the
// numbers of replayOthers), from the row's fields alone. So which of these
// objects hold a user is read from that user's row, with the same emitter.

// RowRelations lists, as "type#relation", the relations of types without a
// table that only the subject's own user row writes, from its fields alone.
func RowRelations() []string {
	return []string{TypePlatform + "#support", TypeNumber + "#replayer"}
}

// RowResources returns the ids of the objects of typ whose relation holds
// the user userID, as the user's row, read through c, writes them; none for
// a user that does not exist. typ#relation must be one of RowRelations.
func RowResources(ctx context.Context, c *ent.Client, userID int, typ, relation string) ([]string, error) {
	if !slices.Contains(RowRelations(), typ+"#"+relation) {
		return nil, fmt.Errorf("projection: %s#%s is not written by its subject's row alone", typ, relation)
	}
	u, err := c.User.Query().Where(user.ID(userID)).Only(ctx)
	switch {
	case ent.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("projection: read user %d: %w", userID, err)
	}
	return rowResources(u, typ, relation), nil
}

// rowResources are the ids of the objects of typ whose relation emitUser
// writes for u, with u as the subject.
func rowResources(u *ent.User, typ, relation string) []string {
	me := Obj(TypeUser, u.ID)
	var ids []string
	for _, r := range emitUser(u) {
		if r.Resource.Type == typ && r.Relation == relation && r.Subject == me && r.SubjectRelation == "" {
			ids = append(ids, r.Resource.ID)
		}
	}
	return ids
}
