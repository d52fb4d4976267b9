// Package ratelimit slows down guessing: it counts failures per key (a
// username, a client address) and, after a number of tries, locks the
// key out for a delay that doubles with every further failure, up to a
// ceiling. It is in memory and per process.
package ratelimit

import (
	"sync"
	"time"
)

// Policy is how many failures a key may make and how it is locked out
// after that.
type Policy struct {
	// Tries is the number of failures a key may make: the last of them
	// starts its first lockout.
	Tries int
	// Base is the first lockout; each further failure doubles it.
	Base time.Duration
	// Max caps the lockout.
	Max time.Duration
	// Forget is how long after its last failure a key starts afresh.
	Forget time.Duration
}

// maxKeys bounds the memory of a limiter: past it, forgotten keys are swept,
// and if none is, the oldest is dropped.
const maxKeys = 100_000

type entry struct {
	failures    int
	lastFailure time.Time
	lockedUntil time.Time
}

// Limiter counts failures per key under one policy. It is safe for
// concurrent use.
type Limiter struct {
	policy Policy
	now    func() time.Time

	mu   sync.Mutex
	keys map[string]*entry
}

// New returns a limiter with policy p that reads the time from now (time.Now
// when nil).
func New(p Policy, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{policy: p, now: now, keys: map[string]*entry{}}
}

// Wait returns how long key is still locked out: 0 if it may try now.
func (l *Limiter) Wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.live(key)
	if e == nil {
		return 0
	}
	return max(e.lockedUntil.Sub(l.now()), 0)
}

// Try counts an attempt of key as a failure before it is made, so that
// attempts made at the same time cannot all pass a lockout that the first
// of them would have started. It returns how long key is still locked out
// (and then counts nothing), or 0 and the lockout the attempt now gives the
// key. A successful attempt is taken back with Refund, or Reset.
func (l *Limiter) Try(key string) (wait, lock time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.live(key); e != nil {
		if w := e.lockedUntil.Sub(l.now()); w > 0 {
			return w, 0
		}
	}
	return 0, l.failLocked(key)
}

// Refund takes back one failure of key counted by Try, for an attempt
// that succeeded; the lockout it may have started ends with it.
func (l *Limiter) Refund(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.live(key)
	if e == nil || e.failures == 0 {
		return
	}
	e.failures--
	if e.failures < l.policy.Tries {
		e.lockedUntil = time.Time{}
	}
}

// Fail records a failure of key and returns the lockout it now has (0 while
// it has tries left).
func (l *Limiter) Fail(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failLocked(key)
}

// failLocked is Fail with l.mu held.
func (l *Limiter) failLocked(key string) time.Duration {
	now := l.now()
	e := l.live(key)
	if e == nil {
		if len(l.keys) >= maxKeys {
			l.sweep(now)
		}
		e = &entry{}
		l.keys[key] = e
	}
	e.failures++
	e.lastFailure = now
	if over := e.failures - l.policy.Tries + 1; over > 0 {
		lock := l.policy.Base
		for i := 1; i < over && lock < l.policy.Max; i++ {
			lock *= 2
		}
		lock = min(lock, l.policy.Max)
		e.lockedUntil = now.Add(lock)
		return lock
	}
	return 0
}

// Reset forgets the failures of key, after a success.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, key)
}

// live returns key's entry, or nil if it has none or it is forgotten.
func (l *Limiter) live(key string) *entry {
	e, ok := l.keys[key]
	if !ok {
		return nil
	}
	if now := l.now(); now.Sub(e.lastFailure) >= l.policy.Forget && !now.Before(e.lockedUntil) {
		delete(l.keys, key)
		return nil
	}
	return e
}

// sweep drops the forgotten keys; if none is, it drops the one whose last
// failure is oldest, so that memory stays bounded under a flood of keys.
func (l *Limiter) sweep(now time.Time) {
	var oldest string
	for k, e := range l.keys {
		if now.Sub(e.lastFailure) >= l.policy.Forget && !now.Before(e.lockedUntil) {
			delete(l.keys, k)
			continue
		}
		if oldest == "" || e.lastFailure.Before(l.keys[oldest].lastFailure) {
			oldest = k
		}
	}
	if len(l.keys) >= maxKeys {
		delete(l.keys, oldest)
	}
}
