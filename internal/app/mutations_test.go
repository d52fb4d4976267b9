package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/auditevent"
	"github.com/pbxportal/pbxportal/ent/callqueue"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/group"
	"github.com/pbxportal/pbxportal/ent/site"
	"github.com/pbxportal/pbxportal/ent/user"
)

// ids of demo objects, for mutation variables.
type ids struct{ p *portal }

func (i ids) user(username string) int {
	return i.p.app.Client.User.Query().Where(user.Username(username)).OnlyIDX(context.Background())
}
func (i ids) queue(name string) int {
	return i.p.app.Client.CallQueue.Query().Where(callqueue.Name(name)).OnlyIDX(context.Background())
}
func (i ids) group(name string) int {
	return i.p.app.Client.Group.Query().Where(group.Name(name)).OnlyIDX(context.Background())
}

// fingerprint is the whole database but the audit log, as JSON: equal
// fingerprints mean nothing changed.
func (p *portal) fingerprint() string {
	p.t.Helper()
	ctx := context.Background()
	c := p.app.Client
	var parts []any
	for _, q := range []func() (any, error){
		func() (any, error) {
			return c.User.Query().WithGroups().WithReplayGroups().WithSupervisedQueues().All(ctx)
		},
		func() (any, error) { return c.QueueAgent.Query().All(ctx) },
		func() (any, error) { return c.CallQueue.Query().All(ctx) },
		func() (any, error) { return c.Site.Query().All(ctx) },
		func() (any, error) { return c.Group.Query().All(ctx) },
		func() (any, error) { return c.Contact.Query().All(ctx) },
		func() (any, error) { return c.PersonalDirectoryEntry.Query().All(ctx) },
		func() (any, error) { return c.Button.Query().All(ctx) },
		func() (any, error) { return c.AuditEvent.Query().Count(ctx) },
	} {
		v, err := q()
		if err != nil {
			p.t.Fatal(err)
		}
		parts = append(parts, v)
	}
	b, _ := json.Marshal(parts)
	return string(b)
}

