package app_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pbxportal/pbxportal/ent/contact"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/app"
	"github.com/pbxportal/pbxportal/internal/demo"
	"github.com/pbxportal/pbxportal/internal/ratelimit"
)

// fakeClock is a settable clock: the login limits are passed without sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// startPortalClocked is startPortal with the login limits on clock c and
// the server's logs in logs.
func startPortalClocked(t *testing.T, c *fakeClock, logs *lockedBuffer) *portal {
	t.Helper()
	return openPortal(t, app.Config{
		DataDir: t.TempDir(), Demo: true, Now: c.now,
		Log: slog.New(slog.NewTextHandler(logs, nil)),
	})
}

// TestLoginBruteForceIsLimited: 200 wrong passwords lock the username out
// after a few; the right password is then refused with RATE_LIMITED until
// the lockout ends. An unknown username gets exactly the same answers, so
// the limit reveals nothing about which accounts exist. Failed and refused
// logins are logged with the username and the client address, never the
// password.
func TestLoginBruteForceIsLimited(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	logs := &lockedBuffer{}
	p := startPortalClocked(t, clock, logs)
	const wrong = "wrong-password-Zq7"
	type outcome struct {
		codes       []string
		retryAfter  []float64
		lockedRight string // the code of the right password while locked out
	}
	outcomes := map[string]outcome{}
	tests := []struct {
		name, username string
		wantAfter      string // the code of the right password once the lockout is over
	}{
		{"existing user", "bob@acme.example", ""},
		{"unknown username", "nobody@acme.example", "UNAUTHENTICATED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.add(2 * time.Hour) // every earlier failure is forgotten
			var o outcome
			for i := range 200 {
				_, errs := p.tryLogin(tt.username, wrong)
				if len(errs) != 1 {
					t.Fatalf("attempt %d: errors %+v, want one", i+1, errs)
				}
				o.codes = append(o.codes, errs[0].code())
				ra, _ := errs[0].Extensions["retryAfter"].(float64)
				o.retryAfter = append(o.retryAfter, ra)
			}
			free := ratelimit.UserPolicy().Tries
			for i, c := range o.codes {
				want := "RATE_LIMITED"
				if i < free {
					want = "UNAUTHENTICATED"
				}
				if c != want || (want == "RATE_LIMITED") != (o.retryAfter[i] > 0) {
					t.Fatalf("attempt %d: %s retryAfter %v, want %s (with retryAfter when limited)", i+1, c, o.retryAfter[i], want)
				}
			}
			_, errs := p.tryLogin(tt.username, demo.Password)
			if len(errs) != 1 || errs[0].code() != "RATE_LIMITED" {
				t.Fatalf("the right password during the lockout: %v, want RATE_LIMITED", codes(errs))
			}
			o.lockedRight = errs[0].code()
			wait, _ := errs[0].Extensions["retryAfter"].(float64)
			clock.add(time.Duration(wait-1) * time.Second)
			if _, errs := p.tryLogin(tt.username, demo.Password); len(errs) != 1 || errs[0].code() != "RATE_LIMITED" {
				t.Fatalf("a second before retryAfter: %v, want RATE_LIMITED", codes(errs))
			}
			clock.add(time.Second)
			tok, errs := p.tryLogin(tt.username, demo.Password)
			if got := strings.Join(codes(errs), ","); got != tt.wantAfter || (tt.wantAfter == "") != (tok != "") {
				t.Fatalf("the right password after retryAfter: %q (token %v), want %q", got, tok != "", tt.wantAfter)
			}
			outcomes[tt.name] = o
		})
	}
	known, unknown := outcomes["existing user"], outcomes["unknown username"]
	if fmt.Sprint(known) != fmt.Sprint(unknown) {
		t.Errorf("an unknown username is answered unlike an existing one:\n%v\n%v", known, unknown)
	}
	out := logs.String()
	// A name that may not be a username (people type passwords there) is
	// logged as a digest: unknown ones, and every refused one.
	digest := func(name string) string {
		sum := sha256.Sum256([]byte(name))
		return "sha256:" + hex.EncodeToString(sum[:6])
	}
	for _, want := range []string{`msg="login failed" username=bob@acme.example client=127.0.0.1 reason="wrong password"`,
		`msg="login failed" username=` + digest("nobody@acme.example") + ` client=127.0.0.1 reason="unknown username"`,
		`msg="login refused: rate limited" username=` + digest("bob@acme.example") + ` client=127.0.0.1`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q", want)
		}
	}
	if strings.Contains(out, "nobody@acme.example") {
		t.Error("an unknown username is in the log")
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, `msg="login failed"`) && !strings.Contains(line, "request_id=") {
			t.Fatalf("a failed login's line has no request id: %s", line)
		}
	}
	if strings.Contains(out, wrong) || strings.Contains(out, demo.Password) {
		t.Error("a password is in the log")
	}
}

// TestFarFutureTokenIsRefused: a token correctly signed with the server's
// key but claiming to live far longer than the configured token lifetime
// (an expiry in 2286) authenticates nobody.
func TestFarFutureTokenIsRefused(t *testing.T) {
	p := startPortal(t)
	key, err := os.ReadFile(filepath.Join(p.dir, "signing.key"))
	if err != nil {
		t.Fatal(err)
	}
	bob, err := p.app.Client.User.Query().Where(user.Username("bob@acme.example")).Only(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	tests := []struct {
		name, claims string
		want         bool // whether it authenticates bob
	}{
		{"within the lifetime", fmt.Sprintf(`{"sub":%d,"stp":%d,"jti":"a","iat":%d,"exp":%d}`, bob.ID, bob.CredentialStamp, now, now+3600), true},
		{"expiry in 2286", fmt.Sprintf(`{"sub":%d,"stp":%d,"jti":"b","iat":%d,"exp":9999999999}`, bob.ID, bob.CredentialStamp, now), false},
		{"issued in 2286", fmt.Sprintf(`{"sub":%d,"stp":%d,"jti":"c","iat":9999990000,"exp":9999999999}`, bob.ID, bob.CredentialStamp), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := base64.RawURLEncoding.EncodeToString([]byte(tt.claims))
			m := hmac.New(sha256.New, key)
			m.Write([]byte(payload))
			token := payload + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
			id, errs := p.whoami(token)
			if tt.want != (id == bob.ID) || !tt.want && strings.Join(errs, ",") != "UNAUTHENTICATED" {
				t.Fatalf("whoami = %d %v; want bob: %v, else UNAUTHENTICATED", id, errs, tt.want)
			}
		})
	}
}

// TestLoginHoldsNoWriteLock: login checks the password outside any
// transaction, so it answers while another writer holds the database's
// write lock (before, it queued behind it for the busy timeout).
func TestLoginHoldsNoWriteLock(t *testing.T) {
	p := startPortal(t)
	ctx := context.Background()
	tx, err := p.app.Client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.Contact.Delete().Where(contact.ID(-1)).Exec(ctx); err != nil { // takes the write lock
		t.Fatal(err)
	}
	done := make(chan []gqlError, 1)
	go func() { _, errs := p.tryLogin("bob@acme.example", demo.Password); done <- errs }()
	select {
	case errs := <-done:
		if len(errs) > 0 {
			t.Fatalf("login: %v", codes(errs))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("login waits for another transaction's write lock")
	}
}
