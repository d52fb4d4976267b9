package authz

import (
	"slices"
	"time"
)

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
// can change (Dependencies, from the model) then move to the new one.
//
// An answer remembered at revision r was given by SpiceDB at some revision
// s ≥ r; if no write between r and the new revision n can change it,
// SpiceDB's answer at n is the same (or, if s ≥ n, it was given at a
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
	answers, local *revisionAnswers // nil: none held
}

// CarryAcrossWrites makes the client keep, across the writes the relay
// reports (CarryAnswers), the answers that deps says those writes cannot
// change. Without it, every write forgets every answer.
func (c *Client) CarryAcrossWrites(deps Dependencies) {
	c.mu.Lock()
	c.deps = deps
	c.mu.Unlock()
}

// KeepAnswersUntilChanged says that nothing but this client writes to
// SpiceDB, not even another process (an in-process SpiceDB on the memory
// datastore): remembered answers are then kept until a write changes them
// or the cache's bounds evict them, instead of answerCacheMaxAge after they
// were first remembered, which bounds how long a write from elsewhere can go
// unseen.
func (c *Client) KeepAnswersUntilChanged() {
	c.answers.mu.Lock()
	c.answers.ageless = true
	c.answers.mu.Unlock()
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
	h := &HeldAnswers{answers: c.answers.hold(token), local: c.localAnswers.hold(token)}
	if h.answers == nil && h.local == nil {
		return nil
	}
	return h
}

// hold returns the answers held at token, nil if none.
func (c *answerCache) hold(token string) *revisionAnswers {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at(token)
}

// CarryAnswers remembers at revision to the held answers that no
// relationship of written can change. written must be every relationship
// written to SpiceDB, by anyone, since the held revision, and to the
// revision that the last of them made. The answers move: they are no longer
// remembered at the held revision, which only requests begun before the
// write still read at.
func (c *Client) CarryAnswers(h *HeldAnswers, to string, written []Relationship) {
	c.mu.Lock()
	deps := c.deps
	c.mu.Unlock()
	if h == nil || deps == nil || to == "" {
		return
	}
	changes := newWrite(deps, written).changes
	if h.answers != nil {
		c.answers.carry(h.answers, to, changes)
	}
	if h.local != nil {
		c.localAnswers.carry(h.local, to, changes)
	}
}

// merge adds the answers of o that r lacks, as far as one revision's
// bound allows.
func (r *revisionAnswers) merge(o *revisionAnswers) {
	for p, bySubject := range o.lookups {
		for s, ids := range bySubject {
			if r.cost+1+len(ids) <= answerCacheCost {
				r.cost += r.addLookup(p, s, ids)
			}
		}
	}
	for p, bySubject := range o.checks {
		for s, byResource := range bySubject {
			for res, allowed := range byResource {
				if r.cost < answerCacheCost {
					r.cost += r.addCheck(p, s, res, allowed)
				}
			}
		}
	}
}

// write is what a set of written relationships may have changed.
type write struct {
	deps Dependencies
	// relations are the written relations, each with the plain subjects
	// written for it.
	relations map[[2]string]writtenSubjects
}

type writtenSubjects struct {
	subjects map[Object]bool
	// anySubject marks a relation written with a subject set or a
	// wildcard.
	anySubject bool
}

// changed is whose answers to one permission a write may have changed.
type changed struct {
	anyone   bool
	subjects map[Object]bool
}

func newWrite(deps Dependencies, written []Relationship) *write {
	w := &write{deps: deps, relations: map[[2]string]writtenSubjects{}}
	for _, r := range written {
		k := [2]string{r.Resource.Type, r.Relation}
		ws := w.relations[k]
		if ws.subjects == nil {
			ws.subjects = map[Object]bool{}
		}
		if r.SubjectRelation != "" || r.Subject.ID == "*" {
			ws.anySubject = true
		} else {
			ws.subjects[r.Subject] = true
		}
		w.relations[k] = ws
	}
	return w
}

// changes says whose answers to p the write may have changed.
func (w *write) changes(p permissionKey) changed {
	ch := changed{subjects: map[Object]bool{}}
	for rel, ws := range w.relations {
		switch w.deps.Changes(rel[0], rel[1], p.resourceType, p.perm) {
		case ChangesAnyone:
			ch.anyone = true
		case ChangesItsSubject:
			ch.anyone = ch.anyone || ws.anySubject
			for s := range ws.subjects {
				ch.subjects[s] = true
			}
		}
	}
	return ch
}

// carry moves held's answers to revision to, but those that changes says
// the write may have changed, keeping the time they were first remembered.
// Answers remembered at to already stay as they are. It costs one call of
// changes per permission held and one map deletion per answer dropped, not
// a visit of every answer. The cache's bounds hold as in put.
func (c *answerCache) carry(held *revisionAnswers, to string, changes func(permissionKey) changed) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if held.token == to {
		return
	}
	if i := slices.Index(c.revisions, held); i >= 0 { // no write cleared it
		c.revisions = slices.Delete(c.revisions, i, i+1)
		c.cost -= held.cost
	}
	if !c.ageless && time.Since(held.since) > answerCacheMaxAge {
		return
	}
	for p, bySubject := range held.lookups {
		ch := changes(p)
		if ch.anyone {
			for _, ids := range bySubject {
				held.cost -= 1 + len(ids)
			}
			delete(held.lookups, p)
			continue
		}
		for s := range ch.subjects {
			if ids, ok := bySubject[s]; ok {
				held.cost -= 1 + len(ids)
				delete(bySubject, s)
			}
		}
	}
	for p, bySubject := range held.checks {
		ch := changes(p)
		if ch.anyone {
			for _, byResource := range bySubject {
				held.cost -= len(byResource)
			}
			delete(held.checks, p)
			continue
		}
		for s := range ch.subjects {
			held.cost -= len(bySubject[s])
			delete(bySubject, s)
		}
	}
	held.token = to
	r := held
	if there := c.at(to); there != nil {
		// Requests at to remembered answers already: one revision holds
		// both, the smaller merged into the larger.
		c.cost -= there.cost
		small := there
		if there.cost >= held.cost {
			r, small = there, held
		}
		r.merge(small)
		if held.since.Before(there.since) {
			r.since = held.since
		} else {
			r.since = there.since
		}
		c.revisions[slices.Index(c.revisions, there)] = r
	} else {
		c.revisions = append(c.revisions, r)
	}
	c.cost += r.cost
	for len(c.revisions) > answerCacheRevisions || c.cost > answerCacheCost {
		oldest := c.revisions[0]
		if oldest == r {
			break
		}
		c.revisions = c.revisions[1:]
		c.cost -= oldest.cost
	}
}
