package ratelimit

import (
	"strings"
	"time"
)

// The default policies of failed logins. A username gets a few tries, an
// address (which many users may share) more; past them the lockout starts
// at a second and doubles up to a quarter of an hour per failure.
var (
	// UserPolicy limits the failed logins of one username.
	UserPolicy = Policy{Tries: 5, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour}
	// AddrPolicy limits the failed logins from one client address.
	AddrPolicy = Policy{Tries: 20, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour}
)

// Logins limits failed logins per username and per client address. A
// username that does not exist is limited exactly like one that does, so
// that the limit says nothing about which accounts exist.
type Logins struct {
	byUser, byAddr *Limiter
}

// NewLogins returns the login limits of the default policies, reading the
// time from now (time.Now when nil).
func NewLogins(now func() time.Time) *Logins {
	return &Logins{byUser: New(UserPolicy, now), byAddr: New(AddrPolicy, now)}
}

// Wait returns how long a login of username from addr must wait: 0 if it
// may be tried now.
func (l *Logins) Wait(username, addr string) time.Duration {
	return max(l.byUser.Wait(userKey(username)), l.byAddr.Wait(addr))
}

// Failed records a failed login and returns the lockout it now has.
func (l *Logins) Failed(username, addr string) time.Duration {
	return max(l.byUser.Fail(userKey(username)), l.byAddr.Fail(addr))
}

// Succeeded forgets the failures of username. The address keeps its count:
// logging in to one's own account must not reset a guess at others'.
func (l *Logins) Succeeded(username string) {
	l.byUser.Reset(userKey(username))
}

func userKey(username string) string { return strings.ToLower(strings.TrimSpace(username)) }
