package authz

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// A page's lookups run concurrently, and the database answers a container
// permission after its own lookups (site#reach after domain#manage), which
// the page often makes too. A lookup at a request revision that another
// caller is answering already waits for that answer rather than compute
// it again: the answer is the same, since both read at the same revision
// (it is remembered under it as soon as it is known).

// flightKey is one lookup at one revision; spiceDB marks an AskSpiceDB one,
// which is never answered by a lookup the database answered.
type flightKey struct {
	token   string
	lookup  lookupKey
	spiceDB bool
}

// flight is a lookup being answered; done is closed once ids and err are
// set.
type flight struct {
	done    chan struct{}
	ids     []string
	err     error
	waiters int // callers waiting for it
}

// flights are the lookups being answered.
type flights struct {
	mu sync.Mutex
	m  map[flightKey]*flight
}

// share returns the answer of the lookup k: fn's, or that of the caller
// answering k already. When that caller's request ends first (its context's
// error), fn answers for this one.
func (f *flights) share(ctx context.Context, k flightKey, fn func() ([]string, error)) ([]string, error) {
	f.mu.Lock()
	if fl, ok := f.m[k]; ok {
		fl.waiters++
		f.mu.Unlock()
		select {
		case <-fl.done:
			if isContextError(fl.err) && ctx.Err() == nil {
				return fn()
			}
			return fl.ids, fl.err
		case <-ctx.Done():
			return nil, fmt.Errorf("authz: lookup: %w", errors.Join(ErrUnavailable, ctx.Err()))
		}
	}
	if f.m == nil {
		f.m = map[flightKey]*flight{}
	}
	// Until fn returns, the answer is an error: a panic in fn leaves one,
	// never an empty answer, to the callers waiting.
	fl := &flight{done: make(chan struct{}), err: errors.Join(ErrUnavailable, errors.New("authz: the lookup did not finish"))}
	f.m[k] = fl
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.m, k)
		f.mu.Unlock()
		close(fl.done)
	}()
	fl.ids, fl.err = fn()
	return fl.ids, fl.err
}

func isContextError(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