// TestMutationRules: each mutation, allowed and refused for the right
// personas. A refusal carries its code (and field), and changes nothing; a
// success writes an audit event naming the mutation.
func TestMutationRules(t *testing.T) {
	p := startPortal(t)
	id := ids{p}
	bob, bea, vic, cora, olivia, alice, adam, carl, gus := id.user("bob@acme.example"), id.user("bea@acme.example"),
		id.user("vic@acme.example"), id.user("cora@acme.example"), id.user("olivia@acme.example"),
		id.user("alice@acme.example"), id.user("adam@acme.example"), id.user("carl@acme.example"), id.user("gus@globex.example")
	sales, support, reception := id.queue("Sales"), id.queue("Support"), id.group("Reception")
	acme := p.app.Client.Domain.Query().Where(domain.Name("acme.example")).OnlyIDX(context.Background())
	tests := []mutationCase{
		// §3.5 credentials
		{"bob resets his own password", "bob@acme.example", `mutation($u: ID!) { resetPassword(userId: $u, newPassword: "a-new-password") { id } }`, map[string]any{"u": bob}, "", ""},
		{"an office manager may not reset another's", "oscar@acme.example", `mutation($u: ID!) { resetPassword(userId: $u, newPassword: "a-new-password") { id } }`, map[string]any{"u": olivia}, "FORBIDDEN", ""},
		{"another domain cannot even see the user", "gina@globex.example", `mutation($u: ID!) { resetPassword(userId: $u, newPassword: "a-new-password") { id } }`, map[string]any{"u": bob}, "NOT_FOUND", ""},
		{"a short password", "olivia@acme.example", `mutation($u: ID!) { resetPassword(userId: $u, newPassword: "short") { id } }`, map[string]any{"u": bob}, "BAD_USER_INPUT", "newPassword"},
		{"a site manager changes a lower rank's email", "sam@acme.example", `mutation($u: ID!) { changeEmail(userId: $u, email: "cora@new.example") { id } }`, map[string]any{"u": cora}, "", ""},
		{"but not another site's", "sam@acme.example", `mutation($u: ID!) { changeEmail(userId: $u, email: "bea@new.example") { id } }`, map[string]any{"u": bea}, "FORBIDDEN", ""},
		{"an invalid email", "olivia@acme.example", `mutation($u: ID!) { changeEmail(userId: $u, email: "not-an-email") { id } }`, map[string]any{"u": bob}, "BAD_USER_INPUT", "email"},
		// §3.6 scopes and plan gating (§2)
		{"office managers under SUPPORT_ONLY", "olivia@acme.example", `mutation($u: ID!) { setUserScope(userId: $u, scope: OFFICE_MANAGER) { id } }`, map[string]any{"u": bob}, "FORBIDDEN", ""},
		{"support changes a scope", "support@provider.example", `mutation($u: ID!) { setUserScope(userId: $u, scope: CALL_CENTER_AGENT) { id } }`, map[string]any{"u": bea}, "", ""},
		{"a STANDARD plan has no agents", "support@provider.example", `mutation($u: ID!) { setUserScope(userId: $u, scope: CALL_CENTER_AGENT) { id } }`, map[string]any{"u": gus}, "BAD_USER_INPUT", "scope"},
		{"nor advanced users", "support@provider.example", `mutation($u: ID!) { setUserScope(userId: $u, scope: ADVANCED_USER) { id } }`, map[string]any{"u": gus}, "BAD_USER_INPUT", "scope"},
		// §3.10 Voice Portal Access
		{"always on for BCC PROFESSIONAL", "oscar@acme.example", `mutation($u: ID!) { updateUser(id: $u, input: {voicePortalAccess: false}) { id } }`, map[string]any{"u": olivia}, "BAD_USER_INPUT", "voicePortalAccess"},
		{"turning it on needs an email", "olivia@acme.example", `mutation($u: ID!) { updateUser(id: $u, input: {voicePortalAccess: true}) { id } }`, map[string]any{"u": vic}, "BAD_USER_INPUT", "email"},
		{"a Cloud PBX user needs an end user role", "olivia@acme.example", `mutation($d: ID!) { createUser(password: "a-long-password", input: {domainID: $d, username: "cp@acme.example", displayName: "CP", extension: "160", email: "cp@acme.example", serviceType: CLOUD_PBX, voicePortalAccess: true}) { id } }`, map[string]any{"d": acme}, "BAD_USER_INPUT", "endUserRole"},
		{"an office manager creates a user", "olivia@acme.example", `mutation($d: ID!) { createUser(password: "a-long-password", input: {domainID: $d, username: "new@acme.example", displayName: "New", extension: "161", email: "new@acme.example", voicePortalAccess: true}) { id } }`, map[string]any{"d": acme}, "", ""},
		{"a basic user does not", "bob@acme.example", `mutation($d: ID!) { createUser(password: "a-long-password", input: {domainID: $d, username: "x@acme.example", displayName: "X", extension: "162", email: "x@acme.example"}) { id } }`, map[string]any{"d": acme}, "FORBIDDEN", ""},
		// §3.11 Media Manager rights
		{"others need replayOwn", "olivia@acme.example", `mutation($u: ID!) { updateMediaManagerRights(userId: $u, input: {mediaManagerReplay: true, replayAll: false, replayOwn: false, replayGroupIDs: [], replayOthers: "140", downloadRecordings: false}) { id } }`, map[string]any{"u": bea}, "BAD_USER_INPUT", "replayOthers"},
		{"groups need replayOwn", "olivia@acme.example", `mutation($u: ID!, $g: ID!) { updateMediaManagerRights(userId: $u, input: {mediaManagerReplay: true, replayAll: false, replayOwn: false, replayGroupIDs: [$g], replayOthers: "", downloadRecordings: false}) { id } }`, map[string]any{"u": bea, "g": reception}, "BAD_USER_INPUT", "replayGroups"},
		{"at most 127 characters", "olivia@acme.example", `mutation($u: ID!, $o: String!) { updateMediaManagerRights(userId: $u, input: {mediaManagerReplay: true, replayAll: false, replayOwn: true, replayGroupIDs: [], replayOthers: $o, downloadRecordings: false}) { id } }`, map[string]any{"u": bea, "o": strings.Repeat("1;", 64)}, "BAD_USER_INPUT", "replayOthers"},
		{"numbers only", "olivia@acme.example", `mutation($u: ID!) { updateMediaManagerRights(userId: $u, input: {mediaManagerReplay: true, replayAll: false, replayOwn: true, replayGroupIDs: [], replayOthers: "140;abc", downloadRecordings: false}) { id } }`, map[string]any{"u": bea}, "BAD_USER_INPUT", "replayOthers"},
		{"a basic user does not change rights", "bob@acme.example", `mutation($u: ID!) { updateMediaManagerRights(userId: $u, input: {mediaManagerReplay: true, replayAll: true, replayOwn: true, replayGroupIDs: [], replayOthers: "", downloadRecordings: true}) { id } }`, map[string]any{"u": bea}, "FORBIDDEN", ""},
		{"an office manager grants rights", "olivia@acme.example", `mutation($u: ID!, $g: ID!) { updateMediaManagerRights(userId: $u, input: {mediaManagerReplay: true, replayAll: false, replayOwn: true, replayGroupIDs: [$g], replayOthers: "140", downloadRecordings: true}) { id } }`, map[string]any{"u": bea, "g": reception}, "", ""},
		// §3.8 queues
		{"supervisors add only CALL_CENTER_AGENTs", "cora@acme.example", `mutation($q: ID!, $u: ID!) { addQueueAgent(queueId: $q, userId: $u) { id } }`, map[string]any{"q": sales, "u": bob}, "BAD_USER_INPUT", "userId"},
		{"and only to their own queues", "cora@acme.example", `mutation($q: ID!, $u: ID!) { addQueueAgent(queueId: $q, userId: $u) { id } }`, map[string]any{"q": support, "u": alice}, "NOT_FOUND", ""},
		{"an office manager adds an agent", "olivia@acme.example", `mutation($q: ID!, $u: ID!) { addQueueAgent(queueId: $q, userId: $u) { id } }`, map[string]any{"q": sales, "u": adam}, "", ""},
		{"a site manager does not assign a supervisor outside its reach", "sam@acme.example", `mutation($q: ID!, $u: ID!) { assignQueueSupervisor(queueId: $q, userId: $u) { id } }`, map[string]any{"q": sales, "u": carl}, "FORBIDDEN", ""},
		{"an office manager assigns a supervisor of another site", "olivia@acme.example", `mutation($q: ID!, $u: ID!) { assignQueueSupervisor(queueId: $q, userId: $u) { id } }`, map[string]any{"q": sales, "u": carl}, "", ""},
		{"but not to another site's", "sam@acme.example", `mutation($q: ID!, $u: ID!) { assignQueueSupervisor(queueId: $q, userId: $u) { id } }`, map[string]any{"q": support, "u": cora}, "NOT_FOUND", ""},
		{"supervisors do not choose supervisors", "cora@acme.example", `mutation($q: ID!, $u: ID!) { assignQueueSupervisor(queueId: $q, userId: $u) { id } }`, map[string]any{"q": sales, "u": carl}, "FORBIDDEN", ""},
		{"an agent logs itself in", "alice@acme.example", `mutation($q: ID!) { agentLogin(queueId: $q) { loggedIn status } }`, map[string]any{"q": sales}, "", ""},
		{"an agent does not log others in", "alice@acme.example", `mutation($q: ID!, $a: ID!) { agentLogout(queueId: $q, agentId: $a) { loggedIn } }`, map[string]any{"q": sales, "a": adam}, "FORBIDDEN", ""},
		{"a supervisor sets its agent's status", "cora@acme.example", `mutation($q: ID!, $a: ID!) { setAgentStatus(queueId: $q, agentId: $a, status: BREAK) { status } }`, map[string]any{"q": sales, "a": alice}, "", ""},
		{"a user who is no agent of the queue", "bob@acme.example", `mutation($q: ID!) { agentLogin(queueId: $q) { loggedIn } }`, map[string]any{"q": sales}, "NOT_FOUND", ""},
		// §3.9 self-administration
		{"buttons are READ by default", "bob@acme.example", `mutation { setMyButtons(buttons: [{position: 1, feature: "park"}]) { id } }`, nil, "FORBIDDEN", ""},
		{"call handling is WRITE by default", "bob@acme.example", `mutation { updateMyCallHandling(input: {doNotDisturb: true, forwardTo: "+15550123"}) { doNotDisturb forwardTo } }`, nil, "", ""},
		{"a PIN is digits", "bob@acme.example", `mutation { updateMyProfile(input: {voicemailPin: "12ab"}) { id } }`, nil, "BAD_USER_INPUT", "voicemailPin"},
		{"a personal directory entry of one's own", "bob@acme.example", `mutation($u: ID!) { createPersonalDirectoryEntry(input: {ownerID: $u, name: "Mum", number: "+15550999"}) { id } }`, map[string]any{"u": bob}, "", ""},
		{"not in another's", "bob@acme.example", `mutation($u: ID!) { createPersonalDirectoryEntry(input: {ownerID: $u, name: "Mum", number: "+15550999"}) { id } }`, map[string]any{"u": bea}, "FORBIDDEN", ""},
		// §3.7 sites, §3.13 contacts
		{"office managers create sites", "olivia@acme.example", `mutation($d: ID!) { createSite(input: {domainID: $d, name: "East"}) { id } }`, map[string]any{"d": acme}, "", ""},
		{"site managers do not", "sam@acme.example", `mutation($d: ID!) { createSite(input: {domainID: $d, name: "West"}) { id } }`, map[string]any{"d": acme}, "FORBIDDEN", ""},
		{"office managers edit contacts", "oscar@acme.example", `mutation($d: ID!) { createContact(input: {domainID: $d, name: "Vendor", phone: "+15550777"}) { id } }`, map[string]any{"d": acme}, "", ""},
		{"basic users do not", "bob@acme.example", `mutation($d: ID!) { createContact(input: {domainID: $d, name: "Vendor", phone: "+15550777"}) { id } }`, map[string]any{"d": acme}, "FORBIDDEN", ""},
	}
	runMutationCases(t, p, tests)
}

