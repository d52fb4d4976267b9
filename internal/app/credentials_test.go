package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pbxportal/pbxportal/ent/recording"
	"github.com/pbxportal/pbxportal/ent/revokedtoken"
	"github.com/pbxportal/pbxportal/internal/demo"
)

// login logs a user in over GraphQL and returns its token; it fails the test
// unless the login succeeds.
func (p *portal) login(username, password string) string {
	p.t.Helper()
	tok, errs := p.tryLogin(username, password)
	if len(errs) > 0 {
		p.t.Fatalf("login %s: %+v", username, errs)
	}
	return tok
}

// tryLogin logs a user in over GraphQL.
func (p *portal) tryLogin(username, password string) (string, []gqlError) {
	p.t.Helper()
	r := p.do("", `mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { token } }`,
		map[string]any{"u": username, "p": password})
	var d struct{ Login struct{ Token string } }
	if len(r.Data) > 0 {
		_ = json.Unmarshal(r.Data, &d)
	}
	return d.Login.Token, r.Errors
}

// whoami asks who token's holder is: its user id, or the error codes.
func (p *portal) whoami(token string) (int, []string) {
	p.t.Helper()
	r := p.do(token, `{ viewer { id } }`, nil)
	var d struct{ Viewer *struct{ ID string } }
	if len(r.Data) > 0 {
		_ = json.Unmarshal(r.Data, &d)
	}
	if len(r.Errors) > 0 || d.Viewer == nil {
		return 0, codes(r.Errors)
	}
	id, _ := strconv.Atoi(d.Viewer.ID)
	return id, nil
}

// mustDo runs a query as token's holder and fails the test on any error.
func (p *portal) mustDo(token, query string, vars map[string]any) json.RawMessage {
	p.t.Helper()
	r := p.do(token, query, vars)
	if len(r.Errors) > 0 {
		p.t.Fatalf("%s: %+v", query, r.Errors)
	}
	return r.Data
}

