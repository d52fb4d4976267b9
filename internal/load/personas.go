package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// mutationShare is the share of a client's steps that are mutations, for
// the personas that have some.
const mutationShare = 0.25

// persona is a demo user and the workload it drives.
type persona struct {
	username string
	// ownPrivateOnly: the persona sees no other user's private fields.
	ownPrivateOnly bool
	// support: the persona sees every user of every domain.
	support bool
	reads   []op
	writes  []op
}

// op is one step of a workload; it records its requests and checks them.
type op func(ctx context.Context, c *client)

// personas are the workload's users: every kind of reader, and the writers
// of profiles, agent states and contacts.
func personas() []persona {
	return []persona{
		{username: "bob@acme.example", ownPrivateOnly: true, reads: []op{readViewer, readUsers, readRecordings}, writes: []op{updateProfile}},
		{username: "olivia@acme.example", reads: []op{readUsers, readQueues, readRecordings}, writes: []op{contactCycle, updateProfile}},
		{username: "alice@acme.example", reads: []op{readViewer, readQueues, readRecordings}, writes: []op{agentCycle}},
		{username: "support@provider.example", support: true, reads: []op{readUsers, readViewer}},
		{username: "cora@acme.example", reads: []op{readQueues, readRecordings, readUsers}, writes: []op{updateProfile}},
		{username: "adam@acme.example", reads: []op{readViewer, readQueues}, writes: []op{agentCycle}},
		{username: "sam@acme.example", reads: []op{readUsers, readRecordings}, writes: []op{updateProfile}},
		{username: "ava@acme.example", reads: []op{readRecordings, readViewer}},
	}
}

// client is one simulated user: a persona logged in once, then looping.
type client struct {
	http     *http.Client
	endpoint string
	persona  persona
	rec      *recorder
	rng      *rand.Rand

	token    string
	self     string
	domain   string
	queue    string // the queue the persona is an agent of
	users    int    // users(…).totalCount at set-up
	recs     int    // recordings(…).totalCount at set-up
	sequence int
}

// gqlError is one entry of a response's errors.
type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

func (e gqlError) code() string {
	if c, ok := e.Extensions["code"].(string); ok {
		return c
	}
	return "NO_CODE"
}

// post sends a GraphQL request and decodes its data into out. It returns
// the errors' codes, or a transport failure ("TRANSPORT", "HTTP_<status>").
func (c *client) post(ctx context.Context, query string, vars map[string]any, out any) (codes []string, transport string) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, "TRANSPORT"
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, "TRANSPORT"
	}
	defer res.Body.Close()
	var r struct {
		Data   json.RawMessage `json:"data"`
		Errors []gqlError      `json:"errors"`
	}
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		return nil, fmt.Sprintf("HTTP_%d", res.StatusCode)
	}
	for _, e := range r.Errors {
		codes = append(codes, e.code())
	}
	if out != nil && len(r.Data) > 0 && string(r.Data) != "null" {
		if err := json.Unmarshal(r.Data, out); err != nil {
			return append(codes, "UNDECODABLE"), ""
		}
	}
	return codes, ""
}

// do runs one measured request; it reports whether the response can be
// checked (it came, and its only errors are fields denied to a reader).
func (c *client) do(ctx context.Context, mutation bool, query string, vars map[string]any, out any) bool {
	start := time.Now()
	codes, transport := c.post(ctx, query, vars, out)
	c.rec.observe(mutation, time.Since(start), codes, transport)
	if transport != "" {
		return false
	}
	for _, code := range codes {
		if mutation || code != "FORBIDDEN" {
			return false
		}
	}
	return true
}

// step runs one read or mutation of the persona's workload.
func (c *client) step(ctx context.Context) {
	p := c.persona
	if len(p.writes) > 0 && c.rng.Float64() < mutationShare {
		p.writes[c.rng.IntN(len(p.writes))](ctx, c)
		return
	}
	p.reads[c.rng.IntN(len(p.reads))](ctx, c)
}

// setUp logs the client in and learns its ids and what it sees.
func (c *client) setUp(ctx context.Context, password string) error {
	var login struct{ Login struct{ Token string } }
	codes, transport := c.post(ctx, `mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) { token } }`,
		map[string]any{"u": c.persona.username, "p": password}, &login)
	if transport != "" || len(codes) > 0 || login.Login.Token == "" {
		return fmt.Errorf("load: log in as %s: %v%s", c.persona.username, codes, transport)
	}
	c.token = login.Login.Token
	var d struct {
		Viewer struct {
			ID               string
			DomainID         string
			AgentMemberships []struct{ Queue struct{ ID string } }
		}
		Users      struct{ TotalCount int }
		Recordings struct{ TotalCount int }
	}
	codes, transport = c.post(ctx, `{ viewer { id domainID agentMemberships { queue { id } } }
		users(first: 1) { totalCount } recordings(first: 1) { totalCount } }`, nil, &d)
	if transport != "" || len(codes) > 0 {
		return fmt.Errorf("load: set up %s: %v%s", c.persona.username, codes, transport)
	}
	c.self, c.domain, c.users, c.recs = d.Viewer.ID, d.Viewer.DomainID, d.Users.TotalCount, d.Recordings.TotalCount
	if len(d.Viewer.AgentMemberships) > 0 {
		c.queue = d.Viewer.AgentMemberships[0].Queue.ID
	}
	return nil
}

