package ratelimit_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pbxportal/pbxportal/internal/ratelimit"
)

// clock is a settable time for the tests: no test sleeps.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func TestLimiterLockoutGrowsAndEnds(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	p := ratelimit.Policy{Tries: 3, Base: time.Second, Max: 8 * time.Second, Forget: time.Minute}
	l := ratelimit.New(p, c.now)
	tests := []struct {
		name string
		want time.Duration // the lockout after this failure
	}{
		{"try 1", 0}, {"try 2", 0},
		{"first lockout", time.Second},
		{"doubles", 2 * time.Second},
		{"doubles again", 4 * time.Second},
		{"capped", 8 * time.Second},
		{"stays capped", 8 * time.Second},
	}
	for _, tt := range tests {
		if w := l.Wait("k"); w != 0 {
			t.Fatalf("%s: still locked for %v before the failure", tt.name, w)
		}
		if got := l.Fail("k"); got != tt.want {
			t.Fatalf("%s: lockout %v, want %v", tt.name, got, tt.want)
		}
		if got := l.Wait("k"); got != tt.want {
			t.Fatalf("%s: Wait %v, want %v", tt.name, got, tt.want)
		}
		if got := l.Wait("other"); got != 0 {
			t.Fatalf("%s: another key is locked for %v", tt.name, got)
		}
		c.add(tt.want)
	}
	c.add(time.Minute)
	if got := l.Fail("k"); got != 0 {
		t.Fatalf("a key forgotten after Forget is still counted: lockout %v", got)
	}
	l.Reset("k")
	for range p.Tries - 1 {
		l.Fail("k")
	}
	if got := l.Wait("k"); got != 0 {
		t.Fatalf("Reset did not forget the failures: Wait %v", got)
	}
}

func TestLoginsLimitUserAndAddress(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	l := ratelimit.NewLogins(c.now)
	for range ratelimit.UserPolicy().Tries {
		l.Failed("bob@acme.example", "10.0.0.1")
	}
	if l.Wait("bob@acme.example", "10.0.0.2") == 0 {
		t.Error("the username is not limited from another address")
	}
	if l.Wait(" BOB@acme.example", "10.0.0.2") == 0 {
		t.Error("the username is not limited in another case")
	}
	if l.Wait("alice@acme.example", "10.0.0.1") != 0 {
		t.Error("the address is limited after fewer failures than its policy allows")
	}
	for i := range ratelimit.AddrPolicy().Tries {
		l.Failed(fmt.Sprintf("user%d@acme.example", i), "10.0.0.3")
	}
	if l.Wait("alice@acme.example", "10.0.0.3") == 0 {
		t.Error("an address spraying usernames is not limited")
	}
	l.Succeeded("bob@acme.example")
	if l.Wait("bob@acme.example", "10.0.0.2") != 0 {
		t.Error("a success did not forget the username's failures")
	}
	if l.Wait("alice@acme.example", "10.0.0.3") == 0 {
		t.Error("a success reset the address's failures")
	}
}

// TestLimiterConcurrent is for -race: failures from many goroutines are all counted.
func TestLimiterConcurrent(t *testing.T) {
	l := ratelimit.New(ratelimit.Policy{Tries: 1001, Base: time.Second, Max: time.Minute, Forget: time.Hour}, nil)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				l.Fail("k")
				l.Wait("k")
			}
		}()
	}
	wg.Wait()
	if l.Fail("k") == 0 {
		t.Fatal("1001 failures did not lock the key: some were lost")
	}
}

// TestBeginCountsBeforeTheCheck: logins of one username begun at the same
// time, before any of them ends, cannot all pass: only the policy's tries
// do. A success takes its count back.
func TestBeginCountsBeforeTheCheck(t *testing.T) {
	l := ratelimit.NewLogins(nil)
	tries := ratelimit.UserPolicy().Tries
	var passed int
	var dones []func(bool) time.Duration
	for i := range 50 {
		wait, done := l.Begin("bob@acme.example", fmt.Sprintf("10.0.1.%d", i))
		if wait == 0 {
			passed++
			dones = append(dones, done)
		}
	}
	if passed != tries {
		t.Fatalf("%d concurrent logins passed, want %d", passed, tries)
	}
	for _, done := range dones {
		done(false)
	}
	if wait, _ := l.Begin("bob@acme.example", "10.0.2.1"); wait == 0 {
		t.Fatal("not locked out after the failures")
	}

	wait, done := l.Begin("alice@acme.example", "10.0.3.1")
	if wait != 0 {
		t.Fatal("a first login waits")
	}
	done(true)
	for range tries - 1 {
		if wait, done := l.Begin("alice@acme.example", "10.0.3.1"); wait != 0 {
			t.Fatal("a success was counted as a failure")
		} else {
			done(false)
		}
	}
}
