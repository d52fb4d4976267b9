package authz

import "time"

// Carrying remembered answers across a write (see answercache.go for why
// answers are remembered by revision at all).
//
// A write makes a new revision, and requests read at it from then on. Most
// writes cannot change most answers: a new recording changes no one's
// grants on domains, sites or queues, which are what a list's lookups ask.
// The outbox relay, which knows the revision SpiceDB stood at before its
// write (every replica's writes pass through it one at a time, under its
// lock), and every relationship it wrote, hands those to CarryAnswers;
// the answers at the old revision that none of the written relationships
// can change (Dependencies, from the model) are then remembered at the new
// one too. An answer remembered at revision r was given by SpiceDB at some
// revision s ≥ r; if no write between r and the new revision n can change
// it, SpiceDB's answer at n is the same (or, if s ≥ n, it was given at a
// revision a read at n may be answered at). Carried answers keep the time
// they were first remembered: answerCacheMaxAge still bounds how long a
// write that bypasses the database (and so the relay) can go unseen.

// Change is whose answers a write can change.
type Change int

const (
	// ChangesNobody: the write cannot change the answer.
	ChangesNobody Change = iota
	// ChangesItsSubject: the write can change the answer of its own
	// subject only (office_manager@user:7 changes what user 7 manages).
	ChangesItsSubject
	// ChangesAnyone: the write can change the answer of any subject.
	ChangesAnyone
)

// Dependencies says which writes can change which answers.
type Dependencies interface {
	// Changes says whose answer to permission on an object of
	// resourceType a write (touch or delete) of a relationship of
	// writtenType#writtenRelation can change.
	Changes(writtenType, writtenRelation, resourceType, permission string) Change
}

// HeldAnswers are the answers remembered at one revision, held across a
// write to be carried to the revision it makes.
type HeldAnswers struct {
	answers *revisionAnswers
}

// CarryAcrossWrites makes the client keep, across the writes the relay
// reports (CarryAnswers), the answers that deps says those writes cannot
// change. Without it, every write forgets every answer.
func (c *Client) CarryAcrossWrites(deps Dependencies) {
	c.mu.Lock()
	c.deps = deps
	c.mu.Unlock()
}

// HoldAnswers holds the answers remembered at revision token, before a
// write that starts from it; nil if none are, or the client does not carry
// answers across writes.
func (c *Client) HoldAnswers(token string) *HeldAnswers {
	c.mu.Lock()
	deps := c.deps
	c.mu.Unlock()
	if deps == nil || token == "" {
		return nil
	}
	c.answers.mu.Lock()
	defer c.answers.mu.Unlock()
	if r := c.answers.at(token); r != nil {
		return &HeldAnswers{answers: r}
	}
	return nil
}

// CarryAnswers remembers at revision to the held answers that no
// relationship of written can change. written must be every relationship
// written to SpiceDB, by anyone, since the held revision, and to the
// revision that the last of them made.
func (c *Client) CarryAnswers(h *HeldAnswers, to string, written []Relationship) {
	c.mu.Lock()
	deps := c.deps
	c.mu.Unlock()
	if h == nil || deps == nil || to == "" {
		return
	}
	changed := newChangedAnswers(deps, written)
	c.answers.carry(h.answers, to, changed.keeps)
}

// changedAnswers says, for the answers of one revision, which a set of
// written relationships may have changed.
type changedAnswers struct {
	deps Dependencies
	// written are the written relations, each with the plain subjects
	// written for it; anySubject marks a relation written with a subject
	// set or a wildcard.
	written map[[2]string]writtenSubjects
	// byPermission caches, per resource type and permission, whether any
	// subject's answer may have changed and whose may.
	byPermission map[[2]string]permissionChange
}

type writtenSubjects struct {
	subjects   map[Object]bool
	anySubject bool
}

type permissionChange struct {
	anyone   bool
	subjects map[Object]bool
}

func newChangedAnswers(deps Dependencies, written []Relationship) *changedAnswers {
	ch := &changedAnswers{deps: deps, written: map[[2]string]writtenSubjects{}, byPermission: map[[2]string]permissionChange{}}
	for _, r := range written {
		k := [2]string{r.Resource.Type, r.Relation}
		w := ch.written[k]
		if w.subjects == nil {
			w.subjects = map[Object]bool{}
		}
		if r.SubjectRelation != "" || r.Subject.ID == "*" {
			w.anySubject = true
		} else {
			w.subjects[r.Subject] = true
		}
		ch.written[k] = w
	}
	return ch
}

// keeps reports whether subject's answer to permission on resourceType
// cannot have changed.
func (ch *changedAnswers) keeps(resourceType, permission string, subject Object) bool {
	k := [2]string{resourceType, permission}
	pc, ok := ch.byPermission[k]
	if !ok {
		pc.subjects = map[Object]bool{}
		for rel, w := range ch.written {
			switch ch.deps.Changes(rel[0], rel[1], resourceType, permission) {
			case ChangesAnyone:
				pc.anyone = true
			case ChangesItsSubject:
				pc.anyone = pc.anyone || w.anySubject
				for s := range w.subjects {
					pc.subjects[s] = true
				}
			}
		}
		ch.byPermission[k] = pc
	}
	return !pc.anyone && !pc.subjects[subject]
}

// carry remembers at revision to the answers of held that keeps, keeping
// the time held's answers were first remembered; answers already
// remembered at to stay as they are. The cache's bounds hold as in put.
func (c *answerCache) carry(held *revisionAnswers, to string, keeps func(resourceType, permission string, subject Object) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.at(to)
	if r == nil {
		r = &revisionAnswers{token: to, lookups: map[lookupKey][]string{}, checks: map[checkKey]bool{}, since: held.since}
		c.revisions = append(c.revisions, r)
	} else if held.since.Before(r.since) {
		r.since = held.since
	}
	if time.Since(r.since) > answerCacheMaxAge {
		return // at drops r when it is next read
	}
	added := 0
	fits := func(cost int) bool { return r.cost+added+cost <= answerCacheCost }
	for k, ids := range held.lookups {
		if _, ok := r.lookups[k]; !ok && fits(1+len(ids)) && keeps(k.resourceType, k.perm, k.subject) {
			r.lookups[k] = ids
			added += 1 + len(ids)
		}
	}
	for k, allowed := range held.checks {
		if _, ok := r.checks[k]; !ok && fits(1) && keeps(k.check.Resource.Type, k.check.Permission, k.subject) {
			r.checks[k] = allowed
			added++
		}
	}
	r.cost += added
	c.cost += added
	for len(c.revisions) > answerCacheRevisions || c.cost > answerCacheCost {
		oldest := c.revisions[0]
		if oldest == r {
			break
		}
		c.revisions = c.revisions[1:]
		c.cost -= oldest.cost
	}
}
