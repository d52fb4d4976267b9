package authz

import (
	"context"
	"sync"
	"time"
)

// Batcher gathers the permission checks of one request. A batch goes out once
// no new check has arrived for a short wait (or after ten waits at most), so
// every check of one resolver wave (gqlgen resolves list items concurrently)
// goes out in one CheckBulkPermissions call. Answers are memoised for the
// batcher's life, one request; failures are not, and they deny. A check
// that an earlier request at the same revision answered is answered at once
// from the client's memory (answercache.go), without a batch.
type Batcher struct {
	reads   context.Context // carries the request's revision, never cancelled
	token   string          // the request's revision; "" for none
	client  *Client
	subject Object
	wait    time.Duration

	mu      sync.Mutex
	memo    map[Check]*answer
	lookups map[[2]string]*found
	pending []Check
	timer   *time.Timer
	opened  time.Time // when the pending batch got its first check
}

// answer is one check's result, ready when done is closed.
type answer struct {
	done    chan struct{}
	allowed bool
	err     error
}

// found is one lookup's result, ready when done is closed.
type found struct {
	done  chan struct{}
	ids   []string
	local bool // the database's answer (Client.lookupResources)
	err   error
}

// NewBatcher returns a batcher of subject's checks, waiting wait for more
// checks before it sends a batch. Its reads are as fresh as ctx's revision
// (WithRevision).
func NewBatcher(ctx context.Context, client *Client, subject Object, wait time.Duration) *Batcher {
	return &Batcher{reads: context.WithoutCancel(ctx), token: requestToken(ctx), client: client, subject: subject, wait: wait,
		memo: map[Check]*answer{}, lookups: map[[2]string]*found{}}
}

// Check reports whether the subject has permission on resource.
func (b *Batcher) Check(ctx context.Context, resource Object, permission string) (bool, error) {
	res, err := b.CheckMany(ctx, []Check{{Resource: resource, Permission: permission}})
	if err != nil {
		return false, err
	}
	return res[0], nil
}

// Prime queues checks that resolvers are about to make, without waiting for
// them: a list resolver primes the checks of all its items, so that they go
// out in one call however the items' resolvers are scheduled.
func (b *Batcher) Prime(checks []Check) {
	if _, ok := bypassed(b.reads, nil); ok {
		return
	}
	b.enqueue(checks)
}

// PrimeNow is Prime, but sends the checks (with whatever else is pending) at
// once rather than after the batcher's wait: for a page whose checks are all
// known, such as a root connection's.
func (b *Batcher) PrimeNow(checks []Check) {
	if _, ok := bypassed(b.reads, nil); ok {
		return
	}
	b.enqueue(checks)
	go b.flush()
}