// TestMutationsTakeEffectAtOnce: docs/product.md §3.15 through the API itself.
func TestMutationsTakeEffectAtOnce(t *testing.T) {
	p := startPortal(t)
	id := ids{p}
	bob, cora, sales := id.user("bob@acme.example"), id.user("cora@acme.example"), id.queue("Sales")
	count := func(persona, root string) int {
		var d map[string]struct{ TotalCount int }
		if errs := p.as(persona, fmt.Sprintf(`{ %s { totalCount } }`, root), nil, &d); len(errs) > 0 {
			t.Fatalf("%s %s: %+v", persona, root, errs)
		}
		return d[root].TotalCount
	}
	// Remove cora from Sales: on her very next request she sees neither the
	// queue nor alice's private fields.
	if errs := p.as("olivia@acme.example", `mutation($q: ID!, $u: ID!) { removeQueueSupervisor(queueId: $q, userId: $u) { id } }`,
		map[string]any{"q": sales, "u": cora}, nil); len(errs) > 0 {
		t.Fatal(errs)
	}
	if n := count("cora@acme.example", "callQueues"); n != 0 {
		t.Errorf("cora still sees %d queues", n)
	}
	r := p.do(p.tokenFor("cora@acme.example"), `{ users(where: {extension: "130"}) { edges { node { email } } } }`, nil)
	if !slices.Equal(codes(r.Errors), []string{"FORBIDDEN"}) {
		t.Errorf("cora reads alice's email after removal: %s %v", r.Data, codes(r.Errors))
	}
	// Turn off bob's replayOwn: his own recordings disappear.
	if n := count("bob@acme.example", "recordings"); n != 3 {
		t.Fatalf("bob replays %d recordings, want 3", n)
	}
	if errs := p.as("olivia@acme.example", `mutation($u: ID!) { updateMediaManagerRights(userId: $u, input: {mediaManagerReplay: true, replayAll: false, replayOwn: false, replayGroupIDs: [], replayOthers: "", downloadRecordings: false}) { id } }`,
		map[string]any{"u": bob}, nil); len(errs) > 0 {
		t.Fatal(errs)
	}
	if n := count("bob@acme.example", "recordings"); n != 0 {
		t.Errorf("bob still replays %d recordings after replayOwn was turned off", n)
	}
	// The wizard: login says so until the user completes it.
	if errs := p.as("olivia@acme.example", `mutation($u: ID!) { updateSelfAdminAccess(userId: $u, input: {runEndUserWizard: true, buttonProgramming: WRITE}) { id } }`,
		map[string]any{"u": bob}, nil); len(errs) > 0 {
		t.Fatal(errs)
	}
	login := func() bool {
		var d struct{ Login struct{ MustRunWizard bool } }
		if errs := p.as("bob@acme.example", `mutation { login(input: {username: "bob@acme.example", password: "demo-password"}) { mustRunWizard } }`, nil, &d); len(errs) > 0 {
			t.Fatal(errs)
		}
		return d.Login.MustRunWizard
	}
	if !login() {
		t.Error("login does not ask for the wizard")
	}
	if errs := p.as("bob@acme.example", `mutation { setMyButtons(buttons: [{position: 1, label: "Park", feature: "park"}]) { buttons { label } } }`, nil, nil); len(errs) > 0 {
		t.Errorf("buttons with WRITE access: %+v", errs)
	}
	if errs := p.as("bob@acme.example", `mutation { completeEndUserWizard { id } }`, nil, nil); len(errs) > 0 || login() {
		t.Errorf("the wizard is still asked for after completion (%+v)", errs)
	}
	// The audit log names actor, action, target and fields, and never a secret.
	if errs := p.as("bob@acme.example", `mutation($u: ID!) { resetPassword(userId: $u, newPassword: "sekrit-password") { id } }`,
		map[string]any{"u": bob}, nil); len(errs) > 0 {
		t.Fatal(errs)
	}
	ev := p.app.Client.AuditEvent.Query().Where(auditevent.Action("resetPassword")).OnlyX(context.Background())
	if ev.ActorID != bob || ev.TargetType != ent.TypeUser || !slices.Equal(ev.ChangedFields, []string{"password"}) {
		t.Errorf("audit event %+v", ev)
	}
	var d struct {
		AuditEvents struct {
			Edges []struct{ Node map[string]any }
		}
	}
	p.as("olivia@acme.example", `{ auditEvents(first: 100) { edges { node { action targetType changedFields } } } }`, nil, &d)
	raw, _ := json.Marshal(d)
	if !strings.Contains(string(raw), "resetPassword") || strings.Contains(string(raw), "sekrit") || strings.Contains(string(raw), "$2a$") {
		t.Errorf("olivia's audit log: %s", raw)
	}
}

