package authz

import "context"

// LocalLookup answers, from the database, a LookupResources of a relation
// that only the subject's own relationships hold (a domain's members, a
// queue's supervisors: the few the viewer has). ok is false for a lookup it
// does not answer, which then goes to SpiceDB.
//
// Such a relation is written by the projection from columns it names, so
// the rows holding the subject are exactly the relationships SpiceDB holds
// for it, at least as fresh as any request's revision (a request first
// settles the outbox). Read from the database it costs one indexed query,
// where SpiceDB, at a revision it has not answered at yet (after a write,
// at start-up), costs a call and a fresh evaluation.
type LocalLookup func(ctx context.Context, resourceType, permission string, subject Object) (ids []string, ok bool, err error)

// AnswerLocally makes the client answer with local, before asking SpiceDB,
// the lookups it answers that no remembered answer does. Its answers are
// remembered like SpiceDB's.
func (c *Client) AnswerLocally(local LocalLookup) {
	c.mu.Lock()
	c.local = local
	c.mu.Unlock()
}

// localLookup answers k with the client's LocalLookup, if it has one that
// answers it.
func (c *Client) localLookup(ctx context.Context, k lookupKey) ([]string, bool, error) {
	c.mu.Lock()
	local := c.local
	c.mu.Unlock()
	if local == nil || AsksSpiceDB(ctx) {
		return nil, false, nil
	}
	return local(ctx, k.resourceType, k.perm, k.subject)
}

type askSpiceDBKey struct{}

// AskSpiceDB returns ctx whose lookups the client asks SpiceDB, never its
// LocalLookup: for a reference that must be SpiceDB's own answer.
func AskSpiceDB(ctx context.Context) context.Context {
	return context.WithValue(ctx, askSpiceDBKey{}, true)
}

// AsksSpiceDB reports whether ctx is AskSpiceDB's.
func AsksSpiceDB(ctx context.Context) bool {
	ask, _ := ctx.Value(askSpiceDBKey{}).(bool)
	return ask
}
