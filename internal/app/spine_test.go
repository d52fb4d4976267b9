package app_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestLogin(t *testing.T) {
	p := startPortal(t)
	const q = `mutation($u: String!, $p: String!) {
		login(input: {username: $u, password: $p}) { token expiresAt mustRunWizard user { id } }
	}`
	tests := []struct {
		name, username, password string
		wantCode                 string // "" = success
	}{
		{"office manager", "olivia@acme.example", "demo-password", ""},
		{"basic user", "bob@acme.example", "demo-password", ""},
		{"support", "support@provider.example", "demo-password", ""},
		{"wrong password", "olivia@acme.example", "nope", "UNAUTHENTICATED"},
		{"unknown user", "nobody@acme.example", "demo-password", "UNAUTHENTICATED"},
		{"NO_PORTAL, right password", "nina@acme.example", "demo-password", "PORTAL_ACCESS_DISABLED"},
		{"NO_PORTAL, wrong password", "nina@acme.example", "nope", "PORTAL_ACCESS_DISABLED"},
		{"voice portal access off", "vic@acme.example", "demo-password", "PORTAL_ACCESS_DISABLED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := p.do("", q, map[string]any{"u": tt.username, "p": tt.password})
			if tt.wantCode != "" {
				if got := codes(r.Errors); !slices.Equal(got, []string{tt.wantCode}) {
					t.Fatalf("codes = %v, want [%s]", got, tt.wantCode)
				}
				if strings.Contains(r.Errors[0].Message, "password") && tt.wantCode == "PORTAL_ACCESS_DISABLED" {
					t.Errorf("PORTAL_ACCESS_DISABLED says something about the password: %q", r.Errors[0].Message)
				}
				return
			}
			if len(r.Errors) > 0 {
				t.Fatalf("errors: %+v", r.Errors)
			}
			var data struct {
				Login struct {
					Token string
					User  struct{ ID string }
				}
			}
			decode(t, r, &data)
			var viewer struct{ Viewer struct{ Username string } }
			r = p.do(data.Login.Token, `{ viewer { username } }`, nil)
			decode(t, r, &viewer)
			if viewer.Viewer.Username != tt.username {
				t.Errorf("viewer with the new token = %q, want %q", viewer.Viewer.Username, tt.username)
			}
		})
	}
}

func TestAnonymousAndBadTokens(t *testing.T) {
	p := startPortal(t)
	for _, token := range []string{"", "garbage", p.tokenFor("olivia@acme.example") + "x"} {
		r := p.do(token, `{ viewer { id } users { totalCount } }`, nil)
		if got := codes(r.Errors); !slices.Equal(got, []string{"UNAUTHENTICATED", "UNAUTHENTICATED"}) {
			t.Errorf("token %q: codes = %v, want two UNAUTHENTICATED", token, got)
		}
	}
}

// directory is the users connection with its private email.
type directory struct {
	Users struct {
		TotalCount int
		Edges      []struct {
			Node struct {
				ID, DisplayName, Extension string
				Email                      *string
			}
		}
	}
}

const directoryQuery = `{ users(first: 100) { totalCount edges { node { id displayName extension email } } } }`

func TestDirectoryAndPrivateFields(t *testing.T) {
	p := startPortal(t)
	acmePortalUsers := []string{"100", "101", "110", "111", "120", "121", "130", "131", "140", "141", "142", "150"}
	tests := []struct {
		persona       string
		wantExts      []string // every visible user, by extension
		wantEmailExts []string // the users whose email the persona reads
	}{
		// Office managers reach the whole domain, NO_PORTAL nina included.
		{"olivia@acme.example", append(slices.Clone(acmePortalUsers), "190"), append(slices.Clone(acmePortalUsers), "190")},
		// A basic user sees the directory, and only its own private fields.
		{"bob@acme.example", acmePortalUsers, []string{"140"}},
		// A site manager reads its own site's users' private fields (nina is North).
		{"sam@acme.example", append(slices.Clone(acmePortalUsers), "190"),
			[]string{"100", "110", "120", "130", "140", "150", "190"}},
		// A supervisor reads its queue's agents (alice) and itself.
		{"cora@acme.example", acmePortalUsers, []string{"120", "130"}},
		// Another domain sees no acme user.
		{"gina@globex.example", []string{"100", "101"}, []string{"100", "101"}},
	}
	for _, tt := range tests {
		t.Run(tt.persona, func(t *testing.T) {
			var d directory
			errs := p.as(tt.persona, directoryQuery, nil, &d)
			denied := map[int]bool{}
			for _, e := range errs {
				if e.code() != "FORBIDDEN" || len(e.Path) != 5 || e.Path[4] != "email" {
					t.Errorf("error %+v, want FORBIDDEN at users.edges.N.node.email", e)
					continue
				}
				denied[int(e.Path[2].(float64))] = true
			}
			var exts, emailExts []string
			for i, e := range d.Users.Edges {
				exts = append(exts, e.Node.Extension)
				if denied[i] && e.Node.Email != nil {
					t.Errorf("denied email of %s is not null", e.Node.Extension)
				}
				if !denied[i] {
					emailExts = append(emailExts, e.Node.Extension)
				}
			}
			slices.Sort(exts)
			slices.Sort(emailExts)
			want := slices.Sorted(slices.Values(tt.wantExts))
			if !slices.Equal(exts, want) {
				t.Errorf("visible users = %v, want %v", exts, want)
			}
			if d.Users.TotalCount != len(want) {
				t.Errorf("totalCount = %d, want %d", d.Users.TotalCount, len(want))
			}
			if !slices.Equal(emailExts, tt.wantEmailExts) {
				t.Errorf("readable emails = %v, want %v", emailExts, tt.wantEmailExts)
			}
		})
	}
}