// checkVisibility checks what the personas saw at set-up: clients of one
// persona agree, and support sees every user any other persona sees.
func checkVisibility(clients []*client) error {
	seen := map[string]int{}
	most, support := 0, -1
	for _, c := range clients {
		if n, ok := seen[c.persona.username]; ok && n != c.users {
			return fmt.Errorf("load: two clients of %s see %d and %d users", c.persona.username, n, c.users)
		}
		seen[c.persona.username] = c.users
		if c.persona.support {
			support = c.users
		} else {
			most = max(most, c.users)
		}
	}
	if support >= 0 && support < most {
		return fmt.Errorf("load: support sees %d users, fewer than another persona's %d", support, most)
	}
	return nil
}

func readViewer(ctx context.Context, c *client) {
	var d struct{ Viewer *struct{ ID string } }
	if c.do(ctx, false, `{ viewer { id displayName } }`, nil, &d) && (d.Viewer == nil || d.Viewer.ID != c.self) {
		c.rec.wrong("%s: viewer is %+v, want %s", c.persona.username, d.Viewer, c.self)
	}
}

func readUsers(ctx context.Context, c *client) {
	var d struct {
		Users struct {
			TotalCount int
			Edges      []struct {
				Node struct {
					ID    string
					Email *string
				}
			}
		}
	}
	if !c.do(ctx, false, `{ users(first: 20) { totalCount edges { node { id displayName email } } } }`, nil, &d) {
		return
	}
	if d.Users.TotalCount != c.users {
		c.rec.wrong("%s: sees %d users, %d at set-up", c.persona.username, d.Users.TotalCount, c.users)
	}
	for _, e := range d.Users.Edges {
		if c.persona.ownPrivateOnly && e.Node.ID != c.self && e.Node.Email != nil {
			c.rec.wrong("%s: sees the private email of user %s", c.persona.username, e.Node.ID)
		}
	}
}

func readRecordings(ctx context.Context, c *client) {
	var d struct{ Recordings struct{ TotalCount int } }
	if c.do(ctx, false, `{ recordings(first: 20) { totalCount edges { node { id } } } }`, nil, &d) && d.Recordings.TotalCount != c.recs {
		c.rec.wrong("%s: sees %d recordings, %d at set-up", c.persona.username, d.Recordings.TotalCount, c.recs)
	}
}

func readQueues(ctx context.Context, c *client) {
	c.do(ctx, false, `{ callQueues(first: 20) { totalCount edges { node { id name } } } }`, nil, nil)
}

func updateProfile(ctx context.Context, c *client) {
	c.sequence++
	dept := fmt.Sprintf("load-%d", c.sequence)
	var d struct {
		UpdateMyProfile struct{ ID, Department string }
	}
	if c.do(ctx, true, `mutation($d: String!) { updateMyProfile(input: {department: $d}) { id department } }`, map[string]any{"d": dept}, &d) &&
		(d.UpdateMyProfile.ID != c.self || d.UpdateMyProfile.Department != dept) {
		c.rec.wrong("%s: updateMyProfile answered %+v, want %s with %s", c.persona.username, d.UpdateMyProfile, c.self, dept)
	}
}

// agentCycle logs the agent in to its queue, sets a status and logs it out.
func agentCycle(ctx context.Context, c *client) {
	vars := map[string]any{"q": c.queue}
	var in struct{ AgentLogin struct{ LoggedIn bool } }
	if c.do(ctx, true, `mutation($q: ID!) { agentLogin(queueId: $q) { loggedIn } }`, vars, &in) && !in.AgentLogin.LoggedIn {
		c.rec.wrong("%s: agentLogin left the agent logged out", c.persona.username)
	}
	status := []string{"AVAILABLE", "BREAK", "LUNCH"}[c.rng.IntN(3)]
	var st struct{ SetAgentStatus struct{ Status string } }
	if c.do(ctx, true, `mutation($q: ID!, $s: QueueAgentStatus!) { setAgentStatus(queueId: $q, status: $s) { status } }`,
		map[string]any{"q": c.queue, "s": status}, &st) && st.SetAgentStatus.Status != status {
		c.rec.wrong("%s: setAgentStatus answered %s, want %s", c.persona.username, st.SetAgentStatus.Status, status)
	}
	var out struct{ AgentLogout struct{ LoggedIn bool } }
	if c.do(ctx, true, `mutation($q: ID!) { agentLogout(queueId: $q) { loggedIn } }`, vars, &out) && out.AgentLogout.LoggedIn {
		c.rec.wrong("%s: agentLogout left the agent logged in", c.persona.username)
	}
}

// contactCycle creates a contact in the persona's domain and deletes it.
func contactCycle(ctx context.Context, c *client) {
	c.sequence++
	var cr struct{ CreateContact struct{ ID string } }
	if !c.do(ctx, true, `mutation($d: ID!, $n: String!) { createContact(input: {domainID: $d, name: $n, phone: "+15550199"}) { id } }`,
		map[string]any{"d": c.domain, "n": fmt.Sprintf("Load %s %d", c.self, c.sequence)}, &cr) {
		return
	}
	var del struct{ DeleteContact string }
	if c.do(ctx, true, `mutation($id: ID!) { deleteContact(id: $id) }`, map[string]any{"id": cr.CreateContact.ID}, &del) &&
		del.DeleteContact != cr.CreateContact.ID {
		c.rec.wrong("%s: deleteContact answered %q, want %q", c.persona.username, del.DeleteContact, cr.CreateContact.ID)
	}
}