// TestCredentialEventsEndTokens: each event that must end a user's tokens
// ends every token minted before it on the very next request, whichever
// mutation carried it; another user's token keeps working, and a fresh login
// works afterwards wherever login is still allowed. For NO_PORTAL and Voice
// Portal Access the access is given back first: the old token must stay
// dead even then, since being let back in is no reason to revive a session.
func TestCredentialEventsEndTokens(t *testing.T) {
	const (
		target    = "bob@acme.example"
		bystander = "bea@acme.example"
		manager   = "olivia@acme.example"
		support   = "support@provider.example"
	)
	type step struct {
		as, query string
	}
	tests := []struct {
		name    string
		event   step
		restore *step // gives login back, where the event took it away
		// password to log in with afterwards; "" when login is no longer allowed
		password string
		ends     bool
	}{
		{"resetPassword", step{manager, `mutation($u: ID!) { resetPassword(userId: $u, newPassword: "a-new-password") { id } }`}, nil, "a-new-password", true},
		{"own password reset", step{target, `mutation($u: ID!) { resetPassword(userId: $u, newPassword: "a-new-password") { id } }`}, nil, "a-new-password", true},
		{"changeEmail", step{manager, `mutation($u: ID!) { changeEmail(userId: $u, email: "bob@new.example") { id } }`}, nil, demo.Password, true},
		{"email through updateMyProfile", step{target, `mutation { updateMyProfile(input: {email: "bob@new.example"}) { id } }`}, nil, demo.Password, true},
		{"setUserScope NO_PORTAL", step{support, `mutation($u: ID!) { setUserScope(userId: $u, scope: NO_PORTAL) { id } }`},
			&step{support, `mutation($u: ID!) { setUserScope(userId: $u, scope: BASIC_USER) { id } }`}, demo.Password, true},
		{"voicePortalAccess off through updateUser", step{manager, `mutation($u: ID!) { updateUser(id: $u, input: {voicePortalAccess: false}) { id } }`},
			&step{manager, `mutation($u: ID!) { updateUser(id: $u, input: {voicePortalAccess: true}) { id } }`}, demo.Password, true},
		{"enableUserPortal off through updateSelfAdminAccess", step{manager, `mutation($u: ID!) { updateSelfAdminAccess(userId: $u, input: {enableUserPortal: false}) { id } }`},
			&step{manager, `mutation($u: ID!) { updateSelfAdminAccess(userId: $u, input: {enableUserPortal: true}) { id } }`}, demo.Password, true},
		{"deleteUser", step{manager, `mutation($u: ID!) { deleteUser(id: $u) }`}, nil, "", true},
		// Saving the profile form with the same email ends nothing.
		{"the same email again", step{target, `mutation { updateMyProfile(input: {email: "bob@acme.example"}) { id } }`}, nil, demo.Password, false},
		{"a change that is no credential", step{manager, `mutation($u: ID!) { updateUser(id: $u, input: {department: "Sales"}) { id } }`}, nil, demo.Password, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startPortal(t)
			bob, bea := ids{p}.user(target), ids{p}.user(bystander)
			old, other := p.login(target, demo.Password), p.login(bystander, demo.Password)
			if id, errs := p.whoami(old); id != bob {
				t.Fatalf("before the event the token does not work: %v", errs)
			}
			vars := map[string]any{"u": bob}
			p.mustDo(p.tokenFor(tt.event.as), tt.event.query, vars)
			if tt.restore != nil {
				p.mustDo(p.tokenFor(tt.restore.as), tt.restore.query, vars)
			}
			id, errs := p.whoami(old)
			switch {
			case tt.ends && !slices.Equal(errs, []string{"UNAUTHENTICATED"}):
				t.Errorf("the token minted before the event: viewer %d, errors %v; want UNAUTHENTICATED", id, errs)
			case !tt.ends && id != bob:
				t.Errorf("the token minted before a harmless change stopped working: %v", errs)
			}
			if id, errs := p.whoami(other); id != bea {
				t.Errorf("another user's token stopped working: %v", errs)
			}
			if tt.password == "" {
				if _, errs := p.tryLogin(target, demo.Password); !slices.Equal(codes(errs), []string{"UNAUTHENTICATED"}) {
					t.Errorf("login after the event: %v; want UNAUTHENTICATED", codes(errs))
				}
				return
			}
			if id, errs := p.whoami(p.login(target, tt.password)); id != bob {
				t.Errorf("a fresh login after the event does not work: %v", errs)
			}
		})
	}
}

// TestLogout: logout ends the token it is sent with, and only that one; an
// anonymous logout is UNAUTHENTICATED. The revoked token is remembered until
// its own expiry, and purged after it.
func TestLogout(t *testing.T) {
	p := startPortal(t)
	const logout = `mutation { logout }`
	bob := ids{p}.user("bob@acme.example")
	first, second := p.login("bob@acme.example", demo.Password), p.login("bob@acme.example", demo.Password)

	if r := p.do("", logout, nil); !slices.Equal(codes(r.Errors), []string{"UNAUTHENTICATED"}) {
		t.Errorf("anonymous logout: %s %v; want UNAUTHENTICATED", r.Data, codes(r.Errors))
	}
	// A revoked token that has expired already: the next logout purges it.
	ctx := context.Background()
	stale := p.app.Client.RevokedToken.Create().SetTokenID("stale").SetUserID(bob).
		SetExpiresAt(time.Now().Add(-time.Minute)).SaveX(ctx)

	if data := p.mustDo(first, logout, nil); string(data) != `{"logout":true}` {
		t.Errorf("logout = %s", data)
	}
	if id, errs := p.whoami(first); !slices.Equal(errs, []string{"UNAUTHENTICATED"}) {
		t.Errorf("the logged-out token still works: viewer %d, errors %v", id, errs)
	}
	if r := p.do(first, logout, nil); !slices.Equal(codes(r.Errors), []string{"UNAUTHENTICATED"}) {
		t.Errorf("a second logout with the same token: %v; want UNAUTHENTICATED", codes(r.Errors))
	}
	if id, errs := p.whoami(second); id != bob {
		t.Errorf("bob's other session was ended too: %v", errs)
	}
	rows := p.app.Client.RevokedToken.Query().AllX(ctx)
	if len(rows) != 1 || rows[0].ID == stale.ID || rows[0].UserID != bob || !rows[0].ExpiresAt.After(time.Now().Add(11*time.Hour)) {
		t.Errorf("revoked tokens = %+v; want only the logged-out token, kept until its expiry", rows)
	}
	if strings.Contains(rows[0].TokenID, ".") || strings.Contains(first, rows[0].TokenID+".") {
		t.Error("the revoked-token table holds the token itself, not its id")
	}
	if n := p.app.Client.RevokedToken.Query().Where(revokedtoken.TokenID("stale")).CountX(ctx); n != 0 {
		t.Error("an expired revoked token was not purged")
	}
	if id, errs := p.whoami(p.login("bob@acme.example", demo.Password)); id != bob {
		t.Errorf("login after logout: %v", errs)
	}
}

