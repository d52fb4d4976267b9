package authz

import "context"

// LocalLookup answers, from the database, a LookupResources that the model
// compiles to SQL over the columns the projection writes its relations
// from: a relation of the subject's own (a domain's members, a queue's
// supervisors) or a container permission built from such relations (a
// site's reach). ok is false for a lookup it does not answer, which then
// goes to SpiceDB.
//
// The rows read are exactly the relationships SpiceDB holds, at least as
// fresh as any request's revision (a request first settles the outbox).
// Read from the database a lookup costs a query or two of indexed rows,
// where SpiceDB, at a revision it has not answered at yet (after a write,
// at start-up), costs a call and a fresh evaluation of every branch.
type LocalLookup func(ctx context.Context, resourceType, permission string, subject Object) (ids []string, ok bool, err error)

// AnswerLocally makes the client answer with local, before asking SpiceDB,
// the lookups it answers that no remembered answer does. Its answers are
// remembered like SpiceDB's, but apart, and not forgotten for their age
// (Client.localAnswers): a write that bypasses the database, the one
// reason SpiceDB's answers age, cannot change them.
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
