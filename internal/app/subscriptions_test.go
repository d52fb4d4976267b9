package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/pbxportal/pbxportal/ent/callqueue"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/app"
)

// wsMessage is one graphql-transport-ws message.
type wsMessage struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// wsConn is a graphql-transport-ws client connection, as Apollo's and urql's
// (graphql-ws) would open.
type wsConn struct {
	t    *testing.T
	conn *websocket.Conn
}

// dialWS opens a WebSocket to serverURL's /graphql speaking
// graphql-transport-ws, with the given request header.
func dialWS(t *testing.T, serverURL string, header http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(serverURL, "http")+"/graphql", &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"},
		HTTPHeader:   header,
	})
}

// connectWS opens a connection to p and sends connection_init with params;
// it does not wait for the answer.
func connectWS(t *testing.T, p *portal, params map[string]any) *wsConn {
	t.Helper()
	return connectWSWith(t, p, nil, params)
}

// connectWSWith is connectWS with a header on the upgrade request.
func connectWSWith(t *testing.T, p *portal, header http.Header, params map[string]any) *wsConn {
	t.Helper()
	conn, _, err := dialWS(t, p.srv.URL, header)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	c := &wsConn{t: t, conn: conn}
	c.send(wsMessage{Type: "connection_init", Payload: mustJSON(t, params)})
	return c
}

// subscribeAs connects to p with token in connectionParams, waits for the
// acknowledgement, and subscribes to query with id "1".
func subscribeAs(t *testing.T, p *portal, token, query string, vars map[string]any) *wsConn {
	t.Helper()
	c := connectWS(t, p, map[string]any{"Authorization": "Bearer " + token})
	if m := c.next(); m.Type != "connection_ack" {
		t.Fatalf("connection_init answered %s %s, want connection_ack", m.Type, m.Payload)
	}
	c.send(wsMessage{Type: "subscribe", ID: "1", Payload: mustJSON(t, map[string]any{"query": query, "variables": vars})})
	return c
}

func (c *wsConn) send(m wsMessage) {
	c.t.Helper()
	b, _ := json.Marshal(m)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// read returns the next message other than a heartbeat, answering pings.
func (c *wsConn) read(timeout time.Duration) (wsMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		_, b, err := c.conn.Read(ctx)
		if err != nil {
			return wsMessage{}, err
		}
		var m wsMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return wsMessage{}, err
		}
		switch m.Type {
		case "pong":
			continue
		case "ping":
			c.send(wsMessage{Type: "pong"})
			continue
		}
		return m, nil
	}
}

