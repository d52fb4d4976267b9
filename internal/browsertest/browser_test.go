package browsertest_test

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/pbxportal/pbxportal/ent/callqueue"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/app"
	"github.com/pbxportal/pbxportal/internal/demo"
)

//go:embed testdata/spa
var spaFiles embed.FS

// browser is a headless Chromium tab that may reach loopback only.
type browser struct {
	ctx context.Context
	t   *testing.T

	mu       sync.Mutex
	requests []string // every URL the page requested
	logs     []string // what the browser logged (network errors among them)
}

// newBrowser starts Chromium, or skips the test if it is not installed
// (fails instead when PBXPORTAL_TEST_CHROMIUM=required).
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("PBXPORTAL_TEST_CHROMIUM") == "required" {
			t.Fatal("chromium is not installed, and PBXPORTAL_TEST_CHROMIUM=required")
		}
		t.Skip("chromium is not installed: browser tests skipped (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		// Nothing but loopback resolves, and whatever else is asked goes to
		// a proxy that is not there (loopback bypasses proxies).
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.ProxyServer("http://127.0.0.1:9"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	b := &browser{ctx: ctx, t: t}
	t.Cleanup(func() {
		b.screenshot()
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			b.mu.Lock()
			b.requests = append(b.requests, e.Request.URL)
			b.mu.Unlock()
		case *cdplog.EventEntryAdded:
			b.mu.Lock()
			b.logs = append(b.logs, e.Entry.Text)
			b.mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Record every Content-Security-Policy violation, from before the
	// page's first script runs.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) { window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); });`}); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return b
}

// run runs actions, failing the test on error.
func (b *browser) run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 2000) : ''`))
		b.t.Fatalf("browser: %v\npage text: %s", err, body)
	}
}

// value runs an action that returns a value, failing the test on error.
func value[T any](b *browser, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return v
}

// waitFor waits until the JavaScript expression is truthy.
func waitFor(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(45*time.Second))
}

// offLoopback lists the requests the page made to anything but loopback.
func (b *browser) offLoopback() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, r := range b.requests {
		u, err := url.Parse(r)
		if err != nil || (u.Scheme != "data" && u.Scheme != "blob" && u.Hostname() != "127.0.0.1") {
			out = append(out, r)
		}
	}
	return out
}

// logged lists what the browser logged.
func (b *browser) logged() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.logs...)
}

// hasLogged reports whether the browser logs, within wait, a line
// containing text: the log comes apart from the page's own events.
func (b *browser) hasLogged(text string, wait time.Duration) bool {
	for deadline := time.Now().Add(wait); ; time.Sleep(20 * time.Millisecond) {
		if slices.ContainsFunc(b.logged(), func(l string) bool { return strings.Contains(l, text) }) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// screenshot keeps the page as PBXPORTAL_TEST_ARTIFACTS/<test>.png.
func (b *browser) screenshot() {
	dir := os.Getenv("PBXPORTAL_TEST_ARTIFACTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot: %v", err)
		return
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(b.t.Name()) + ".png"
	if err := os.MkdirAll(dir, 0o755); err == nil {
		_ = os.WriteFile(filepath.Join(dir, name), png, 0o644)
	}
}

// portal is pbxportal on the demo dataset, served on a loopback port.
type portal struct {
	*httptest.Server
	app *app.App
}

// startPortal runs pbxportal on the demo dataset, allowing corsOrigins.
func startPortal(t *testing.T, corsOrigins ...string) *portal {
	t.Helper()
	a, err := app.Open(context.Background(), app.Config{
		DataDir:     t.TempDir(),
		Demo:        true,
		CORSOrigins: corsOrigins,
		Log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.Close()
		a.Close()
	})
	return &portal{Server: srv, app: a}
}

// gqlError is one error of a GraphQL response.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// post sends a GraphQL request to p's API with token (if not empty).
func (p *portal) post(t *testing.T, token, query string, vars map[string]any) (json.RawMessage, []gqlError) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, p.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r struct {
		Data   json.RawMessage `json:"data"`
		Errors []gqlError      `json:"errors"`
	}
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r.Data, r.Errors
}

// login logs in as the demo persona username and returns the token.
func (p *portal) login(t *testing.T, username string) string {
	t.Helper()
	data, _ := p.post(t, "", `mutation($input: LoginInput!) { login(input: $input) { token } }`,
		map[string]any{"input": map[string]any{"username": username, "password": demo.Password}})
	var login struct{ Login struct{ Token string } }
	if err := json.Unmarshal(data, &login); err != nil || login.Login.Token == "" {
		t.Fatalf("login as %s: %s", username, data)
	}
	return login.Login.Token
}

// mutate runs a mutation, failing the test on any error.
func (p *portal) mutate(t *testing.T, token, mutation string, vars map[string]any) {
	t.Helper()
	if data, errs := p.post(t, token, mutation, vars); len(errs) > 0 {
		t.Fatalf("%s: %+v (%s)", mutation, errs, data)
	}
}

// queueID is the id of the demo queue named name.
func (p *portal) queueID(t *testing.T, name string) int {
	t.Helper()
	id, err := p.app.Client.CallQueue.Query().Where(callqueue.Name(name)).OnlyID(context.Background())
	if err != nil {
		t.Fatalf("queue %s: %v", name, err)
	}
	return id
}

// waitWatchers waits until n subscriptions watch queueID: graphql-transport-ws
// does not acknowledge a subscribe message.
func (p *portal) waitWatchers(t *testing.T, queueID, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for p.app.Events.Watchers(queueID) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscriptions watch queue %d, want %d", p.app.Events.Watchers(queueID), queueID, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startSPA serves testdata/spa on a new loopback port: a new origin.
func startSPA(t *testing.T) *httptest.Server {
	t.Helper()
	sub, err := fs.Sub(spaFiles, "testdata/spa")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServerFS(sub))
	t.Cleanup(srv.Close)
	return srv
}

// resultJS is the text of GraphiQL's result pane.
const resultJS = `(document.querySelector('.graphiql-response .CodeMirror') || { CodeMirror: { getValue: function () { return ''; } } }).CodeMirror.getValue()`

// TestGraphiQLRunsAPersonaQuery: GraphiQL renders from the server alone,
// under its Content-Security-Policy; picking a persona logs in and sets
// the Authorization header; the query runs as that persona, denied fields
// shown as FORBIDDEN errors next to the data.
func TestGraphiQLRunsAPersonaQuery(t *testing.T) {
	portal := startPortal(t)
	res, err := http.Get(portal.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("GraphiQL's Content-Security-Policy is %q, want script-src 'self'", csp)
	}

	b := openGraphiQL(t, portal, "bob@acme.example")
	headers := value(b, chromedp.Text(chromedp.CSS(".graphiql-editor-tool")))
	b.run(
		chromedp.WaitVisible(chromedp.CSS(".graphiql-execute-button")),
		chromedp.Click(chromedp.CSS(".graphiql-execute-button")),
		// The result pane is a CodeMirror editor, which renders only the
		// lines in view: read the whole text from the editor.
		waitFor(resultJS+`.includes('"data"')`),
	)
	response := value(b, chromedp.Evaluate[string](resultJS))
	if !strings.Contains(headers, `"Authorization": "Bearer `) {
		t.Errorf("the headers editor shows %q, want the persona's Authorization header", headers)
	}
	var result struct {
		Data struct {
			Viewer struct{ DisplayName, Scope string }
			Users  struct{ TotalCount int }
		}
		Errors []struct{ Extensions struct{ Code string } }
	}
	if err := json.Unmarshal([]byte(response), &result); err != nil {
		t.Fatalf("GraphiQL's result is not JSON: %v\n%s", err, response)
	}
	if result.Data.Viewer.DisplayName != "Bob Brown" || result.Data.Users.TotalCount < 2 ||
		len(result.Errors) == 0 || result.Errors[0].Extensions.Code != "FORBIDDEN" {
		t.Errorf("GraphiQL's result is not bob's view (his name, the users, FORBIDDEN for others' emails):\n%.2000s", response)
	}
}

