package app_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/site"
	"github.com/pbxportal/pbxportal/ent/user"
)

// names returns, sorted, the field of every node of a connection at data[root].
func names(t *testing.T, data json.RawMessage, root, field string) []string {
	t.Helper()
	var d map[string]struct {
		Edges []struct{ Node map[string]any }
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	out := []string{}
	for _, e := range d[root].Edges {
		out = append(out, fmt.Sprint(e.Node[field]))
	}
	slices.Sort(out)
	return out
}

// TestRootConnections: every root connection shows each persona exactly its
// slice (docs/product.md §3.2, §3.7, §3.8, §3.11, §3.12, §3.13), and nothing across
// domains but to support.
func TestRootConnections(t *testing.T) {
	p := startPortal(t)
	allAcmeRecordings := []string{"acme-0001", "acme-0002", "acme-0003", "acme-0004", "acme-0005"}
	tests := []struct {
		persona, root, field string
		want                 []string
	}{
		// §3.11 recordings: each replay path, and nothing else.
		{"bob@acme.example", "recordings", "callID", []string{"acme-0001", "acme-0002", "acme-0003"}}, // own, replayOthers "141", replayGroups Reception
		{"bea@acme.example", "recordings", "callID", []string{}},                                      // no rights, not even her own calls
		{"ava@acme.example", "recordings", "callID", allAcmeRecordings},                               // replayAll
		{"alice@acme.example", "recordings", "callID", []string{"acme-0004"}},                         // replayOwn
		{"cora@acme.example", "recordings", "callID", []string{"acme-0004"}},                          // supervisor of Sales
		{"carl@acme.example", "recordings", "callID", []string{"acme-0005"}},                          // supervisor of Support
		{"sam@acme.example", "recordings", "callID", []string{"acme-0001", "acme-0004"}},              // owned by North users
		{"sue@acme.example", "recordings", "callID", []string{"acme-0002", "acme-0005"}},              // owned by South users
		{"olivia@acme.example", "recordings", "callID", allAcmeRecordings},                            // office manager
		{"gina@globex.example", "recordings", "callID", []string{"globex-0001", "globex-0002"}},
		{"gus@globex.example", "recordings", "callID", []string{}},
		{"support@provider.example", "recordings", "callID", append(slices.Clone(allAcmeRecordings), "globex-0001", "globex-0002")},
		// §3.8 queues: agents their own, supervisors theirs, managers within reach.
		{"olivia@acme.example", "callQueues", "name", []string{"Sales", "Support"}},
		{"sam@acme.example", "callQueues", "name", []string{"Sales"}},
		{"cora@acme.example", "callQueues", "name", []string{"Sales"}},
		{"carl@acme.example", "callQueues", "name", []string{"Support"}},
		{"alice@acme.example", "callQueues", "name", []string{"Sales"}},
		{"adam@acme.example", "callQueues", "name", []string{"Support"}},
		{"bob@acme.example", "callQueues", "name", []string{}},
		{"gina@globex.example", "callQueues", "name", []string{}},
		{"support@provider.example", "callQueues", "name", []string{"Sales", "Support"}},
		// Groups and sites are directory data of the domain (§3.2, §3.7).
		{"bob@acme.example", "groups", "name", []string{"Reception"}},
		{"gina@globex.example", "groups", "name", []string{}},
		{"bob@acme.example", "sites", "name", []string{"North", "South"}},
		{"gina@globex.example", "sites", "name", []string{}},
		// §3.13 contacts: the domain's, to every portal user of it.
		{"bob@acme.example", "contacts", "name", []string{"Acme Front Desk", "Lee Lawyer", "Pat Plumber"}},
		{"gus@globex.example", "contacts", "name", []string{"Globex Reception"}},
		{"support@provider.example", "contacts", "name", []string{"Acme Front Desk", "Globex Reception", "Lee Lawyer", "Pat Plumber"}},
		// Domains: one's own; support all.
		{"bob@acme.example", "domains", "name", []string{"acme.example"}},
		{"gina@globex.example", "domains", "name", []string{"globex.example"}},
		{"support@provider.example", "domains", "name", []string{"acme.example", "globex.example", "provider.example"}},
		// §3.12 call history: one's own; managers their reach; supervisors their queues.
		{"bob@acme.example", "callRecords", "caller", []string{"140"}},
		{"bea@acme.example", "callRecords", "caller", []string{"+15550101"}},
		{"sam@acme.example", "callRecords", "caller", []string{"+15550103", "140"}},
		{"cora@acme.example", "callRecords", "caller", []string{"+15550103"}},
		{"olivia@acme.example", "callRecords", "caller", []string{"+15550101", "+15550102", "+15550103", "+15550104", "140"}},
		{"gus@globex.example", "callRecords", "caller", []string{"+15550201"}},
		{"oscar@acme.example", "callQueues", "name", []string{"Sales", "Support"}},
		{"gus@globex.example", "callQueues", "name", []string{}},
		{"gina@globex.example", "contacts", "name", []string{"Globex Reception"}},
		{"gina@globex.example", "callRecords", "caller", []string{"+15550201", "100"}},
		{"gina@globex.example", "users", "username", []string{"gina@globex.example", "gus@globex.example"}},
		{"gina@globex.example", "auditEvents", "action", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.persona+"/"+tt.root, func(t *testing.T) {
			r := p.do(p.tokenFor(tt.persona), fmt.Sprintf(`{ %s(first: 100) { totalCount edges { node { %s } } } }`, tt.root, tt.field), nil)
			if len(r.Errors) > 0 {
				t.Fatalf("errors: %+v", r.Errors)
			}
			got := names(t, r.Data, tt.root, tt.field)
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s = %v, want %v", tt.root, got, tt.want)
			}
			var count map[string]struct{ TotalCount int }
			_ = json.Unmarshal(r.Data, &count)
			if count[tt.root].TotalCount != len(tt.want) {
				t.Errorf("totalCount = %d, want %d", count[tt.root].TotalCount, len(tt.want))
			}
		})
	}
}