// next returns the next message, failing the test if none comes in time.
func (c *wsConn) next() wsMessage {
	c.t.Helper()
	m, err := c.read(15 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return m
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// agentEvent is the payload of one queueAgentStatusChanged event.
type agentEvent struct {
	QueueAgentStatusChanged struct {
		LoggedIn bool
		Status   string
		User     struct{ Username string }
		Queue    struct{ Name string }
	}
}

// event reads the next message and decodes it as an event, failing the test
// on anything else.
func (c *wsConn) event() agentEvent {
	c.t.Helper()
	m := c.next()
	var r response
	if m.Type != "next" || json.Unmarshal(m.Payload, &r) != nil || len(r.Errors) > 0 {
		c.t.Fatalf("got %s %s, want an event", m.Type, m.Payload)
	}
	var ev agentEvent
	if err := json.Unmarshal(r.Data, &ev); err != nil {
		c.t.Fatal(err)
	}
	return ev
}

// ended reads until the operation ends and returns the codes of the errors
// that ended it: an "error" message, or a "next" with errors then "complete".
func (c *wsConn) ended() []string {
	c.t.Helper()
	m := c.next()
	switch m.Type {
	case "error":
		var errs []gqlError
		if err := json.Unmarshal(m.Payload, &errs); err != nil {
			c.t.Fatal(err)
		}
		return codes(errs)
	case "next":
		var r response
		if err := json.Unmarshal(m.Payload, &r); err != nil || len(r.Errors) == 0 {
			c.t.Fatalf("got event %s, want the stream to end with an error", m.Payload)
		}
		if done := c.next(); done.Type != "complete" {
			c.t.Fatalf("after the error: %s, want complete", done.Type)
		}
		return codes(r.Errors)
	}
	c.t.Fatalf("got %s %s, want the stream to end with an error", m.Type, m.Payload)
	return nil
}

const queueStatusSubscription = `subscription($q: ID!) {
  queueAgentStatusChanged(queueId: $q) { loggedIn status user { username } queue { name } }
}`

// waitWatchers waits until n subscriptions watch the queue on p: the
// subscribe message is not acknowledged in graphql-transport-ws.
func waitWatchers(t *testing.T, p *portal, queueID, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for p.app.Events.Watchers(queueID) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscriptions watch queue %d, want %d", p.app.Events.Watchers(queueID), queueID, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func queueID(t *testing.T, p *portal, name string) int {
	t.Helper()
	return p.app.Client.CallQueue.Query().Where(callqueue.Name(name)).OnlyIDX(context.Background())
}

func userID(t *testing.T, p *portal, username string) int {
	t.Helper()
	return p.app.Client.User.Query().Where(user.Username(username)).OnlyIDX(context.Background())
}

// TestSubscriptionPushesAgentChanges: a supervisor watching its queue
// receives every login, status change and logout of its agent made through
// the API, by the agent itself or by the supervisor.
func TestSubscriptionPushesAgentChanges(t *testing.T) {
	p := startPortal(t)
	sales := queueID(t, p, "Sales")
	cora, alice := p.tokenFor("cora@acme.example"), p.tokenFor("alice@acme.example")
	sub := subscribeAs(t, p, cora, queueStatusSubscription, map[string]any{"q": sales})
	waitWatchers(t, p, sales, 1)

	aliceID := userID(t, p, "alice@acme.example")
	steps := []struct {
		token, mutation string
		loggedIn        bool
		status          string
	}{
		{alice, `mutation($q: ID!) { agentLogin(queueId: $q) { id } }`, true, "AVAILABLE"},
		{alice, `mutation($q: ID!) { setAgentStatus(queueId: $q, status: LUNCH) { id } }`, true, "LUNCH"},
		{cora, `mutation($q: ID!, $a: ID) { setAgentStatus(queueId: $q, agentId: $a, status: BREAK) { id } }`, true, "BREAK"},
		{cora, `mutation($q: ID!, $a: ID) { agentLogout(queueId: $q, agentId: $a) { id } }`, false, "OFFLINE"},
	}
	for _, s := range steps {
		mustMutate(t, p, s.token, s.mutation, map[string]any{"q": sales, "a": aliceID})
		got := sub.event().QueueAgentStatusChanged
		if got.LoggedIn != s.loggedIn || got.Status != s.status || got.User.Username != "alice@acme.example" || got.Queue.Name != "Sales" {
			t.Fatalf("after %s: event %+v, want alice in Sales logged in %v, %s", s.mutation, got, s.loggedIn, s.status)
		}
	}
}

// TestSubscriptionPersonas: who may watch a queue's agents live is exactly
// who may read its agents' real-time status (CallQueue.agents): others get
// NOT_FOUND for a queue they cannot see, FORBIDDEN for one they can.
func TestSubscriptionPersonas(t *testing.T) {
	p := startPortal(t)
	sales := queueID(t, p, "Sales")
	cases := []struct {
		username string
		want     string // "" for allowed
	}{
		{"olivia@acme.example", ""},         // office manager of the domain
		{"oscar@acme.example", ""},          // office manager of the domain
		{"sam@acme.example", ""},            // site manager of Sales' site
		{"cora@acme.example", ""},           // Sales' supervisor
		{"sue@acme.example", "NOT_FOUND"},   // site manager of another site
		{"carl@acme.example", "NOT_FOUND"},  // another queue's supervisor
		{"alice@acme.example", "FORBIDDEN"}, // Sales' agent: sees the queue, not its agents' status
		{"adam@acme.example", "NOT_FOUND"},  // another queue's agent
		{"bob@acme.example", "NOT_FOUND"},
		{"ava@acme.example", "NOT_FOUND"},
		{"gina@globex.example", "NOT_FOUND"}, // office manager of another domain
		{"support@provider.example", ""},     // support: every domain
	}
	subs := make([]*wsConn, len(cases))
	allowed := 0
	for i, c := range cases {
		// The query's answer for the same viewer, which the subscription must match.
		var out struct {
			Node *struct{ Agents []struct{ ID string } }
		}
		errs := p.as(c.username, `query($id: ID!) { node(id: $id) { ... on CallQueue { agents { id } } } }`, map[string]any{"id": sales}, &out)
		if got := strings.Join(codes(errs), ","); got != c.want {
			t.Fatalf("%s: CallQueue.agents answers %q, the table says %q", c.username, got, c.want)
		}
		subs[i] = subscribeAs(t, p, p.tokenFor(c.username), queueStatusSubscription, map[string]any{"q": sales})
		if c.want == "" {
			allowed++
		}
	}
	waitWatchers(t, p, sales, allowed)
	mustMutate(t, p, p.tokenFor("alice@acme.example"), `mutation($q: ID!) { agentLogin(queueId: $q) { id } }`, map[string]any{"q": sales})
	for i, c := range cases {
		if c.want == "" {
			if got := subs[i].event().QueueAgentStatusChanged; !got.LoggedIn || got.User.Username != "alice@acme.example" {
				t.Errorf("%s: event %+v, want alice logged in", c.username, got)
			}
			continue
		}
		if got := strings.Join(subs[i].ended(), ","); got != c.want {
			t.Errorf("%s: subscription ended with %q, want %q", c.username, got, c.want)
		}
	}
}

// TestSubscriptionEndsWhenRevoked: a stream is checked again before every
// event, at the newest authorization change, and after every quiet spell: a
// supervisor removed from the queue, or a token ended, ends it with
// FORBIDDEN or UNAUTHENTICATED, and the event is not delivered; with no
// event, the stream still ends at the next recheck.
func TestSubscriptionEndsWhenRevoked(t *testing.T) {
	cases := []struct {
		name   string
		revoke func(p *portal, cora string, vars map[string]any)
		want   string
	}{
		{"removed from the queue", func(p *portal, _ string, vars map[string]any) {
			mustMutate(t, p, p.tokenFor("olivia@acme.example"), `mutation($q: ID!, $u: ID!) { removeQueueSupervisor(queueId: $q, userId: $u) { id } }`, vars)
		}, "FORBIDDEN"},
		{"logged out", func(p *portal, cora string, _ map[string]any) {
			mustMutate(t, p, cora, `mutation { logout }`, nil)
		}, "UNAUTHENTICATED"},
		{"password reset", func(p *portal, _ string, vars map[string]any) {
			mustMutate(t, p, p.tokenFor("olivia@acme.example"), `mutation($u: ID!) { resetPassword(userId: $u, newPassword: "another-secret-1") { id } }`, vars)
		}, "UNAUTHENTICATED"},
	}
	for _, c := range cases {
		for _, quiet := range []bool{false, true} {
			name := c.name + ", then an event"
			if quiet {
				name = c.name + ", then quiet"
			}
			t.Run(name, func(t *testing.T) {
				recheck := time.Hour // only events check
				if quiet {
					recheck = 200 * time.Millisecond
				}
				p := startPortalWith(t, func(c *app.Config) { c.SubscriptionRecheck = recheck })
				sales := queueID(t, p, "Sales")
				vars := map[string]any{"q": sales, "u": userID(t, p, "cora@acme.example")}
				cora := p.tokenFor("cora@acme.example")
				sub := subscribeAs(t, p, cora, queueStatusSubscription, map[string]any{"q": sales})
				waitWatchers(t, p, sales, 1)
				c.revoke(p, cora, vars)
				if !quiet {
					mustMutate(t, p, p.tokenFor("alice@acme.example"), `mutation($q: ID!) { agentLogin(queueId: $q) { id } }`, map[string]any{"q": sales})
				}
				if got := strings.Join(sub.ended(), ","); got != c.want {
					t.Fatalf("the stream ended with %q, want %q", got, c.want)
				}
			})
		}
	}
}

// startPortalWith is startPortal with a changed configuration.
func startPortalWith(t *testing.T, change func(*app.Config)) *portal {
	t.Helper()
	cfg := app.Config{DataDir: t.TempDir(), Demo: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	change(&cfg)
	return openPortal(t, cfg)
}

// TestSubscriptionConnectionAuth: a connection authenticates with the token
// in connectionParams (as Authorization or token); a missing or bad token
// closes it with UNAUTHENTICATED, before any operation runs.
func TestSubscriptionConnectionAuth(t *testing.T) {
	p := startPortal(t)
	good := p.tokenFor("cora@acme.example")
	loggedOut := p.tokenFor("cora@acme.example")
	mustMutate(t, p, loggedOut, `mutation { logout }`, nil)
	cases := []struct {
		name   string
		params map[string]any
		ok     bool
	}{
		{"Authorization", map[string]any{"Authorization": "Bearer " + good}, true},
		{"token", map[string]any{"token": good}, true},
		{"none", map[string]any{}, false},
		{"bad", map[string]any{"Authorization": "Bearer not-a-token"}, false},
		{"logged out", map[string]any{"token": loggedOut}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn := connectWS(t, p, c.params)
			m, err := conn.read(15 * time.Second)
			if c.ok {
				if err != nil || m.Type != "connection_ack" {
					t.Fatalf("got %+v, %v; want connection_ack", m, err)
				}
				return
			}
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != 4401 || !strings.HasPrefix(ce.Reason, "UNAUTHENTICATED") {
				t.Fatalf("got %+v, %v; want the connection closed with 4401 UNAUTHENTICATED", m, err)
			}
			if strings.Contains(ce.Reason, good) {
				t.Fatal("the close reason echoes the token")
			}
		})
	}
}

// TestSubscriptionOrigin: a browser page of another origin cannot open a
// WebSocket (no allowlist here); the server's own origin and clients that
// send no Origin can.
func TestSubscriptionOrigin(t *testing.T) {
	p := startPortal(t)
	cases := []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{p.srv.URL, true},
		{"http://localhost:5173", false},
		{"null", false},
	}
	for _, c := range cases {
		h := http.Header{}
		if c.origin != "" {
			h.Set("Origin", c.origin)
		}
		conn, res, err := dialWS(t, p.srv.URL, h)
		if conn != nil {
			_ = conn.CloseNow()
		}
		if c.ok != (err == nil) {
			t.Errorf("origin %q: dial error %v, want allowed=%v", c.origin, err, c.ok)
		}
		if !c.ok && (res == nil || res.StatusCode != http.StatusForbidden) {
			t.Errorf("origin %q: response %v, want 403", c.origin, res)
		}
	}
}

// TestSubscriptionOnlyOverWebSocket: a subscription posted over HTTP is
// refused at once, as a request this transport does not serve
// (BAD_REQUEST), instead of holding the request open.
func TestSubscriptionOnlyOverWebSocket(t *testing.T) {
	p := startPortal(t)
	errs := p.as("cora@acme.example", queueStatusSubscription, map[string]any{"q": queueID(t, p, "Sales")}, nil)
	if len(errs) != 1 || errs[0].code() != "BAD_REQUEST" {
		t.Fatalf("errors %+v, want one BAD_REQUEST", errs)
	}
}

// TestSubscriptionAcrossReplicas: two replicas on one PostgreSQL database;
// a change made through replica B reaches a subscription on replica A
// through LISTEN/NOTIFY, and a revocation made through B ends it.
func TestSubscriptionAcrossReplicas(t *testing.T) {
	spice := startSpiceDBServer(t)
	dbURL := postgresURL(t)
	dir := t.TempDir()
	a := openPortal(t, spice.config(dir, dbURL, true))
	b := openPortal(t, spice.config(dir, dbURL, false))
	sales := queueID(t, a, "Sales")
	sub := subscribeAs(t, a, a.tokenFor("cora@acme.example"), queueStatusSubscription, map[string]any{"q": sales})
	waitWatchers(t, a, sales, 1)

	alice := b.tokenFor("alice@acme.example")
	mustMutate(t, b, alice, `mutation($q: ID!) { agentLogin(queueId: $q) { id } }`, map[string]any{"q": sales})
	if got := sub.event().QueueAgentStatusChanged; !got.LoggedIn || got.User.Username != "alice@acme.example" {
		t.Fatalf("event on A %+v, want alice logged in", got)
	}
	mustMutate(t, b, b.tokenFor("olivia@acme.example"), `mutation($q: ID!, $u: ID!) { removeQueueSupervisor(queueId: $q, userId: $u) { id } }`,
		map[string]any{"q": sales, "u": userID(t, b, "cora@acme.example")})
	mustMutate(t, b, alice, `mutation($q: ID!) { setAgentStatus(queueId: $q, status: BREAK) { id } }`, map[string]any{"q": sales})
	if got := strings.Join(sub.ended(), ","); got != "FORBIDDEN" {
		t.Fatalf("after the revocation through B, the stream on A ended with %q, want FORBIDDEN", got)
	}
}

// TestQueryOverWebSocket: graphql-ws clients may send queries over the
// socket too; they run as the connection's viewer, whose token is checked
// again for each, as an HTTP request's would be.
func TestQueryOverWebSocket(t *testing.T) {
	p := startPortal(t)
	cases := []struct {
		name     string
		inHeader bool // the token in the upgrade request's header, not in connectionParams
		logout   bool
		want     string // the username, or the error code
	}{
		{"live token", false, false, "cora@acme.example"},
		{"logged out after connecting", false, true, "UNAUTHENTICATED"},
		{"live token in the header", true, false, "cora@acme.example"},
		{"token in the header, logged out after connecting", true, true, "UNAUTHENTICATED"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			token := p.tokenFor("cora@acme.example")
			var conn *wsConn
			if c.inHeader {
				conn = connectWSWith(t, p, http.Header{"Authorization": {"Bearer " + token}}, map[string]any{})
			} else {
				conn = connectWS(t, p, map[string]any{"token": token})
			}
			if m := conn.next(); m.Type != "connection_ack" {
				t.Fatalf("got %s, want connection_ack", m.Type)
			}
			if c.logout {
				mustMutate(t, p, token, `mutation { logout }`, nil)
			}
			conn.send(wsMessage{Type: "subscribe", ID: "q", Payload: mustJSON(t, map[string]any{"query": `{ viewer { username } }`})})
			m := conn.next()
			var r response
			if m.Type != "next" || json.Unmarshal(m.Payload, &r) != nil {
				t.Fatalf("got %s %s, want a result", m.Type, m.Payload)
			}
			var out struct{ Viewer *struct{ Username string } }
			_ = json.Unmarshal(r.Data, &out)
			got := strings.Join(codes(r.Errors), ",")
			if out.Viewer != nil {
				got = out.Viewer.Username
			}
			if got != c.want {
				t.Fatalf("got %q (%s), want %q", got, m.Payload, c.want)
			}
		})
	}
}

