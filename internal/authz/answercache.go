package authz

import (
	"sync"
	"time"
)

// A request's authorization answers (a list's container lookups, such as
// LookupResources of domain#manage or site#reach, and its page's checks)
// are what field-level authorization costs on top of the request's SQL, and
// the same viewer asks the same ones request after request. Between two
// writes to SpiceDB they cannot change, so the client remembers them,
// process-wide, by the revision the request reads at.
//
// Why this is safe: a request reads "at least as fresh as" the token its
// read-revision settle returned (WithRevision), the newest revision written
// by any replica once every change committed to the database has reached
// SpiceDB. SpiceDB may answer such a read at any revision at or after the
// token; an answer remembered under that token was given at such a
// revision, so it is one SpiceDB itself could have given. (A check decided
// in SQL from the lookups, Batcher.Decide, reads rows committed after the
// token was settled, and so agrees with SpiceDB at the token or later.) A
// write that a request must see was settled before the request began, so
// the request carries that write's token or a newer one, and finds nothing
// remembered under it. Only reads that carry a token are remembered: never
// a fully consistent one, nor the client's own reads without a request
// revision. Every write through this client also forgets everything, and
// an answer asked before such a write is not remembered after it, so a
// reader in this process that still holds an older token asks SpiceDB
// again; the outbox relay then carries to the new revision the answers its
// write cannot change (carry.go).
//
// Writes to SpiceDB that bypass the database (an operator's zed against a
// shared SpiceDB, say) change no token; SpiceDB's answers are therefore
// also forgotten answerCacheMaxAge after they were first remembered at
// their revision, SpiceDB's own quantization interval, so such a write
// holds within the time it would without this cache. The database's
// answers (the lookups local.go answered, and the checks decided from
// them alone) cannot be changed by such a write: they are remembered in a
// cache of their own that keeps them however old. A SpiceDB that only
// this process can reach (in-process, on the memory datastore) has no
// such writes: its answers are kept until a write changes them or the
// bounds evict them (Client.KeepAnswersUntilChanged).

// Cache bounds. A check costs one unit, a lookup one plus one per id found;
// at most answerCacheCost units are held (about 20 MiB at most: a check
// takes some 150 bytes), in at most answerCacheRevisions revisions, the
// newest kept first.
const (
	answerCacheCost      = 1 << 17
	answerCacheRevisions = 4
	// answerCacheMaxLookup is the largest lookup remembered: one that finds
	// more ids (a leaf type looked up by a fallback list) is asked again
	// each time rather than crowd out the containers.
	answerCacheMaxLookup = 1 << 14
	// answerCacheMaxAge is how long the answers at one revision are kept.
	answerCacheMaxAge = 5 * time.Second
)

// lookupKey is one lookup: who asks, for which type and permission.
type lookupKey struct {
	subject            Object
	resourceType, perm string
}

// permissionKey is a permission of a type: what a write changes or not,
// for everyone or for its subject (carry.go).
type permissionKey struct{ resourceType, perm string }

// revisionAnswers are the answers remembered at one read revision, by
// permission, then subject: lookups[p][s] is s's lookup of p, checks[p][s][o]
// s's check of p on o.
type revisionAnswers struct {
	token   string
	lookups map[permissionKey]map[Object][]string
	checks  map[permissionKey]map[Object]map[Object]bool
	cost    int
	since   time.Time // when the first answer was remembered
}

func newRevisionAnswers(token string) *revisionAnswers {
	return &revisionAnswers{token: token, lookups: map[permissionKey]map[Object][]string{},
		checks: map[permissionKey]map[Object]map[Object]bool{}, since: time.Now()}
}

// addLookup remembers ids as subject's lookup of p unless one is; it
// returns the cost added.
func (r *revisionAnswers) addLookup(p permissionKey, subject Object, ids []string) int {
	bySubject := r.lookups[p]
	if bySubject == nil {
		bySubject = map[Object][]string{}
		r.lookups[p] = bySubject
	}
	if _, ok := bySubject[subject]; ok {
		return 0
	}
	bySubject[subject] = ids
	return 1 + len(ids)
}