// openGraphiQL opens portal's GraphiQL and picks the demo persona username,
// waiting until the headers editor shows its token. It checks, at the end
// of the test, that the page broke no Content-Security-Policy rule and
// requested nothing off this machine.
func openGraphiQL(t *testing.T, portal *portal, username string) *browser {
	t.Helper()
	b := newBrowser(t)
	t.Cleanup(func() {
		if violations, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`window.__csp`)); err != nil || len(violations) > 0 {
			t.Errorf("Content-Security-Policy violations: %v (%v)", violations, err)
		}
		if off := b.offLoopback(); len(off) > 0 {
			t.Errorf("GraphiQL requested something off this machine: %v", off)
		}
	})
	b.run(
		chromedp.Navigate(portal.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#pbx-persona")),
		chromedp.WaitVisible(chromedp.CSS(".graphiql-execute-button")),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(function () { var s = document.getElementById('pbx-persona');
  s.value = %q; s.dispatchEvent(new Event('change', { bubbles: true })); })()`, username)),
		waitFor(fmt.Sprintf(`document.getElementById('pbx-status').textContent === 'logged in as ' + %q`, username)),
		waitFor(`document.querySelector('.graphiql-editor-tool') && document.querySelector('.graphiql-editor-tool').innerText.includes('Bearer ')`),
	)
	return b
}

// TestGraphiQLRunsASubscription: in GraphiQL, a supervisor persona runs
// the queue-status subscription, over the WebSocket GraphiQL opens with
// the persona's token; an agent's login made through the API shows in the
// result pane.
func TestGraphiQLRunsASubscription(t *testing.T) {
	p := startPortal(t)
	sales := p.queueID(t, "Sales")
	b := openGraphiQL(t, p, "cora@acme.example")
	query := fmt.Sprintf(`subscription { queueAgentStatusChanged(queueId: "%d") { loggedIn status user { username } } }`, sales)
	b.run(
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(%q)`, query)),
		// GraphiQL takes the editor's text into its state after a debounce
		// (and stores it then); a click before that runs the old query.
		waitFor(fmt.Sprintf(`localStorage.getItem('graphiql:query') === %q`, query)),
		chromedp.Click(chromedp.CSS(".graphiql-execute-button")),
	)
	p.waitWatchers(t, sales, 1)
	p.mutate(t, p.login(t, "alice@acme.example"), `mutation($q: ID!) { agentLogin(queueId: $q) { id } }`, map[string]any{"q": sales})
	b.run(waitFor(resultJS + `.includes('alice@acme.example')`))
	response := value(b, chromedp.Evaluate[string](resultJS))
	var result struct {
		Data struct {
			QueueAgentStatusChanged struct {
				LoggedIn bool
				Status   string
				User     struct{ Username string }
			}
		}
		Errors []json.RawMessage
	}
	if err := json.Unmarshal([]byte(response), &result); err != nil {
		t.Fatalf("GraphiQL's result is not JSON: %v\n%s", err, response)
	}
	if got := result.Data.QueueAgentStatusChanged; !got.LoggedIn || got.Status != "AVAILABLE" || got.User.Username != "alice@acme.example" || len(result.Errors) > 0 {
		t.Errorf("GraphiQL shows %s, want the event of alice's login", response)
	}
}

