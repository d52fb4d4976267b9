// Package outbox keeps relationship updates in the database until SpiceDB has
// them: Write adds them in the caller's transaction, and the Relay applies
// them, in order, after commit (docs/projection.md).
package outbox

import (
	"context"
	"fmt"
	"strings"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/outboxentry"
	"github.com/pbxportal/pbxportal/internal/authz"
)

// Write adds the updates to the outbox through c, which should be a
// transaction's client: deletions first, then touches.
func Write(ctx context.Context, c *ent.Client, touches, deletes []authz.Relationship) error {
	builders := make([]*ent.OutboxEntryCreate, 0, len(touches)+len(deletes))
	for _, r := range deletes {
		builders = append(builders, c.OutboxEntry.Create().SetOperation(outboxentry.OperationDELETE).SetRelationship(r.String()))
	}
	for _, r := range touches {
		builders = append(builders, c.OutboxEntry.Create().SetOperation(outboxentry.OperationTOUCH).SetRelationship(r.String()))
	}
	for len(builders) > 0 {
		n := min(len(builders), 500)
		if err := c.OutboxEntry.CreateBulk(builders[:n]...).Exec(ctx); err != nil {
			return fmt.Errorf("outbox: write: %w", err)
		}
		builders = builders[n:]
	}
	return nil
}

// Parse reads a relationship written by authz.Relationship.String:
// "type:id#relation@type:id" or "type:id#relation@type:id#relation".
func Parse(s string) (authz.Relationship, error) {
	res, rest, ok1 := strings.Cut(s, "#")
	relation, subj, ok2 := strings.Cut(rest, "@")
	subj, subjRel, _ := strings.Cut(subj, "#")
	resource, ok3 := parseObject(res)
	subject, ok4 := parseObject(subj)
	if !ok1 || !ok2 || !ok3 || !ok4 || relation == "" {
		return authz.Relationship{}, fmt.Errorf("outbox: malformed relationship %q", s)
	}
	return authz.Relationship{Resource: resource, Relation: relation, Subject: subject, SubjectRelation: subjRel}, nil
}

func parseObject(s string) (authz.Object, bool) {
	t, id, ok := strings.Cut(s, ":")
	return authz.Object{Type: t, ID: id}, ok && t != "" && id != ""
}
