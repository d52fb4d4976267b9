package authz

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// TestFlightsShareOneAnswer: callers of one lookup at one revision while it
// is answered share one answer; another revision, or a lookup asked of
// SpiceDB itself, is answered on its own; a leader whose request ended
// leaves the others to answer for themselves; a leader that panics leaves
// them an error, never an empty answer.
func TestFlightsShareOneAnswer(t *testing.T) {
	key := lookupKey{subject: Object{Type: "user", ID: "1"}, resourceType: "site", perm: "reach"}
	tests := []struct {
		name string
		// follower is the key the second caller asks, and its context.
		follower      flightKey
		leaderErr     error
		leaderPanics  bool
		wantCalls     int32
		wantFollowIDs []string
		wantFollowErr bool
	}{
		{name: "same lookup, same revision", follower: flightKey{token: "r1", lookup: key},
			wantCalls: 1, wantFollowIDs: []string{"7"}},
		{name: "another revision", follower: flightKey{token: "r2", lookup: key},
			wantCalls: 2, wantFollowIDs: []string{"7"}},
		{name: "asked of SpiceDB", follower: flightKey{token: "r1", lookup: key, spiceDB: true},
			wantCalls: 2, wantFollowIDs: []string{"7"}},
		{name: "the leader's request ended", follower: flightKey{token: "r1", lookup: key},
			leaderErr: context.Canceled, wantCalls: 2, wantFollowIDs: []string{"7"}},
		{name: "the leader failed", follower: flightKey{token: "r1", lookup: key},
			leaderErr: ErrUnavailable, wantCalls: 1, wantFollowErr: true},
		{name: "the leader panicked", follower: flightKey{token: "r1", lookup: key},
			leaderPanics: true, wantCalls: 1, wantFollowErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f flights
			var calls atomic.Int32
			started, release := make(chan struct{}), make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				defer func() { _ = recover() }()
				_, _ = f.share(context.Background(), flightKey{token: "r1", lookup: key}, func() ([]string, error) {
					calls.Add(1)
					close(started)
					<-release
					if tt.leaderPanics {
						panic("lookup")
					}
					if tt.leaderErr != nil {
						return nil, tt.leaderErr
					}
					return []string{"7"}, nil
				})
			})
			<-started
			var ids []string
			var err error
			wg.Go(func() {
				ids, err = f.share(context.Background(), tt.follower, func() ([]string, error) {
					calls.Add(1)
					return []string{"7"}, nil
				})
			})
			// The follower either waits on the leader or has answered on
			// its own; either way the leader now finishes.
			for !f.waiting(tt.follower) && calls.Load() < 2 {
				runtime.Gosched()
			}
			close(release)
			wg.Wait()
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("answered %d times, want %d", got, tt.wantCalls)
			}
			if (err != nil) != tt.wantFollowErr || !slices.Equal(ids, tt.wantFollowIDs) {
				t.Errorf("the second caller got %v, %v; want %v (error: %v)", ids, err, tt.wantFollowIDs, tt.wantFollowErr)
			}
			if tt.wantFollowErr && !errors.Is(err, ErrUnavailable) {
				t.Errorf("the second caller's error %v is not ErrUnavailable", err)
			}
		})
	}
}

// waiting reports whether a caller waits for the lookup k being answered.
func (f *flights) waiting(k flightKey) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl, ok := f.m[k]
	return ok && fl.waiters > 0
}