// mutationCase is one mutation by one persona, and its expected outcome.
type mutationCase struct {
	name, persona, query string
	vars                 map[string]any
	wantCode, wantField  string // "" = success
}

// runMutationCases runs each case in order. A refusal must carry its code
// (and field) and change nothing; a success must write an audit event.
func runMutationCases(t *testing.T, p *portal, tests []mutationCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := p.fingerprint()
			audits := p.app.Client.AuditEvent.Query().CountX(context.Background())
			r := p.do(p.tokenFor(tt.persona), tt.query, tt.vars)
			if tt.wantCode == "" {
				if len(r.Errors) > 0 {
					t.Fatalf("errors: %+v", r.Errors)
				}
				if n := p.app.Client.AuditEvent.Query().CountX(context.Background()); n <= audits {
					t.Errorf("no audit event written")
				}
				return
			}
			if len(r.Errors) != 1 || r.Errors[0].code() != tt.wantCode {
				t.Fatalf("errors %+v, want one %s", r.Errors, tt.wantCode)
			}
			if field, _ := r.Errors[0].Extensions["field"].(string); field != tt.wantField {
				t.Errorf("extensions.field = %q, want %q", field, tt.wantField)
			}
			if p.fingerprint() != before {
				t.Errorf("a refused mutation changed the database")
			}
		})
	}
}