// CheckMany answers many checks at once, through the same batches and memo.
func (b *Batcher) CheckMany(ctx context.Context, checks []Check) ([]bool, error) {
	if out, ok := bypassed(b.reads, checks); ok {
		return out, nil
	}
	answers := b.enqueue(checks)
	out := make([]bool, len(checks))
	for i, a := range answers {
		select {
		case <-a.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if a.err != nil {
			return nil, a.err
		}
		out[i] = a.allowed
	}
	return out, nil
}

// LookupResources returns the ids of the objects of resourceType on which the
// subject has permission, at the request's revision. A request asks each
// lookup once: a list filter, its totalCount and the page's field checks
// share the answer (concurrent askers wait for the one call). Failures are
// not remembered.
func (b *Batcher) LookupResources(ctx context.Context, resourceType, permission string) ([]string, error) {
	k := [2]string{resourceType, permission}
	b.mu.Lock()
	f, ok := b.lookups[k]
	if !ok {
		f = &found{done: make(chan struct{})}
		b.lookups[k] = f
	}
	b.mu.Unlock()
	if !ok {
		// The first asker's ctx (the request's: it carries the revision)
		// bounds the call; if it ends, the failure is not remembered.
		f.ids, f.local, f.err = b.client.lookupResources(ctx, resourceType, permission, b.subject)
		if f.err != nil {
			b.mu.Lock()
			delete(b.lookups, k)
			b.mu.Unlock()
		}
		close(f.done)
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return f.ids, f.err
}

// LookedUp returns the answer of a lookup the request has already made,
// without making it.
func (b *Batcher) LookedUp(resourceType, permission string) ([]string, bool) {
	b.mu.Lock()
	f, ok := b.lookups[[2]string{resourceType, permission}]
	b.mu.Unlock()
	if !ok {
		return nil, false
	}
	select {
	case <-f.done:
		return f.ids, f.err == nil
	default:
		return nil, false
	}
}

// Decider answers, without SpiceDB, the checks it can: decided[i] says
// whether it answered checks[i], allowed[i] its answer.
type Decider func(ctx context.Context, checks []Check) (decided, allowed []bool, err error)

// Decide lets d answer what it can of checks (those not answered or asked
// already, in this request or at its revision), remembers its answers for
// the request and the revision, and returns the checks left for SpiceDB. If
// d fails, every check is left for SpiceDB. In the benchmark's bypass
// nothing is decided.
func (b *Batcher) Decide(ctx context.Context, checks []Check, d Decider) []Check {
	if _, ok := bypassed(b.reads, nil); ok {
		return checks
	}
	b.mu.Lock()
	var ask []Check
	seen := map[Check]bool{}
	for _, ch := range checks {
		if _, known := b.memo[ch]; !known && !seen[ch] {
			seen[ch] = true
			ask = append(ask, ch)
		}
	}
	ask = b.recalled(ask)
	b.mu.Unlock()
	if len(ask) == 0 {
		return nil
	}
	epoch, localEpoch := b.client.answers.now(), b.client.localAnswers.now()
	decided, allowed, err := d(ctx, ask)
	if err != nil {
		return checks
	}
	var rest, done []Check
	var doneAllowed []bool
	b.mu.Lock()
	for i, ch := range ask {
		if !decided[i] {
			rest = append(rest, ch)
			continue
		}
		done, doneAllowed = append(done, ch), append(doneAllowed, allowed[i])
		if _, known := b.memo[ch]; !known {
			b.memo[ch] = settled(allowed[i])
		}
	}
	fromDatabase := b.lookupsLocal()
	b.mu.Unlock()
	if len(done) > 0 {
		// Decided from the request's lookups and rows: the database's
		// answers when every lookup was, remembered with them.
		if fromDatabase {
			b.client.localAnswers.putChecks(localEpoch, b.token, b.subject, done, doneAllowed)
		} else {
			b.client.answers.putChecks(epoch, b.token, b.subject, done, doneAllowed)
		}
	}
	return rest
}

// lookupsLocal reports whether the database answered every lookup the
// request has made, none of them still being made (mu held).
func (b *Batcher) lookupsLocal() bool {
	for _, f := range b.lookups {
		select {
		case <-f.done:
			if !f.local {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// Settle memoises checks as allowed for the request, without asking
// anyone: the caller knows the request's own reads answered them already
// (access.Viewer.Listed: a root page's nodes passed the very filter a
// check of their visibility compiles to). A check answered or asked
// already keeps its answer. The answers are not remembered for the
// revision.
func (b *Batcher) Settle(checks []Check) {
	if _, ok := bypassed(b.reads, nil); ok {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ch := range checks {
		if _, known := b.memo[ch]; !known {
			b.memo[ch] = settled(true)
		}
	}
}

// recalled (with mu held) memoises those of checks, none of them memoised,
// that an earlier request answered at this request's revision, and returns
// the others.
func (b *Batcher) recalled(checks []Check) []Check {
	if b.token == "" || len(checks) == 0 {
		return checks
	}
	known, allowed := b.client.rememberedChecks(b.token, b.subject, checks)
	rest := checks[:0:0]
	for i, ch := range checks {
		if known[i] {
			b.memo[ch] = settled(allowed[i])
		} else {
			rest = append(rest, ch)
		}
	}
	return rest
}

// settled is an answer known already.
func settled(allowed bool) *answer {
	a := &answer{done: make(chan struct{}), allowed: allowed}
	close(a.done)
	return a
}

// enqueue returns the answers of the checks: memoised ones, pending ones,
// ones answered at the request's revision before, or new ones added to the
// pending batch.
func (b *Batcher) enqueue(checks []Check) []*answer {
	answers := make([]*answer, len(checks))
	b.mu.Lock()
	var unknown []Check
	for _, ch := range checks {
		if _, ok := b.memo[ch]; !ok {
			unknown = append(unknown, ch)
		}
	}
	b.recalled(unknown)
	for i, ch := range checks {
		a, ok := b.memo[ch]
		if !ok {
			a = &answer{done: make(chan struct{})}
			b.memo[ch] = a
			b.schedule()
			b.pending = append(b.pending, ch)
		}
		answers[i] = a
	}
	full := len(b.pending) >= maxBatch
	b.mu.Unlock()
	if full {
		b.flush()
	}
	return answers
}

// schedule (with mu held) opens a batch for a new check, or, while the
// batch is young, gives it another wait for more checks.
func (b *Batcher) schedule() {
	now := time.Now()
	switch {
	case len(b.pending) == 0:
		b.opened = now
		b.timer = time.AfterFunc(b.wait, b.flush)
	case now.Sub(b.opened) < 10*b.wait:
		b.timer.Reset(b.wait)
	}
}

// flush sends the pending checks in one call.
func (b *Batcher) flush() {
	b.mu.Lock()
	batch := b.pending
	b.pending = nil
	answers := make([]*answer, len(batch))
	for i, ch := range batch {
		answers[i] = b.memo[ch]
	}
	b.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	epoch := b.client.answers.now()
	res, err := b.client.CheckBulk(b.reads, b.subject, batch)
	if err == nil {
		b.client.answers.putChecks(epoch, b.token, b.subject, batch, res)
	}
	if err != nil {
		b.mu.Lock()
		for _, ch := range batch {
			delete(b.memo, ch) // a failure is not remembered
		}
		b.mu.Unlock()
	}
	for i, a := range answers {
		if err != nil {
			a.err = err
		} else {
			a.allowed = res[i]
		}
		close(a.done)
	}
}

type batcherKey struct{}

// WithBatcher returns ctx carrying the request's batcher.
func WithBatcher(ctx context.Context, b *Batcher) context.Context {
	return context.WithValue(ctx, batcherKey{}, b)
}

// BatcherFrom returns the request's batcher, if it has one.
func BatcherFrom(ctx context.Context) (*Batcher, bool) {
	b, ok := ctx.Value(batcherKey{}).(*Batcher)
	return b, ok
}