// TestUserViewerCan: §3.4 editing, §3.5 credentials, §3.6 scope changes,
// §3.9 and §3.11 settings, as viewerCan answers them.
func TestUserViewerCan(t *testing.T) {
	p := startPortal(t)
	type can struct{ Edit, ResetPassword, ChangeEmail, ChangeScope, ChangeMediaRights bool }
	tests := []struct {
		persona, target string // target by extension
		want            can
	}{
		{"olivia@acme.example", "140", can{true, true, true, false, true}},     // scope management is SUPPORT_ONLY
		{"olivia@acme.example", "101", can{true, false, false, false, true}},   // not another office manager's credentials
		{"sam@acme.example", "120", can{true, true, true, false, true}},        // lower rank, own site
		{"sam@acme.example", "100", can{}},                                     // higher rank
		{"sam@acme.example", "141", can{}},                                     // another site
		{"cora@acme.example", "130", can{Edit: true, ChangeMediaRights: true}}, // its agent, but no credentials
		{"cora@acme.example", "140", can{}},                                    // not an agent
		{"bob@acme.example", "140", can{ResetPassword: true, ChangeEmail: true}},
		{"bob@acme.example", "100", can{}},
		{"support@provider.example", "100", can{true, true, true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.persona+"->"+tt.target, func(t *testing.T) {
			var d struct {
				Users struct {
					Edges []struct {
						Node struct {
							Extension string
							Domain    struct{ Name string }
							ViewerCan *can
						}
					}
				}
			}
			errs := p.as(tt.persona, `{ users(first: 100) { edges { node { extension domain { name }
				viewerCan { edit resetPassword changeEmail changeScope changeMediaRights } } } } }`, nil, &d)
			if len(errs) > 0 {
				t.Fatalf("errors: %+v", errs)
			}
			for _, e := range d.Users.Edges {
				if e.Node.Extension == tt.target && e.Node.Domain.Name == "acme.example" {
					if *e.Node.ViewerCan != tt.want {
						t.Errorf("viewerCan = %+v, want %+v", *e.Node.ViewerCan, tt.want)
					}
					return
				}
			}
			t.Fatalf("%s does not see %s", tt.persona, tt.target)
		})
	}
}

// TestObjectViewerCan: §3.7 sites, §3.8 queues, §3.11 recordings, §3.12
// reporting, §3.13 contacts, §3.14 audit.
func TestObjectViewerCan(t *testing.T) {
	p := startPortal(t)
	tests := []struct {
		persona, query string
		want           string // the JSON of data
	}{
		{"cora@acme.example", `{ callQueues { edges { node { name viewerCan { manageAgents assignSupervisors logAgents viewAgentStatus viewReports } } } } }`,
			`{"callQueues":{"edges":[{"node":{"name":"Sales","viewerCan":{"manageAgents":true,"assignSupervisors":false,"logAgents":true,"viewAgentStatus":true,"viewReports":true}}}]}}`},
		{"sam@acme.example", `{ callQueues { edges { node { name viewerCan { edit assignSupervisors } } } } }`,
			`{"callQueues":{"edges":[{"node":{"name":"Sales","viewerCan":{"edit":true,"assignSupervisors":true}}}]}}`},
		{"alice@acme.example", `{ callQueues { edges { node { name viewerCan { manageAgents logAgents viewAgentStatus } } } } }`,
			`{"callQueues":{"edges":[{"node":{"name":"Sales","viewerCan":{"manageAgents":false,"logAgents":false,"viewAgentStatus":false}}}]}}`},
		{"alice@acme.example", `{ recordings { edges { node { callID viewerCan { replay download } } } } }`,
			`{"recordings":{"edges":[{"node":{"callID":"acme-0004","viewerCan":{"replay":true,"download":true}}}]}}`},
		{"cora@acme.example", `{ recordings { edges { node { callID viewerCan { replay download } } } } }`,
			`{"recordings":{"edges":[{"node":{"callID":"acme-0004","viewerCan":{"replay":true,"download":false}}}]}}`},
		{"sam@acme.example", `{ sites(orderBy: {field: NAME}) { edges { node { name viewerCan { editDefaults edit delete } } } } }`,
			`{"sites":{"edges":[{"node":{"name":"North","viewerCan":{"editDefaults":true,"edit":false,"delete":false}}},{"node":{"name":"South","viewerCan":{"editDefaults":false,"edit":false,"delete":false}}}]}}`},
		{"olivia@acme.example", `{ domains { edges { node { name viewerCan { edit createSites manageScopes editContacts readAudit viewCallSummary } } } } }`,
			`{"domains":{"edges":[{"node":{"name":"acme.example","viewerCan":{"edit":false,"createSites":true,"manageScopes":false,"editContacts":true,"readAudit":true,"viewCallSummary":true}}}]}}`},
		{"ava@acme.example", `{ domains { edges { node { viewerCan { createSites readAudit viewCallSummary } } } } }`,
			`{"domains":{"edges":[{"node":{"viewerCan":{"createSites":false,"readAudit":false,"viewCallSummary":true}}}]}}`},
		{"bob@acme.example", `{ domains { edges { node { viewerCan { viewCallSummary } } } } contacts(first: 1) { edges { node { viewerCan { edit } } } } }`,
			`{"domains":{"edges":[{"node":{"viewerCan":{"viewCallSummary":false}}}]},"contacts":{"edges":[{"node":{"viewerCan":{"edit":false}}}]}}`},
		{"support@provider.example", `{ domains(where: {name: "globex.example"}) { edges { node { viewerCan { edit manageScopes readAudit } } } } }`,
			`{"domains":{"edges":[{"node":{"viewerCan":{"edit":true,"manageScopes":true,"readAudit":true}}}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.persona, func(t *testing.T) {
			r := p.do(p.tokenFor(tt.persona), tt.query, nil)
			if len(r.Errors) > 0 {
				t.Fatalf("errors: %+v", r.Errors)
			}
			if string(r.Data) != tt.want {
				t.Errorf("data = %s\nwant   %s", r.Data, tt.want)
			}
		})
	}
}

// TestGuardedFieldsAndEdges: fields guarded by other permissions than
// view_private, and objects reached through edges (docs/product.md §3.8, §3.9, §4).
func TestGuardedFieldsAndEdges(t *testing.T) {
	p := startPortal(t)
	tests := []struct {
		persona, query string
		want           string
		wantErrors     []string // code@path
	}{
		// A supervisor sees every agent's real-time status; an agent does not.
		{"cora@acme.example", `{ callQueues { edges { node { agents { loggedIn status user { extension } } } } } }`,
			`{"callQueues":{"edges":[{"node":{"agents":[{"loggedIn":false,"status":"OFFLINE","user":{"extension":"130"}}]}}]}}`, nil},
		{"alice@acme.example", `{ callQueues { edges { node { name agents { status } } } } }`,
			`{"callQueues":{"edges":[{"node":{"name":"Sales","agents":null}}]}}`, []string{"FORBIDDEN@callQueues.edges.0.node.agents"}},
		// Call handling follows the menu: bob reads his own (WRITE by default).
		{"bob@acme.example", `{ viewer { doNotDisturb } }`, `{"viewer":{"doNotDisturb":false}}`, nil},
		// A user's recordings, reached through the user, are still each checked:
		// bea's own call, replayable by bob through replayOthers, is not hers to replay.
		{"bea@acme.example", `{ viewer { recordings { totalCount } } }`, `{"viewer":{"recordings":{"totalCount":0}}}`, nil},
		{"olivia@acme.example", `{ users(where: {extension: "141"}) { edges { node { recordings { edges { node { callID } } } } } } }`,
			`{"users":{"edges":[{"node":{"recordings":{"edges":[{"node":{"callID":"acme-0002"}}]}}}]}}`, nil},
		// ava replays the Sales call, but may not see the Sales queue it went through.
		{"ava@acme.example", `{ recordings(where: {callID: "acme-0004"}) { edges { node { callID queue { name } } } } }`,
			`{"recordings":{"edges":[{"node":{"callID":"acme-0004","queue":null}}]}}`, []string{"NOT_FOUND@recordings.edges.0.node.queue"}},
		// bob sees the group through which he replays.
		{"bob@acme.example", `{ recordings(where: {callID: "acme-0003"}) { edges { node { group { name } } } } }`,
			`{"recordings":{"edges":[{"node":{"group":{"name":"Reception"}}}]}}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.persona, func(t *testing.T) {
			r := p.do(p.tokenFor(tt.persona), tt.query, nil)
			var got []string
			for _, e := range r.Errors {
				path := ""
				for i, s := range e.Path {
					if i > 0 {
						path += "."
					}
					path += fmt.Sprint(s)
				}
				got = append(got, e.code()+"@"+path)
			}
			if !slices.Equal(got, tt.wantErrors) {
				t.Errorf("errors = %v, want %v", got, tt.wantErrors)
			}
			if string(r.Data) != tt.want {
				t.Errorf("data = %s\nwant   %s", r.Data, tt.want)
			}
		})
	}
}

// TestNodeAcrossDomains: node answers NOT_FOUND for every type of object of
// another domain, and for what the viewer may not see in its own.
func TestNodeAcrossDomains(t *testing.T) {
	p := startPortal(t)
	ctx := t.Context()
	c := p.app.Client
	first := func(id int, err error) int {
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	ids := map[string]int{
		"user":      first(c.User.Query().Order(ent.Asc("id")).FirstID(ctx)),
		"site":      first(c.Site.Query().Order(ent.Asc("id")).FirstID(ctx)),
		"queue":     first(c.CallQueue.Query().Order(ent.Asc("id")).FirstID(ctx)),
		"group":     first(c.Group.Query().Order(ent.Asc("id")).FirstID(ctx)),
		"recording": first(c.Recording.Query().Order(ent.Asc("id")).FirstID(ctx)),
		"contact":   first(c.Contact.Query().Order(ent.Asc("id")).FirstID(ctx)),
		"domain":    first(c.Domain.Query().Order(ent.Asc("id")).FirstID(ctx)),
	}
	tests := []struct {
		persona string
		visible map[string]bool // by kind; the rest are NOT_FOUND
	}{
		{"gina@globex.example", map[string]bool{}},
		{"gus@globex.example", map[string]bool{}},
		{"bob@acme.example", map[string]bool{"user": true, "site": true, "group": true, "recording": true, "contact": true, "domain": true}},
		{"support@provider.example", map[string]bool{"user": true, "site": true, "queue": true, "group": true, "recording": true, "contact": true, "domain": true}},
	}
	for _, tt := range tests {
		for kind, id := range ids {
			var out struct{ Node *struct{ ID string } }
			errs := p.as(tt.persona, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id}, &out)
			if tt.visible[kind] {
				if out.Node == nil || len(errs) > 0 {
					t.Errorf("%s: %s hidden: %+v", tt.persona, kind, errs)
				}
				continue
			}
			if out.Node != nil || !slices.Equal(codes(errs), []string{"NOT_FOUND"}) {
				t.Errorf("%s: %s = %+v, codes %v, want NOT_FOUND", tt.persona, kind, out.Node, codes(errs))
			}
		}
	}
	// nodes: the invisible entries are null, each with NOT_FOUND.
	var out struct{ Nodes []*struct{ ID string } }
	errs := p.as("gina@globex.example", `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`,
		map[string]any{"ids": []int{ids["user"], ids["domain"]}}, &out)
	if len(out.Nodes) != 2 || out.Nodes[0] != nil || out.Nodes[1] != nil || len(errs) != 2 {
		t.Errorf("nodes as gina = %+v, errors %v", out.Nodes, codes(errs))
	}
}

// TestAuditVisibility: office managers read their domain's audit events,
// site managers their site's, support all, nobody else any (docs/product.md §3.14).
func TestAuditVisibility(t *testing.T) {
	p := startPortal(t)
	ctx := t.Context()
	c := p.app.Client
	acme := c.Domain.Query().Where(domain.Name("acme.example")).OnlyX(ctx)
	globex := c.Domain.Query().Where(domain.Name("globex.example")).OnlyX(ctx)
	north := c.Site.Query().Where(site.Name("North")).OnlyX(ctx)
	south := c.Site.Query().Where(site.Name("South")).OnlyX(ctx)
	for _, e := range []struct {
		action   string
		domainID int
		siteID   *int
	}{
		{"north.change", acme.ID, &north.ID},
		{"south.change", acme.ID, &south.ID},
		{"acme.change", acme.ID, nil},
		{"globex.change", globex.ID, nil},
	} {
		c.AuditEvent.Create().SetAction(e.action).SetDomainID(e.domainID).SetNillableSiteID(e.siteID).
			SetTargetType("User").SetTargetID("1").ExecX(ctx)
	}
	tests := []struct {
		persona string
		want    []string
	}{
		{"olivia@acme.example", []string{"acme.change", "north.change", "south.change"}},
		{"sam@acme.example", []string{"north.change"}},
		{"sue@acme.example", []string{"south.change"}},
		{"cora@acme.example", []string{}},
		{"bob@acme.example", []string{}},
		{"gina@globex.example", []string{"globex.change"}},
		{"support@provider.example", []string{"acme.change", "globex.change", "north.change", "south.change"}},
	}
	for _, tt := range tests {
		r := p.do(p.tokenFor(tt.persona), `{ auditEvents { edges { node { action } } } }`, nil)
		if got := names(t, r.Data, "auditEvents", "action"); !slices.Equal(got, tt.want) || len(r.Errors) > 0 {
			t.Errorf("%s: audit events %v (errors %+v), want %v", tt.persona, got, r.Errors, tt.want)
		}
	}
}

// TestSelfAdministrationMenus: READ and WRITE let a user see its own menu
// data, NO_ACCESS hides it; managers within reach always see it (docs/product.md §3.9).
func TestSelfAdministrationMenus(t *testing.T) {
	p := startPortal(t)
	p.inTx(func(c *ent.Client) error {
		return c.User.Update().Where(user.Username("bea@acme.example")).
			SetCallHandlingAccess(user.CallHandlingAccessNO_ACCESS).Exec(t.Context())
	})
	tests := []struct {
		persona, query, want string
		wantCodes            []string
	}{
		{"bob@acme.example", `{ viewer { doNotDisturb buttons { label } personalDirectoryEntries { name } } }`,
			`{"viewer":{"doNotDisturb":false,"buttons":[],"personalDirectoryEntries":[]}}`, nil},
		{"bea@acme.example", `{ viewer { doNotDisturb forwardTo } }`,
			`{"viewer":{"doNotDisturb":null,"forwardTo":null}}`, []string{"FORBIDDEN", "FORBIDDEN"}},
		{"olivia@acme.example", `{ users(where: {extension: "141"}) { edges { node { doNotDisturb } } } }`,
			`{"users":{"edges":[{"node":{"doNotDisturb":false}}]}}`, nil},
		{"bob@acme.example", `{ users(where: {extension: "141"}) { edges { node { doNotDisturb } } } }`,
			`{"users":{"edges":[{"node":{"doNotDisturb":null}}]}}`, []string{"FORBIDDEN"}},
	}
	for _, tt := range tests {
		r := p.do(p.tokenFor(tt.persona), tt.query, nil)
		if string(r.Data) != tt.want || !slices.Equal(codes(r.Errors), tt.wantCodes) {
			t.Errorf("%s: %s %v\nwant %s %v", tt.persona, r.Data, codes(r.Errors), tt.want, tt.wantCodes)
		}
	}
}