// TestCrudWithinReach: creating, editing and deleting users, sites, queues,
// groups, contacts and personal directory entries, each within the editor's
// reach only (docs/product.md §3.4, §3.7, §3.8, §3.13).
func TestCrudWithinReach(t *testing.T) {
	p := startPortal(t)
	id := ids{p}
	ctx := context.Background()
	c := p.app.Client
	bob, bea, cora, olivia, alice := id.user("bob@acme.example"), id.user("bea@acme.example"), id.user("cora@acme.example"),
		id.user("olivia@acme.example"), id.user("alice@acme.example")
	sales, support, reception := id.queue("Sales"), id.queue("Support"), id.group("Reception")
	acme := c.Domain.Query().Where(domain.Name("acme.example")).OnlyIDX(ctx)
	north := c.Site.Query().Where(site.Name("North")).OnlyIDX(ctx)
	south := c.Site.Query().Where(site.Name("South")).OnlyIDX(ctx)
	var east, entry, contact int
	p.inTx(func(tx *ent.Client) error {
		east = tx.Site.Create().SetDomainID(acme).SetName("East").SaveX(ctx).ID
		entry = tx.PersonalDirectoryEntry.Create().SetOwnerID(bob).SetName("Mum").SetNumber("+15550999").SaveX(ctx).ID
		contact = tx.Contact.Create().SetDomainID(acme).SetName("Temp").SetPhone("+15550111").SaveX(ctx).ID
		return nil
	})
	v := func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	runMutationCases(t, p, []mutationCase{
		{"a site manager creates a queue on its site", "sam@acme.example", `mutation($d: ID!, $s: ID!) { createCallQueue(input: {domainID: $d, siteID: $s, name: "North Help", extension: "610"}) { id } }`, v("d", acme, "s", north), "", ""},
		{"not on another site", "sam@acme.example", `mutation($d: ID!, $s: ID!) { createCallQueue(input: {domainID: $d, siteID: $s, name: "South Help", extension: "611"}) { id } }`, v("d", acme, "s", south), "FORBIDDEN", ""},
		{"a site manager edits a lower rank of its site", "sam@acme.example", `mutation($u: ID!) { updateUser(id: $u, input: {department: "Sales"}) { department } }`, v("u", cora), "", ""},
		{"but may not move it to another site", "sam@acme.example", `mutation($u: ID!, $s: ID!) { updateUser(id: $u, input: {siteID: $s}) { id } }`, v("u", cora, "s", south), "FORBIDDEN", ""},
		{"nor edit a higher rank", "sam@acme.example", `mutation($u: ID!) { updateUser(id: $u, input: {department: "x"}) { id } }`, v("u", olivia), "FORBIDDEN", ""},
		{"an office manager renames a queue", "olivia@acme.example", `mutation($q: ID!) { updateCallQueue(id: $q, input: {name: "Sales EMEA"}) { name } }`, v("q", sales), "", ""},
		{"a supervisor does not", "cora@acme.example", `mutation($q: ID!) { updateCallQueue(id: $q, input: {name: "Mine"}) { name } }`, v("q", sales), "FORBIDDEN", ""},
		{"a supervisor removes its agent", "cora@acme.example", `mutation($q: ID!, $u: ID!) { removeQueueAgent(queueId: $q, userId: $u) { id } }`, v("q", sales, "u", alice), "", ""},
		{"an office manager deletes a queue with its agents", "olivia@acme.example", `mutation($q: ID!) { deleteCallQueue(id: $q) }`, v("q", support), "", ""},
		{"an office manager creates a group", "olivia@acme.example", `mutation($d: ID!) { createGroup(input: {domainID: $d, name: "Night", extension: "701"}) { id } }`, v("d", acme), "", ""},
		{"a basic user does not", "bob@acme.example", `mutation($d: ID!) { createGroup(input: {domainID: $d, name: "Mine", extension: "702"}) { id } }`, v("d", acme), "FORBIDDEN", ""},
		{"an office manager renames a group", "oscar@acme.example", `mutation($g: ID!) { updateGroup(id: $g, input: {name: "Front Desk"}) { name } }`, v("g", reception), "", ""},
		{"an office manager edits a contact", "olivia@acme.example", `mutation($c: ID!) { updateContact(id: $c, input: {phone: "+15550112"}) { phone } }`, v("c", contact), "", ""},
		{"a basic user does not", "bob@acme.example", `mutation($c: ID!) { updateContact(id: $c, input: {phone: "+1"}) { phone } }`, v("c", contact), "FORBIDDEN", ""},
		{"another domain cannot see it", "gina@globex.example", `mutation($c: ID!) { deleteContact(id: $c) }`, v("c", contact), "NOT_FOUND", ""},
		{"an office manager deletes it", "olivia@acme.example", `mutation($c: ID!) { deleteContact(id: $c) }`, v("c", contact), "", ""},
		{"a user edits its own directory entry", "bob@acme.example", `mutation($e: ID!) { updatePersonalDirectoryEntry(id: $e, input: {name: "Mother"}) { name } }`, v("e", entry), "", ""},
		{"another's is not even visible", "bea@acme.example", `mutation($e: ID!) { deletePersonalDirectoryEntry(id: $e) }`, v("e", entry), "NOT_FOUND", ""},
		{"and deletes it", "bob@acme.example", `mutation($e: ID!) { deletePersonalDirectoryEntry(id: $e) }`, v("e", entry), "", ""},
		{"a site with users is not deleted", "olivia@acme.example", `mutation($s: ID!) { deleteSite(id: $s) }`, v("s", south), "CONFLICT", ""},
		{"an empty one is", "olivia@acme.example", `mutation($s: ID!) { deleteSite(id: $s) }`, v("s", east), "", ""},
		{"a site manager does not rename its site", "sam@acme.example", `mutation($s: ID!) { updateSite(id: $s, input: {name: "North HQ"}) { name } }`, v("s", north), "FORBIDDEN", ""},
		{"an office manager does", "olivia@acme.example", `mutation($s: ID!) { updateSite(id: $s, input: {name: "North HQ"}) { name } }`, v("s", north), "", ""},
		{"a user updates its profile", "bob@acme.example", `mutation { updateMyProfile(input: {email: "bob@new.example", voicemailPin: "2468", department: "Ops"}) { email department } }`, nil, "", ""},
		{"a basic user deletes nobody", "bob@acme.example", `mutation($u: ID!) { deleteUser(id: $u) }`, v("u", bea), "FORBIDDEN", ""},
		{"nobody deletes itself", "olivia@acme.example", `mutation($u: ID!) { deleteUser(id: $u) }`, v("u", olivia), "BAD_USER_INPUT", "id"},
		{"an office manager deletes a user", "olivia@acme.example", `mutation($u: ID!) { deleteUser(id: $u) }`, v("u", bea), "", ""},
	})
	// The PIN is stored hashed and never readable.
	u := c.User.GetX(ctx, bob)
	if u.VoicemailPinHash == "" || u.VoicemailPinHash == "2468" || *u.Email != "bob@new.example" {
		t.Errorf("bob after updateMyProfile: email %v, pin stored as %v", u.Email, u.VoicemailPinHash)
	}
	if n := c.QueueAgent.Query().CountX(ctx); n != 0 {
		t.Errorf("%d queue memberships left; Support's and alice's were removed", n)
	}
}