// usersPage is what the SPA rendered.
type usersPage struct {
	State  string   `json:"state"`
	Rows   []string `json:"rows"`   // user ids, in order
	Emails []string `json:"emails"` // the email cells: an address, "" or "denied"
	Edit   []bool   `json:"edit"`   // whether the row has an Edit button
	Reset  []bool   `json:"reset"`  // whether it has a Reset password button
}

const readPage = `(function () {
  var rows = Array.from(document.querySelectorAll('#users tbody tr'));
  return {
    state: document.body.getAttribute('data-state'),
    rows: rows.map(function (r) { return r.getAttribute('data-id'); }),
    emails: rows.map(function (r) { return r.querySelector('.field-email').textContent; }),
    edit: rows.map(function (r) { return !!r.querySelector('button[data-action=edit]'); }),
    reset: rows.map(function (r) { return !!r.querySelector('button[data-action=reset-password]'); })
  };
})()`

// openPage loads the SPA from spa, calling portal's API, with the page
// parameters params (see spa.js), and waits until its steps are done or
// failed. It checks, at the end of the test, that the page requested
// nothing off this machine.
func openPage(t *testing.T, spa *httptest.Server, portal *portal, params url.Values) *browser {
	t.Helper()
	b := newBrowser(t)
	t.Cleanup(func() {
		if off := b.offLoopback(); len(off) > 0 {
			t.Errorf("the page requested something off this machine: %v", off)
		}
	})
	q := url.Values{"api": {portal.URL + "/graphql"}}
	for k, v := range params {
		q[k] = v
	}
	b.run(
		chromedp.Navigate(spa.URL+"/?"+q.Encode()),
		waitFor(`document.body.getAttribute('data-state') !== 'loading'`),
	)
	return b
}

