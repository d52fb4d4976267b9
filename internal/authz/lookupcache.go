package authz

import "sync"

// A list's container lookups (LookupResources of domain#manage, site#reach,
// …) are what field-level authorization costs a request on top of its SQL,
// and the same viewer asks the same ones on every request. Between two
// writes to SpiceDB their answers cannot change, so the client remembers
// them, process-wide, by the revision the request reads at.
//
// Why this is safe: a request reads "at least as fresh as" the token its
// read-revision settle returned (WithRevision), the newest revision written
// by any replica once every change committed to the database has reached
// SpiceDB. SpiceDB may answer such a read at any revision at or after the
// token; an answer remembered under that token was given at such a
// revision, so it is one SpiceDB itself could have given. A write that a
// request must see was settled before it began, so the request carries that
// write's token or a newer one, and finds nothing remembered under it. An
// answer is only remembered for a read that carries a token: never for a
// fully consistent one, nor for the client's own reads without a request
// revision. Every write through this client also forgets everything, so
// a reader in this process that still holds an older token asks SpiceDB
// again.

// Lookup cache bounds. An answer costs one unit plus one per id; at most
// lookupCacheCost units are held (about a dozen MiB of id strings at most),
// in at most lookupCacheRevisions revisions, the newest kept first.
const (
	lookupCacheCost      = 1 << 18
	lookupCacheRevisions = 4
	// lookupCacheMaxAnswer is the largest answer remembered: a lookup that
	// finds more ids than this (a leaf type looked up by a fallback list)
	// is asked again each time rather than crowd out the containers.
	lookupCacheMaxAnswer = 1 << 14
)

// lookupKey is one lookup: who asks, for which type and permission.
type lookupKey struct {
	subject            Object
	resourceType, perm string
}

// lookupRevision holds the answers remembered at one read revision.
type lookupRevision struct {
	token   string
	answers map[lookupKey][]string
	cost    int
}

// lookupCache remembers LookupResources answers by request revision. The
// ids it returns are shared: callers must not change them.
type lookupCache struct {
	mu        sync.Mutex
	revisions []*lookupRevision // oldest first
	cost      int
}

// get returns the answer remembered for k at token.
func (c *lookupCache) get(token string, k lookupKey) ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.revisions {
		if r.token == token {
			ids, ok := r.answers[k]
			return ids, ok
		}
	}
	return nil, false
}

// put remembers ids as the answer to k at token, evicting the oldest
// revisions to stay within the bounds; an answer that does not fit is not
// remembered.
func (c *lookupCache) put(token string, k lookupKey, ids []string) {
	cost := 1 + len(ids)
	if token == "" || len(ids) > lookupCacheMaxAnswer {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var r *lookupRevision
	for _, have := range c.revisions {
		if have.token == token {
			r = have
			break
		}
	}
	if r == nil {
		r = &lookupRevision{token: token, answers: map[lookupKey][]string{}}
		c.revisions = append(c.revisions, r)
	}
	if _, ok := r.answers[k]; ok {
		return
	}
	// Make room by dropping whole revisions, oldest first. An answer at the
	// oldest revision held (a slow request's) never evicts a newer one: it
	// is then not remembered.
	for len(c.revisions) > lookupCacheRevisions || c.cost+cost > lookupCacheCost {
		oldest := c.revisions[0]
		if oldest == r {
			return
		}
		c.revisions = c.revisions[1:]
		c.cost -= oldest.cost
	}
	r.answers[k] = ids
	r.cost += cost
	c.cost += cost
}

// clear forgets every answer.
func (c *lookupCache) clear() {
	c.mu.Lock()
	c.revisions, c.cost = nil, 0
	c.mu.Unlock()
}