// TestScopeDelegation: under OFFICE_MANAGERS scope management an office
// manager changes scopes, but never above its own rank (docs/product.md §3.6).
func TestScopeDelegation(t *testing.T) {
	p := startPortal(t)
	id := ids{p}
	acme := p.app.Client.Domain.Query().Where(domain.Name("acme.example")).OnlyIDX(context.Background())
	bob := id.user("bob@acme.example")
	const set = `mutation($u: ID!, $s: UserScope!) { setUserScope(userId: $u, scope: $s) { id } }`
	runMutationCases(t, p, []mutationCase{
		{"only support changes a domain", "olivia@acme.example", `mutation($d: ID!) { updateDomain(id: $d, input: {scopeManagement: OFFICE_MANAGERS}) { id } }`, map[string]any{"d": acme}, "FORBIDDEN", ""},
		{"support delegates scope management", "support@provider.example", `mutation($d: ID!) { updateDomain(id: $d, input: {scopeManagement: OFFICE_MANAGERS}) { id } }`, map[string]any{"d": acme}, "", ""},
		{"an office manager now changes a scope", "olivia@acme.example", set, map[string]any{"u": bob, "s": "SITE_MANAGER"}, "", ""},
		{"but never above its own", "olivia@acme.example", set, map[string]any{"u": bob, "s": "SUPPORT"}, "FORBIDDEN", ""},
		{"a site manager never", "sam@acme.example", set, map[string]any{"u": id.user("cora@acme.example"), "s": "BASIC_USER"}, "FORBIDDEN", ""},
	})
	// bob is a site manager of North from his very next request.
	var d struct{ Users struct{ TotalCount int } }
	p.as("bob@acme.example", `{ users(where: {extension: "190"}) { totalCount } }`, nil, &d)
	if d.Users.TotalCount != 1 {
		t.Errorf("bob as site manager does not reach nina (North)")
	}
}