// mediaURLs reads a recording's replayUrl and downloadUrl as token's holder.
func (p *portal) mediaURLs(token, callID string) (replay, download string) {
	p.t.Helper()
	r := p.do(token, `query($c: String!) { recordings(where: {callID: $c}) { edges { node { replayUrl downloadUrl } } } }`,
		map[string]any{"c": callID})
	var d struct {
		Recordings struct {
			Edges []struct {
				Node struct{ ReplayURL, DownloadURL *string }
			}
		}
	}
	if err := json.Unmarshal(r.Data, &d); err != nil || len(d.Recordings.Edges) != 1 {
		p.t.Fatalf("recording %s: %s %+v", callID, r.Data, r.Errors)
	}
	n := d.Recordings.Edges[0].Node
	if n.ReplayURL != nil {
		replay = *n.ReplayURL
	}
	if n.DownloadURL != nil {
		download = *n.DownloadURL
	}
	return replay, download
}

// status fetches a media URL without any Authorization header, as <audio
// src> does.
func (p *portal) status(path string) int {
	p.t.Helper()
	code, _ := p.get(path)
	return code
}

// TestMediaURLsFollowRights: a signed recording URL plays only while the
// user it was issued to holds the right, checked in SpiceDB at each fetch.
func TestMediaURLsFollowRights(t *testing.T) {
	p := startPortal(t)
	id := ids{p}
	bob, ava := id.user("bob@acme.example"), id.user("ava@acme.example")
	olivia := p.tokenFor("olivia@acme.example")
	bobTok := p.login("bob@acme.example", demo.Password)
	bobReplay, _ := p.mediaURLs(bobTok, "acme-0001")                                     // his own recording: replayOwn
	avaReplay, _ := p.mediaURLs(p.login("ava@acme.example", demo.Password), "acme-0001") // replayAll
	if bobReplay == "" || avaReplay == "" {
		t.Fatalf("no replay URLs: bob %q, ava %q", bobReplay, avaReplay)
	}
	if code := p.status(bobReplay); code != http.StatusOK {
		t.Fatalf("bob's URL before any change = %d", code)
	}
	// bob's URL, rewritten to name ava, who may replay it: the signature
	// covers the user, so ava's rights do not leak into bob's URL.
	asAva := strings.Replace(bobReplay, "uid="+strconv.Itoa(bob), "uid="+strconv.Itoa(ava), 1)
	if asAva == bobReplay || p.status(asAva) != http.StatusForbidden {
		t.Errorf("bob's URL renamed to ava plays")
	}
	// olivia turns bob's replayOwn off: his URL stops at once, ava's keeps playing.
	p.mustDo(olivia, `mutation($u: ID!) { updateMediaManagerRights(userId: $u, input: {mediaManagerReplay: true, replayAll: false, replayOwn: false, replayGroupIDs: [], replayOthers: "", downloadRecordings: false}) { id } }`,
		map[string]any{"u": bob})
	if code := p.status(bobReplay); code != http.StatusForbidden {
		t.Errorf("bob's URL after his replay right was revoked = %d, want 403", code)
	}
	if code := p.status(avaReplay); code != http.StatusOK {
		t.Errorf("ava's URL of the same recording = %d, want 200", code)
	}
	// Given back, the same URL plays again: it follows the current right.
	p.mustDo(olivia, `mutation($u: ID!) { updateMediaManagerRights(userId: $u, input: {mediaManagerReplay: true, replayAll: false, replayOwn: true, replayGroupIDs: [], replayOthers: "", downloadRecordings: false}) { id } }`,
		map[string]any{"u": bob})
	if code := p.status(bobReplay); code != http.StatusOK {
		t.Errorf("bob's URL with the right given back = %d, want 200", code)
	}

	// Download URLs follow the download permission.
	alice := id.user("alice@acme.example")
	_, aliceDownload := p.mediaURLs(p.login("alice@acme.example", demo.Password), "acme-0004")
	if code := p.status(aliceDownload); code != http.StatusOK {
		t.Fatalf("alice's download URL = %d", code)
	}
	p.mustDo(olivia, `mutation($u: ID!) { updateMediaManagerRights(userId: $u, input: {mediaManagerReplay: true, replayAll: false, replayOwn: true, replayGroupIDs: [], replayOthers: "", downloadRecordings: false}) { id } }`,
		map[string]any{"u": alice})
	if code := p.status(aliceDownload); code != http.StatusForbidden {
		t.Errorf("alice's download URL after downloadRecordings was turned off = %d, want 403", code)
	}

	// Logout ends the URLs of that session only; a password reset ends all.
	bobOther := p.login("bob@acme.example", demo.Password)
	otherReplay, _ := p.mediaURLs(bobOther, "acme-0001")
	p.mustDo(bobTok, `mutation { logout }`, nil)
	if code := p.status(bobReplay); code != http.StatusForbidden {
		t.Errorf("bob's URL after that session's logout = %d, want 403", code)
	}
	if code := p.status(otherReplay); code != http.StatusOK {
		t.Errorf("bob's URL of another session after logout = %d, want 200", code)
	}
	p.mustDo(olivia, `mutation($u: ID!) { resetPassword(userId: $u, newPassword: "a-new-password") { id } }`, map[string]any{"u": bob})
	if code := p.status(otherReplay); code != http.StatusForbidden {
		t.Errorf("bob's URL after a password reset = %d, want 403", code)
	}

	// A URL whose user was deleted stops at once.
	cora := id.user("cora@acme.example")
	coraReplay, _ := p.mediaURLs(p.login("cora@acme.example", demo.Password), "acme-0004")
	if code := p.status(coraReplay); code != http.StatusOK {
		t.Fatalf("cora's URL = %d", code)
	}
	p.mustDo(olivia, `mutation($u: ID!) { deleteUser(id: $u) }`, map[string]any{"u": cora})
	if code := p.status(coraReplay); code != http.StatusForbidden {
		t.Errorf("the URL of a deleted user = %d, want 403", code)
	}

	// Tampering with any signed part still fails.
	u, _ := url.Parse(avaReplay)
	for _, param := range []string{"uid", "sid", "exp", "action", "sig"} {
		q := u.Query()
		q.Set(param, q.Get(param)+"1")
		if code := p.status(u.Path + "?" + q.Encode()); code != http.StatusForbidden {
			t.Errorf("ava's URL with %s changed = %d, want 403", param, code)
		}
	}
	rec := p.app.Client.Recording.Query().Where(recording.CallID("acme-0002")).OnlyIDX(context.Background())
	if code := p.status(strings.Replace(avaReplay, lastSegment(u.Path), strconv.Itoa(rec), 1)); code != http.StatusForbidden {
		t.Errorf("ava's URL moved to another recording = %d, want 403", code)
	}

	// SpiceDB gone: fail closed, never serve.
	if err := p.app.StopSpiceDB(); err != nil {
		t.Fatal(err)
	}
	if code := p.status(avaReplay); code == http.StatusOK {
		t.Errorf("a URL played while SpiceDB was down")
	}
}

// lastSegment is the last element of a media path: the recording id.
func lastSegment(path string) string { return path[strings.LastIndex(path, "/")+1:] }