// openSPA loads the SPA from spa, calling portal as username, and returns
// what it rendered once it is done or failed.
func openSPA(t *testing.T, spa *httptest.Server, portal *portal, username string) usersPage {
	t.Helper()
	b := openPage(t, spa, portal, url.Values{"username": {username}, "password": {demo.Password}})
	return value(b, chromedp.Evaluate[usersPage](readPage))
}

// apiUsers asks the API directly what the SPA should show to username.
func apiUsers(t *testing.T, portal *portal, username string) usersPage {
	t.Helper()
	data, errs := portal.post(t, portal.login(t, username), `{ users(first: 100) { edges { node { id email viewerCan { edit resetPassword } } } } }`, nil)
	var users struct {
		Users struct {
			Edges []struct {
				Node struct {
					ID        string
					Email     *string
					ViewerCan struct{ Edit, ResetPassword bool }
				}
			}
		}
	}
	if err := json.Unmarshal(data, &users); err != nil {
		t.Fatalf("users as %s: %s", username, data)
	}
	denied := map[int]bool{}
	for _, e := range errs {
		if e.Extensions["code"] == "FORBIDDEN" && len(e.Path) == 5 && e.Path[4] == "email" {
			denied[int(e.Path[2].(float64))] = true
		}
	}
	want := usersPage{State: "done"}
	for i, e := range users.Users.Edges {
		want.Rows = append(want.Rows, e.Node.ID)
		switch {
		case denied[i]:
			want.Emails = append(want.Emails, "denied")
		case e.Node.Email == nil:
			want.Emails = append(want.Emails, "")
		default:
			want.Emails = append(want.Emails, *e.Node.Email)
		}
		want.Edit = append(want.Edit, e.Node.ViewerCan.Edit)
		want.Reset = append(want.Reset, e.Node.ViewerCan.ResetPassword)
	}
	return want
}

// TestSPAOnAnAllowedOrigin: a page on an allowed origin logs in, lists the
// users, shows denied fields as denied (not as a failure) and buttons only
// where viewerCan allows, exactly as the API answers.
func TestSPAOnAnAllowedOrigin(t *testing.T) {
	spa := startSPA(t)
	portal := startPortal(t, spa.URL)
	cases := []struct {
		username   string
		wantDenied bool // some email is denied to this persona
		wantEdit   bool // this persona may edit some user
	}{
		{"bob@acme.example", true, false},
		{"olivia@acme.example", false, true},
	}
	for _, c := range cases {
		t.Run(c.username, func(t *testing.T) {
			got := openSPA(t, spa, portal, c.username)
			want := apiUsers(t, portal, c.username)
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(want)
			if string(gotJSON) != string(wantJSON) {
				t.Fatalf("the page shows\n%s\nthe API answers\n%s", gotJSON, wantJSON)
			}
			denied, edit := false, false
			for i := range got.Rows {
				denied = denied || got.Emails[i] == "denied"
				edit = edit || got.Edit[i]
			}
			if len(got.Rows) < 2 || denied != c.wantDenied || edit != c.wantEdit {
				t.Fatalf("%d rows, some denied %v (want %v), some Edit %v (want %v)", len(got.Rows), denied, c.wantDenied, edit, c.wantEdit)
			}
		})
	}
}

// liveJS reads what the page shows of its subscription: its state, then
// one line per event.
const liveJS = `[document.getElementById('live-state').textContent].concat(
  Array.from(document.querySelectorAll('#live li')).map(function (li) { return li.textContent; }))`