// TestEverySubscriptionRefusesWhoMayNotSee walks the schema's Subscription
// fields: each, subscribed to by a user who may not see the object its ID
// arguments name, ends at once with NOT_FOUND, as a query would, instead of
// streaming. A subscription added later is covered without a new test.
func TestEverySubscriptionRefusesWhoMayNotSee(t *testing.T) {
	p := startPortal(t)
	var schema struct {
		Schema struct {
			SubscriptionType struct {
				Fields []struct {
					Name string
					Args []struct {
						Name string
						Type struct {
							Kind   string
							OfType *struct{ Name string }
						}
					}
				}
			}
		} `json:"__schema"`
	}
	if errs := p.as("bob@acme.example", `{ __schema { subscriptionType { fields { name args { name type { kind ofType { name } } } } } } }`, nil, &schema); len(errs) > 0 {
		t.Fatal(errs)
	}
	fields := schema.Schema.SubscriptionType.Fields
	if len(fields) == 0 {
		t.Fatal("the schema has no subscriptions")
	}
	sales := queueID(t, p, "Sales") // bob sees no queue
	for _, f := range fields {
		t.Run(f.Name, func(t *testing.T) {
			var params, args []string
			vars := map[string]any{}
			for _, a := range f.Args {
				if a.Type.Kind != "NON_NULL" {
					continue
				}
				if a.Type.OfType == nil || a.Type.OfType.Name != "ID" {
					t.Fatalf("argument %s is not an ID: teach this test what to pass", a.Name)
				}
				params = append(params, "$"+a.Name+": ID!")
				args = append(args, a.Name+": $"+a.Name)
				vars[a.Name] = sales
			}
			q := "subscription"
			if len(params) > 0 {
				q += "(" + strings.Join(params, ", ") + ") { " + f.Name + "(" + strings.Join(args, ", ") + ") { __typename } }"
			} else {
				q += " { " + f.Name + " { __typename } }"
			}
			sub := subscribeAs(t, p, p.tokenFor("bob@acme.example"), q, vars)
			if got := strings.Join(sub.ended(), ","); got != "NOT_FOUND" {
				t.Fatalf("%s ended with %q, want NOT_FOUND", q, got)
			}
		})
	}
}