// addCheck remembers allowed as subject's check of p on resource unless one
// is; it returns the cost added.
func (r *revisionAnswers) addCheck(p permissionKey, subject, resource Object, allowed bool) int {
	bySubject := r.checks[p]
	if bySubject == nil {
		bySubject = map[Object]map[Object]bool{}
		r.checks[p] = bySubject
	}
	byResource := bySubject[subject]
	if byResource == nil {
		byResource = map[Object]bool{}
		bySubject[subject] = byResource
	}
	if _, ok := byResource[resource]; ok {
		return 0
	}
	byResource[resource] = allowed
	return 1
}

// answerCache remembers lookups and checks by request revision. The ids it
// returns are shared: callers must not change them.
type answerCache struct {
	mu        sync.Mutex
	revisions []*revisionAnswers // oldest first
	cost      int
	// epoch counts the clears: an answer asked in an earlier epoch is not
	// stored.
	epoch uint64
	// ageless keeps answers however old they are (no answerCacheMaxAge).
	ageless bool
}

// now returns the current epoch, to pass to the puts of answers asked from
// here on.
func (c *answerCache) now() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// at returns the answers held at token, nil if none (mu held). Answers
// older than answerCacheMaxAge are dropped on the way.
func (c *answerCache) at(token string) *revisionAnswers {
	for i, r := range c.revisions {
		if r.token != token {
			continue
		}
		if !c.ageless && time.Since(r.since) > answerCacheMaxAge {
			c.revisions = append(c.revisions[:i:i], c.revisions[i+1:]...)
			c.cost -= r.cost
			return nil
		}
		return r
	}
	return nil
}

// lookup returns the lookup answer remembered for k at token.
func (c *answerCache) lookup(token string, k lookupKey) ([]string, bool) {
	if token == "" {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.at(token); r != nil {
		ids, ok := r.lookups[permissionKey{k.resourceType, k.perm}][k.subject]
		return ids, ok
	}
	return nil, false
}

// checks returns the answers remembered at token to subject's checks:
// known[i] says whether checks[i] was, allowed[i] its answer.
func (c *answerCache) checks(token string, subject Object, checks []Check) (known, allowed []bool) {
	known, allowed = make([]bool, len(checks)), make([]bool, len(checks))
	if token == "" {
		return known, allowed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.at(token)
	if r == nil {
		return known, allowed
	}
	for i, ch := range checks {
		allowed[i], known[i] = r.checks[permissionKey{ch.Resource.Type, ch.Permission}][subject][ch.Resource]
	}
	return known, allowed
}

// putLookup remembers ids as the answer to k at token, asked in epoch.
func (c *answerCache) putLookup(epoch uint64, token string, k lookupKey, ids []string) {
	if len(ids) > answerCacheMaxLookup {
		return
	}
	c.put(epoch, token, 1+len(ids), func(r *revisionAnswers) int {
		return r.addLookup(permissionKey{k.resourceType, k.perm}, k.subject, ids)
	})
}

// putChecks remembers allowed[i] as the answer to subject's checks[i] at
// token, asked in epoch.
func (c *answerCache) putChecks(epoch uint64, token string, subject Object, checks []Check, allowed []bool) {
	c.put(epoch, token, len(checks), func(r *revisionAnswers) int {
		added := 0
		for i, ch := range checks {
			added += r.addCheck(permissionKey{ch.Resource.Type, ch.Permission}, subject, ch.Resource, allowed[i])
		}
		return added
	})
}

// put makes room for cost units at token, evicting the oldest revisions,
// and lets add store the answers, which returns what they cost. Nothing is
// stored without a token, when asked before the last clear (epoch), nor
// when it does not fit: answers at the oldest revision held (a slow
// request's) never evict a newer one, and one revision alone never holds
// more than the bound.
func (c *answerCache) put(epoch uint64, token string, cost int, add func(*revisionAnswers) int) {
	if token == "" || cost > answerCacheCost {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	r := c.at(token)
	if r == nil {
		r = newRevisionAnswers(token)
		c.revisions = append(c.revisions, r)
	}
	for len(c.revisions) > answerCacheRevisions || c.cost+cost > answerCacheCost {
		oldest := c.revisions[0]
		if oldest == r {
			return
		}
		c.revisions = c.revisions[1:]
		c.cost -= oldest.cost
	}
	added := add(r)
	r.cost += added
	c.cost += added
}

// clear forgets every answer.
func (c *answerCache) clear() {
	c.mu.Lock()
	c.revisions, c.cost = nil, 0
	c.epoch++
	c.mu.Unlock()
}
