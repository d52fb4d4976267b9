package ratelimit

import (
	"crypto/sha256"
	"strings"
	"time"
)

// UserPolicy limits the failed logins of one username: 5 tries, then a
// lockout of a second that doubles with each failure up to a quarter of an
// hour.
func UserPolicy() Policy {
	return Policy{Tries: 5, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour}
}

// AddrPolicy limits the failed logins from one client address, which many
// users may share: 20 tries, then the same lockouts.
func AddrPolicy() Policy {
	return Policy{Tries: 20, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour}
}

// Logins limits failed logins per username and per client address. A
// username that does not exist is limited exactly like one that does, so
// that the limit says nothing about which accounts exist.
type Logins struct {
	byUser, byAddr *Limiter
}

// NewLogins returns the login limits of the default policies, reading the
// time from now (time.Now when nil).
func NewLogins(now func() time.Time) *Logins {
	return &Logins{byUser: New(UserPolicy(), now), byAddr: New(AddrPolicy(), now)}
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

// Begin starts a login of username from addr. It counts the attempt as a
// failure before the password is checked, so that logins sent in parallel
// cannot all pass the limit. It returns how long the login must wait (and
// then counts nothing), or 0 and done, which the caller calls with the
// outcome: a success takes the count back; a failure keeps it, and done
// returns the lockout it gave.
func (l *Logins) Begin(username, addr string) (wait time.Duration, done func(ok bool) time.Duration) {
	user := userKey(username)
	if w, _ := l.byUser.Try(user); w > 0 {
		return w, nil
	}
	w, addrLock := l.byAddr.Try(addr)
	if w > 0 {
		l.byUser.Refund(user)
		return w, nil
	}
	return 0, func(ok bool) time.Duration {
		if ok {
			l.byUser.Reset(user)
			l.byAddr.Refund(addr)
			return 0
		}
		return max(l.byUser.Wait(user), addrLock)
	}
}

// Succeeded forgets the failures of username. The address keeps its count:
// logging in to one's own account must not reset a guess at others'.
func (l *Logins) Succeeded(username string) {
	l.byUser.Reset(userKey(username))
}

// userKey is the limiter's key of a username: a digest of its normalised
// form, so that a flood of long made-up usernames costs little memory.
func userKey(username string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(username))))
	return string(sum[:16])
}