func TestBobSeesOliviasNameButNotHerEmail(t *testing.T) {
	p := startPortal(t)
	var d directory
	errs := p.as("bob@acme.example", directoryQuery, nil, &d)
	for i, e := range d.Users.Edges {
		if e.Node.Extension != "100" {
			continue
		}
		if e.Node.DisplayName != "Olivia Owens" || e.Node.Email != nil {
			t.Fatalf("olivia as bob sees her = %+v", e.Node)
		}
		for _, err := range errs {
			if err.code() == "FORBIDDEN" && int(err.Path[2].(float64)) == i {
				return
			}
		}
		t.Fatalf("no FORBIDDEN error at olivia's email: %+v", errs)
	}
	t.Fatal("bob does not see olivia")
}

func TestCrossDomainNode(t *testing.T) {
	p := startPortal(t)
	var d directory
	p.as("olivia@acme.example", directoryQuery, nil, &d)
	oliviaID := d.Users.Edges[0].Node.ID
	tests := []struct {
		persona, wantCode string
	}{
		{"gina@globex.example", "NOT_FOUND"},
		{"gus@globex.example", "NOT_FOUND"},
		{"bob@acme.example", ""},
		{"support@provider.example", ""},
	}
	for _, tt := range tests {
		var out struct{ Node *struct{ ID string } }
		errs := p.as(tt.persona, `query($id: ID!) { node(id: $id) { id ... on User { displayName } } }`,
			map[string]any{"id": oliviaID}, &out)
		if tt.wantCode == "" {
			if len(errs) > 0 || out.Node == nil || out.Node.ID != oliviaID {
				t.Errorf("%s: node = %+v, errors %+v", tt.persona, out.Node, errs)
			}
			continue
		}
		if out.Node != nil || !slices.Equal(codes(errs), []string{tt.wantCode}) {
			t.Errorf("%s: node = %+v, codes %v, want null with %s", tt.persona, out.Node, codes(errs), tt.wantCode)
		}
	}
}

func TestProjectionIsRebuiltOnRestart(t *testing.T) {
	dir := t.TempDir()
	p := startPortalIn(t, dir)
	var before directory
	p.as("cora@acme.example", directoryQuery, nil, &before)
	p.stop()

	again := startPortalIn(t, dir)
	var after directory
	errs := again.as("cora@acme.example", directoryQuery, nil, &after)
	if len(before.Users.Edges) == 0 || !slices.EqualFunc(before.Users.Edges, after.Users.Edges, func(a, b struct {
		Node struct {
			ID, DisplayName, Extension string
			Email                      *string
		}
	}) bool {
		return a.Node.ID == b.Node.ID && (a.Node.Email == nil) == (b.Node.Email == nil)
	}) {
		t.Fatalf("after restart: %+v (errors %v), before: %+v", after, errs, before)
	}
	if n, _ := again.app.Client.User.Query().Count(t.Context()); n != 16 {
		t.Errorf("users after restart = %d, want 16 (the demo is loaded once)", n)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	p := startPortal(t)
	p.as("bob@acme.example", directoryQuery, nil, nil)
	for _, tt := range []struct{ path, want string }{
		{"/healthz", "ok"},
		{"/readyz", "ready"},
		{"/metrics", `pbxportal_spicedb_requests_total{method="CheckBulkPermissions"}`},
		{"/metrics", "pbxportal_graphql_requests_total 1"},
		{"/", "graphiql"},
	} {
		status, body := p.get(tt.path)
		if status != 200 || !strings.Contains(strings.ToLower(body), strings.ToLower(tt.want)) {
			t.Errorf("GET %s = %d, body lacks %q", tt.path, status, tt.want)
		}
	}
}

func decode(t *testing.T, r response, out any) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %+v", r.Errors)
	}
	if err := json.Unmarshal(r.Data, out); err != nil {
		t.Fatal(err)
	}
}

// TestBadInput: malformed input is BAD_USER_INPUT naming the argument, never
// an internal error; pages are bounded.
func TestBadInput(t *testing.T) {
	p := startPortal(t)
	tests := []struct{ query, wantField string }{
		{`{ node(id: "abc") { id } }`, "id"},
		{`mutation { agentLogin(queueId: "x1") { status } }`, "queueId"},
		{`{ users(first: 5000) { totalCount } }`, "first"},
		{`{ users(first: -1) { totalCount } }`, ""},
	}
	for _, tt := range tests {
		errs := p.as("olivia@acme.example", tt.query, nil, nil)
		if len(errs) != 1 || errs[0].code() != "BAD_USER_INPUT" {
			t.Errorf("%s: %+v, want BAD_USER_INPUT", tt.query, errs)
			continue
		}
		if f, _ := errs[0].Extensions["field"].(string); tt.wantField != "" && f != tt.wantField {
			t.Errorf("%s: field %q, want %q", tt.query, f, tt.wantField)
		}
	}
	var d directory
	p.as("support@provider.example", `{ users { totalCount edges { node { id } } } }`, nil, &d)
	if d.Users.TotalCount != 16 || len(d.Users.Edges) != 16 {
		t.Errorf("a page without first: %d of %d", len(d.Users.Edges), d.Users.TotalCount)
	}
}