// TestSPAReceivesLiveAgentStatus: the page on an allowed origin logs in as
// Sales' supervisor and subscribes, over its own graphql-transport-ws
// WebSocket, to the queue's agents; each change of an agent's login or
// status made through the API, by the agent or by the supervisor, shows on
// the page.
func TestSPAReceivesLiveAgentStatus(t *testing.T) {
	spa := startSPA(t)
	p := startPortal(t, spa.URL)
	sales := p.queueID(t, "Sales")
	b := openPage(t, spa, p, url.Values{
		"username": {"cora@acme.example"}, "password": {demo.Password},
		"steps": {"login,watchQueue"}, "queueId": {strconv.Itoa(sales)},
	})
	if state := value(b, chromedp.Evaluate[string](`document.body.getAttribute('data-state')`)); state != "done" {
		t.Fatalf("the page: %q, want done", state)
	}
	p.waitWatchers(t, sales, 1)

	alice, cora := p.login(t, "alice@acme.example"), p.login(t, "cora@acme.example")
	vars := map[string]any{"q": sales, "a": p.app.Client.User.Query().Where(user.Username("alice@acme.example")).OnlyIDX(context.Background())}
	steps := []struct {
		token, mutation, want string
	}{
		{alice, `mutation($q: ID!) { agentLogin(queueId: $q) { id } }`, "alice@acme.example logged in AVAILABLE"},
		{alice, `mutation($q: ID!) { setAgentStatus(queueId: $q, status: LUNCH) { id } }`, "alice@acme.example logged in LUNCH"},
		{cora, `mutation($q: ID!, $a: ID) { setAgentStatus(queueId: $q, agentId: $a, status: BREAK) { id } }`, "alice@acme.example logged in BREAK"},
		{cora, `mutation($q: ID!, $a: ID) { agentLogout(queueId: $q, agentId: $a) { id } }`, "alice@acme.example logged out OFFLINE"},
	}
	want := []string{"subscribed"}
	for _, s := range steps {
		p.mutate(t, s.token, s.mutation, vars)
		want = append(want, s.want)
		b.run(waitFor(fmt.Sprintf(`document.querySelectorAll('#live li').length >= %d`, len(want)-1)))
		if got := value(b, chromedp.Evaluate[[]string](liveJS)); !slices.Equal(got, want) {
			t.Fatalf("after %s the page shows %q, want %q", s.mutation, got, want)
		}
	}
}

// TestSPAOnAnOriginNotAllowed: the same page on an origin outside the
// allowlist cannot call the API: its preflight is refused and the browser
// keeps the response from it; its WebSocket, which CORS does not cover, is
// refused with 403 before the upgrade, even with a good token.
func TestSPAOnAnOriginNotAllowed(t *testing.T) {
	allowed, other := startSPA(t), startSPA(t)
	portal := startPortal(t, allowed.URL)

	req, _ := http.NewRequest(http.MethodOptions, portal.URL+"/graphql", nil)
	req.Header.Set("Origin", other.URL)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from %s: %d, Access-Control-Allow-Origin %q; want 403 and none",
			other.URL, res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
	}

	got := openSPA(t, other, portal, "olivia@acme.example")
	if !strings.HasPrefix(got.State, "error: ") || len(got.Rows) != 0 {
		t.Fatalf("the page on %s: state %q with %d rows, want an error and none", other.URL, got.State, len(got.Rows))
	}

	// The WebSocket, from each origin, with a token the page got elsewhere:
	// the allowed origin subscribes, the other is refused.
	sales := portal.queueID(t, "Sales")
	token := portal.login(t, "olivia@acme.example")
	cases := []struct {
		name      string
		spa       *httptest.Server
		wantState string
		watchers  int
		refused   bool
	}{
		{"allowed origin", allowed, "done", 1, false},
		{"other origin", other, "error: the WebSocket closed before connection_ack (code 1006)", 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := openPage(t, c.spa, portal, url.Values{"token": {token}, "steps": {"watchQueue"}, "queueId": {strconv.Itoa(sales)}})
			if state := value(b, chromedp.Evaluate[string](`document.body.getAttribute('data-state')`)); state != c.wantState {
				t.Errorf("the page on %s: %q, want %q", c.spa.URL, state, c.wantState)
			}
			portal.waitWatchers(t, sales, c.watchers)
			wait := time.Duration(0) // the allowed page is subscribed already
			if c.refused {
				wait = 5 * time.Second
			}
			if refused := b.hasLogged("Error during WebSocket handshake: Unexpected response code: 403", wait); refused != c.refused {
				t.Errorf("the page on %s: the browser logged %q; want the handshake refused with 403: %v", c.spa.URL, b.logged(), c.refused)
			}
		})
	}
}
