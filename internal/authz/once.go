package authz

import (
	"context"
	"errors"
	"sync"
)

// errReadFailed is what RequestOnce's waiters get when the read they wait
// for panicked.
var errReadFailed = errors.New("authz: a shared read of the request failed")

// onceAnswers are a request's answers by RequestOnce's key.
type onceAnswers struct {
	mu      sync.Mutex
	answers map[any]*onceAnswer
}

type onceAnswer struct {
	done  chan struct{}
	value any
	err   error
}

// RequestOnce returns what read returns, read once per request (WithRevision)
// and key: the first caller of the request reads, and every other caller
// with the same key waits for its answer, even one that failed. A read made
// in a request comes after its revision was settled, so it is at least as
// fresh as every SpiceDB read of the request. Without a request, it reads.
// key must be comparable, and keys of different types never meet.
func RequestOnce[T any](ctx context.Context, key any, read func() (T, error)) (T, error) {
	rev, _ := ctx.Value(revisionKey{}).(readRevision)
	if rev.once == nil {
		return read()
	}
	o := rev.once
	o.mu.Lock()
	a, ok := o.answers[key]
	if !ok {
		if o.answers == nil {
			o.answers = map[any]*onceAnswer{}
		}
		a = &onceAnswer{done: make(chan struct{})}
		o.answers[key] = a
	}
	o.mu.Unlock()
	if ok {
		select {
		case <-a.done:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	} else {
		func() {
			defer close(a.done)
			a.err = errReadFailed // unless read returns
			a.value, a.err = read()
		}()
	}
	v, _ := a.value.(T) // nil (a T that is an interface) stays the zero T
	return v, a.err
}
