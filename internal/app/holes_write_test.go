package app_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/site"
	"github.com/pbxportal/pbxportal/ent/user"
)

// kv builds a request's variables from name, value pairs.
func kv(pairs ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(pairs); i += 2 {
		m[pairs[i].(string)] = pairs[i+1]
	}
	return m
}

// mutationInputs walks the GraphQL schema: every argument of every mutation,
// and every field of the input objects they take (recursively), keyed
// "mutation.arg[.field…]", with its type. Code added later is enumerated
// too, so the tests below cover it or fail.
func mutationInputs() map[string]*ast.Type {
	s := servedSchema()
	out := map[string]*ast.Type{}
	var walk func(path string, t *ast.Type, seen []string)
	walk = func(path string, t *ast.Type, seen []string) {
		out[path] = t
		def := s.Types[t.Name()]
		if def == nil || def.Kind != ast.InputObject || slices.Contains(seen, def.Name) {
			return
		}
		for _, f := range def.Fields {
			walk(path+"."+f.Name, f.Type, append(slices.Clone(seen), def.Name))
		}
	}
	for _, f := range s.Mutation.Fields {
		for _, a := range f.Arguments {
			walk(f.Name+"."+a.Name, a.Type, nil)
		}
	}
	return out
}

// writeFixture is what the write-path tests need beyond the demo: objects a
// site manager of North cannot see, objects of a second domain, and objects
// made to be deleted.
type writeFixture struct {
	acme, globex, provider                   int
	north, south, east, globexSite           int
	sysSouth, ann, sid, tmpUser              int
	globexGroup, globexQueue, tmpQueue       int
	bobEntry, tmpEntry, beaEntry, gusEntry   int
	tmpContact, globexContact, globexSysUser int
	oliviaEntry, southGroup, carl, adam      int
	bob, bea, cora, alice, olivia, nina, gus int
	sales, support, reception                int
}

func newWriteFixture(t *testing.T, p *portal) writeFixture {
	t.Helper()
	ctx := context.Background()
	c := p.app.Client
	id := ids{p}
	f := writeFixture{
		acme:     c.Domain.Query().Where(domain.Name("acme.example")).OnlyIDX(ctx),
		globex:   c.Domain.Query().Where(domain.Name("globex.example")).OnlyIDX(ctx),
		provider: c.Domain.Query().Where(domain.Name("provider.example")).OnlyIDX(ctx),
		north:    c.Site.Query().Where(site.Name("North")).OnlyIDX(ctx),
		south:    c.Site.Query().Where(site.Name("South")).OnlyIDX(ctx),
		bob:      id.user("bob@acme.example"), bea: id.user("bea@acme.example"), cora: id.user("cora@acme.example"),
		alice: id.user("alice@acme.example"), olivia: id.user("olivia@acme.example"), nina: id.user("nina@acme.example"),
		gus: id.user("gus@globex.example"), carl: id.user("carl@acme.example"), adam: id.user("adam@acme.example"),
		sales: id.queue("Sales"), support: id.queue("Support"), reception: id.group("Reception"),
	}
	p.inTx(func(tx *ent.Client) error {
		portalUser := func(name string, domainID, siteID int, scope user.Scope) int {
			c := tx.User.Create().SetDomainID(domainID).SetUsername(name).SetEmail(name).SetDisplayName(name).
				SetExtension(fmt.Sprint(len(name))).SetScope(scope).SetVoicePortalAccess(true).SetPasswordHash("x")
			if siteID != 0 {
				c.SetSiteID(siteID)
			}
			return c.SaveX(ctx).ID
		}
		f.east = tx.Site.Create().SetDomainID(f.acme).SetName("East").SaveX(ctx).ID
		f.globexSite = tx.Site.Create().SetDomainID(f.globex).SetName("Globex HQ").SaveX(ctx).ID
		f.sysSouth = tx.User.Create().SetDomainID(f.acme).SetSiteID(f.south).SetUsername("sys-south").SetDisplayName("System South").
			SetExtension("191").SetScope(user.ScopeNO_PORTAL).SetPasswordHash("x").SaveX(ctx).ID
		f.globexSysUser = tx.User.Create().SetDomainID(f.globex).SetUsername("sys-globex").SetDisplayName("System Globex").
			SetExtension("191").SetScope(user.ScopeNO_PORTAL).SetPasswordHash("x").SaveX(ctx).ID
		f.ann = portalUser("ann@acme.example", f.acme, f.north, user.ScopeCALL_CENTER_AGENT)
		f.sid = portalUser("sid@acme.example", f.acme, f.north, user.ScopeCALL_CENTER_SUPERVISOR)
		f.tmpUser = portalUser("tmp@acme.example", f.acme, f.north, user.ScopeBASIC_USER)
		tx.QueueAgent.Create().SetQueueID(f.sales).SetUserID(f.ann).ExecX(ctx)
		tx.CallQueue.UpdateOneID(f.sales).AddSupervisorIDs(f.sid).ExecX(ctx)
		f.globexGroup = tx.Group.Create().SetDomainID(f.globex).SetName("Globex Hunt").SetExtension("700").SaveX(ctx).ID
		f.globexQueue = tx.CallQueue.Create().SetDomainID(f.globex).SetName("Globex Line").SetExtension("600").SaveX(ctx).ID
		f.tmpQueue = tx.CallQueue.Create().SetDomainID(f.acme).SetSiteID(f.north).SetName("Temp").SetExtension("690").SaveX(ctx).ID
		entry := func(owner int) int {
			return tx.PersonalDirectoryEntry.Create().SetOwnerID(owner).SetName("Mum").SetNumber("+15550999").SaveX(ctx).ID
		}
		f.bobEntry, f.tmpEntry, f.beaEntry, f.gusEntry = entry(f.bob), entry(f.bob), entry(f.bea), entry(f.gus)
		f.oliviaEntry = entry(f.olivia)
		f.southGroup = tx.Group.Create().SetDomainID(f.acme).SetSiteID(f.south).SetName("South Hunt").SetExtension("710").SaveX(ctx).ID
		f.tmpContact = tx.Contact.Create().SetDomainID(f.acme).SetName("Temp").SetPhone("+15550111").SaveX(ctx).ID
		f.globexContact = tx.Contact.Create().SetDomainID(f.globex).SetName("Globex Temp").SetPhone("+15550112").SaveX(ctx).ID
		return nil
	})
	return f
}

// idCase is how to name one id slot of a mutation: a persona, a request
// whose $x is that slot, and the other variables; valid is an id that
// resolves (the control), invisible one the persona cannot see, foreign one
// of another domain.
type idCase struct {
	persona, query            string
	vars                      map[string]any
	valid, invisible, foreign int
	// supportToo: the slot names an object of the target's domain, so even
	// support, who sees every domain, gets NOT_FOUND for another domain's.
	supportToo bool
}

// idCases covers every ID slot of every mutation (see mutationInputs).
func idCases(f writeFixture) map[string]idCase {
	const sam, cora, alice, bob = "sam@acme.example", "cora@acme.example", "alice@acme.example", "bob@acme.example"
	createUser := func(domainVar, siteVar string) string {
		return fmt.Sprintf(`mutation($%[1]s: ID!, $%[2]s: ID) { createUser(password: "a-long-password", input: {domainID: $%[1]s, siteID: $%[2]s, username: "n@acme.example", displayName: "N", extension: "170"}) { id } }`, domainVar, siteVar)
	}
	rights := `mutation($u: ID!, $x: [ID!]!) { updateMediaManagerRights(userId: $u, input: {mediaManagerReplay: true, replayAll: false, replayOwn: true, replayGroupIDs: $x, replayOthers: "", downloadRecordings: false}) { id } }`
	return map[string]idCase{
		"createUser.input.domainID": {sam, createUser("x", "s"), kv("s", f.north), f.acme, f.globex, f.provider, false},
		"createUser.input.siteID":   {sam, createUser("d", "x"), kv("d", f.acme), f.north, f.globexSite, f.globexSite, true},
		"updateUser.id":             {sam, `mutation($x: ID!) { updateUser(id: $x, input: {department: "Ops"}) { id } }`, nil, f.cora, f.sysSouth, f.gus, false},
		"updateUser.input.siteID":   {sam, `mutation($u: ID!, $x: ID!) { updateUser(id: $u, input: {siteID: $x}) { id } }`, kv("u", f.cora), f.north, f.globexSite, f.globexSite, true},
		"deleteUser.id":             {sam, `mutation($x: ID!) { deleteUser(id: $x) }`, nil, f.tmpUser, f.sysSouth, f.gus, false},
		"resetPassword.userId":      {sam, `mutation($x: ID!) { resetPassword(userId: $x, newPassword: "a-new-password") { id } }`, nil, f.bob, f.sysSouth, f.gus, false},
		"changeEmail.userId":        {sam, `mutation($x: ID!) { changeEmail(userId: $x, email: "b@new.example") { id } }`, nil, f.bob, f.sysSouth, f.gus, false},
		"setUserScope.userId":       {sam, `mutation($x: ID!) { setUserScope(userId: $x, scope: BASIC_USER) { id } }`, nil, f.bob, f.sysSouth, f.gus, false},
		"updateMediaManagerRights.userId": {sam, `mutation($x: ID!) { updateMediaManagerRights(userId: $x, input: {mediaManagerReplay: true, replayAll: false, replayOwn: true, replayGroupIDs: [], replayOthers: "", downloadRecordings: false}) { id } }`,
			nil, f.bob, f.sysSouth, f.gus, false},
		"updateMediaManagerRights.input.replayGroupIDs": {sam, rights, kv("u", f.bob), f.reception, f.globexGroup, f.globexGroup, true},
		"updateSelfAdminAccess.userId":                  {sam, `mutation($x: ID!) { updateSelfAdminAccess(userId: $x, input: {profile: WRITE}) { id } }`, nil, f.bob, f.sysSouth, f.gus, false},
		"createPersonalDirectoryEntry.input.ownerID":    {sam, `mutation($x: ID!) { createPersonalDirectoryEntry(input: {ownerID: $x, name: "Dad", number: "+15550998"}) { id } }`, nil, f.bob, f.sysSouth, f.gus, false},
		"updatePersonalDirectoryEntry.id":               {sam, `mutation($x: ID!) { updatePersonalDirectoryEntry(id: $x, input: {name: "Mother"}) { id } }`, nil, f.bobEntry, f.beaEntry, f.gusEntry, false},
		"deletePersonalDirectoryEntry.id":               {sam, `mutation($x: ID!) { deletePersonalDirectoryEntry(id: $x) }`, nil, f.tmpEntry, f.beaEntry, f.gusEntry, false},
		"updateDomain.id":                               {sam, `mutation($x: ID!) { updateDomain(id: $x, input: {callReportingAvailable: true}) { id } }`, nil, f.acme, f.globex, f.provider, false},
		"createSite.input.domainID":                     {sam, `mutation($x: ID!) { createSite(input: {domainID: $x, name: "West"}) { id } }`, nil, f.acme, f.globex, f.provider, false},
		"updateSite.id":                                 {sam, `mutation($x: ID!) { updateSite(id: $x, input: {name: "Renamed"}) { id } }`, nil, f.north, f.globexSite, f.globexSite, false},
		"updateSiteDefaults.id":                         {sam, `mutation($x: ID!) { updateSiteDefaults(id: $x, input: {featurePlan: ADVANCED}) { id } }`, nil, f.north, f.globexSite, f.globexSite, false},
		"deleteSite.id":                                 {sam, `mutation($x: ID!) { deleteSite(id: $x) }`, nil, f.east, f.globexSite, f.globexSite, false},
		"createCallQueue.input.domainID": {sam, `mutation($x: ID!, $s: ID) { createCallQueue(input: {domainID: $x, siteID: $s, name: "Q", extension: "620"}) { id } }`,
			kv("s", f.north), f.acme, f.globex, f.provider, false},
		"createCallQueue.input.siteID": {sam, `mutation($d: ID!, $x: ID) { createCallQueue(input: {domainID: $d, siteID: $x, name: "Q", extension: "621"}) { id } }`,
			kv("d", f.acme), f.north, f.globexSite, f.globexSite, true},
		"updateCallQueue.id":           {sam, `mutation($x: ID!) { updateCallQueue(id: $x, input: {name: "Renamed"}) { id } }`, nil, f.sales, f.support, f.globexQueue, false},
		"updateCallQueue.input.siteID": {sam, `mutation($q: ID!, $x: ID!) { updateCallQueue(id: $q, input: {siteID: $x}) { id } }`, kv("q", f.sales), f.north, f.globexSite, f.globexSite, true},
		"deleteCallQueue.id":           {sam, `mutation($x: ID!) { deleteCallQueue(id: $x) }`, nil, f.tmpQueue, f.support, f.globexQueue, false},
		"createGroup.input.domainID": {sam, `mutation($x: ID!, $s: ID) { createGroup(input: {domainID: $x, siteID: $s, name: "G", extension: "720"}) { id } }`,
			kv("s", f.north), f.acme, f.globex, f.provider, false},
		"createGroup.input.siteID": {sam, `mutation($d: ID!, $x: ID) { createGroup(input: {domainID: $d, siteID: $x, name: "G", extension: "721"}) { id } }`,
			kv("d", f.acme), f.north, f.globexSite, f.globexSite, true},
		"createGroup.input.memberIDs": {sam, `mutation($d: ID!, $s: ID, $x: [ID!]) { createGroup(input: {domainID: $d, siteID: $s, memberIDs: $x, name: "G", extension: "722"}) { id } }`,
			kv("d", f.acme, "s", f.north), f.bob, f.sysSouth, f.gus, true},
		"updateGroup.id":                    {sam, `mutation($x: ID!) { updateGroup(id: $x, input: {name: "Renamed"}) { id } }`, nil, f.reception, f.globexGroup, f.globexGroup, false},
		"updateGroup.input.siteID":          {sam, `mutation($g: ID!, $x: ID!) { updateGroup(id: $g, input: {siteID: $x}) { id } }`, kv("g", f.reception), f.north, f.globexSite, f.globexSite, true},
		"updateGroup.input.addMemberIDs":    {sam, `mutation($g: ID!, $x: [ID!]) { updateGroup(id: $g, input: {addMemberIDs: $x}) { id } }`, kv("g", f.reception), f.ann, f.sysSouth, f.gus, true},
		"updateGroup.input.removeMemberIDs": {sam, `mutation($g: ID!, $x: [ID!]) { updateGroup(id: $g, input: {removeMemberIDs: $x}) { id } }`, kv("g", f.reception), f.bob, f.sysSouth, f.gus, true},
		"createContact.input.domainID":      {sam, `mutation($x: ID!) { createContact(input: {domainID: $x, name: "V", phone: "+15550777"}) { id } }`, nil, f.acme, f.globex, f.provider, false},
		"updateContact.id":                  {sam, `mutation($x: ID!) { updateContact(id: $x, input: {name: "V"}) { id } }`, nil, f.tmpContact, f.globexContact, f.globexContact, false},
		"deleteContact.id":                  {sam, `mutation($x: ID!) { deleteContact(id: $x) }`, nil, f.tmpContact, f.globexContact, f.globexContact, false},
		"assignQueueSupervisor.queueId":     {sam, `mutation($x: ID!, $u: ID!) { assignQueueSupervisor(queueId: $x, userId: $u) { id } }`, kv("u", f.cora), f.sales, f.support, f.globexQueue, false},
		"assignQueueSupervisor.userId":      {sam, `mutation($q: ID!, $x: ID!) { assignQueueSupervisor(queueId: $q, userId: $x) { id } }`, kv("q", f.sales), f.cora, f.sysSouth, f.gus, true},
		"removeQueueSupervisor.queueId":     {sam, `mutation($x: ID!, $u: ID!) { removeQueueSupervisor(queueId: $x, userId: $u) { id } }`, kv("u", f.sid), f.sales, f.support, f.globexQueue, false},
		"removeQueueSupervisor.userId":      {sam, `mutation($q: ID!, $x: ID!) { removeQueueSupervisor(queueId: $q, userId: $x) { id } }`, kv("q", f.sales), f.sid, f.sysSouth, f.gus, true},
		"addQueueAgent.queueId":             {cora, `mutation($x: ID!, $u: ID!) { addQueueAgent(queueId: $x, userId: $u) { id } }`, kv("u", f.alice), f.sales, f.support, f.globexQueue, false},
		"addQueueAgent.userId":              {cora, `mutation($q: ID!, $x: ID!) { addQueueAgent(queueId: $q, userId: $x) { id } }`, kv("q", f.sales), f.alice, f.nina, f.gus, true},
		"removeQueueAgent.queueId":          {cora, `mutation($x: ID!, $u: ID!) { removeQueueAgent(queueId: $x, userId: $u) { id } }`, kv("u", f.ann), f.sales, f.support, f.globexQueue, false},
		"removeQueueAgent.userId":           {cora, `mutation($q: ID!, $x: ID!) { removeQueueAgent(queueId: $q, userId: $x) { id } }`, kv("q", f.sales), f.ann, f.nina, f.gus, true},
		"agentLogin.queueId":                {alice, `mutation($x: ID!) { agentLogin(queueId: $x) { loggedIn } }`, nil, f.sales, f.support, f.globexQueue, false},
		"agentLogin.agentId":                {cora, `mutation($q: ID!, $x: ID) { agentLogin(queueId: $q, agentId: $x) { loggedIn } }`, kv("q", f.sales), f.alice, f.nina, f.gus, true},
		"agentLogout.queueId":               {alice, `mutation($x: ID!) { agentLogout(queueId: $x) { loggedIn } }`, nil, f.sales, f.support, f.globexQueue, false},
		"agentLogout.agentId":               {cora, `mutation($q: ID!, $x: ID) { agentLogout(queueId: $q, agentId: $x) { loggedIn } }`, kv("q", f.sales), f.alice, f.nina, f.gus, true},
		"setAgentStatus.queueId":            {alice, `mutation($x: ID!) { setAgentStatus(queueId: $x, status: BREAK) { status } }`, nil, f.sales, f.support, f.globexQueue, false},
		"setAgentStatus.agentId":            {cora, `mutation($q: ID!, $x: ID) { setAgentStatus(queueId: $q, agentId: $x, status: BREAK) { status } }`, kv("q", f.sales), f.alice, f.nina, f.gus, true},
	}
}

// forbiddenIDs gives, for each ID slot of idCases, an id its persona sees but
// may not use there (FORBIDDEN, not NOT_FOUND), or the reason there is none.
func forbiddenIDs(f writeFixture) (map[string]int, map[string]string) {
	const ownDomain = "the persona sees no domain but its own, where it may do this"
	const managedQueues = "the persona sees only the queues it may do this to"
	const visibility = "the slot needs only visibility"
	const logging = "logging agents is decided on the queue"
	return map[string]int{
			"createUser.input.siteID": f.south, "updateUser.id": f.olivia, "updateUser.input.siteID": f.south,
			"deleteUser.id": f.olivia, "resetPassword.userId": f.olivia, "changeEmail.userId": f.olivia,
			"setUserScope.userId": f.bob, "updateMediaManagerRights.userId": f.olivia, "updateSelfAdminAccess.userId": f.olivia,
			"createPersonalDirectoryEntry.input.ownerID": f.olivia, "updatePersonalDirectoryEntry.id": f.oliviaEntry,
			"deletePersonalDirectoryEntry.id": f.oliviaEntry, "updateDomain.id": f.acme, "createSite.input.domainID": f.acme,
			"updateSite.id": f.north, "updateSiteDefaults.id": f.south, "deleteSite.id": f.south,
			"createCallQueue.input.siteID": f.south, "updateCallQueue.input.siteID": f.south,
			"createGroup.input.siteID": f.south, "createGroup.input.memberIDs": f.bea, "updateGroup.id": f.southGroup,
			"updateGroup.input.siteID": f.south, "updateGroup.input.addMemberIDs": f.bea, "updateGroup.input.removeMemberIDs": f.bea,
			"createContact.input.domainID": f.acme, "updateContact.id": f.tmpContact, "deleteContact.id": f.tmpContact,
			"assignQueueSupervisor.userId": f.carl, "removeQueueSupervisor.userId": f.carl, "removeQueueAgent.userId": f.adam,
		}, map[string]string{
			"createUser.input.domainID": ownDomain, "createCallQueue.input.domainID": ownDomain, "createGroup.input.domainID": ownDomain,
			"updateCallQueue.id": managedQueues, "deleteCallQueue.id": managedQueues, "assignQueueSupervisor.queueId": managedQueues,
			"removeQueueSupervisor.queueId": managedQueues, "addQueueAgent.queueId": managedQueues, "removeQueueAgent.queueId": managedQueues,
			"agentLogin.queueId": managedQueues, "agentLogout.queueId": managedQueues, "setAgentStatus.queueId": managedQueues,
			"updateMediaManagerRights.input.replayGroupIDs": visibility,
			"addQueueAgent.userId":                          "a supervisor may add any agent of its domain it sees",
			"agentLogin.agentId":                            logging, "agentLogout.agentId": logging, "setAgentStatus.agentId": logging,
		}
}

// TestEveryMutationIDResolvesThroughVisibility: for every ID argument or
// input field of every mutation (found by walking the schema), an id that
// does not exist, one the persona cannot see and one of another domain all
// answer NOT_FOUND with the same message, and write nothing; an id it sees
// but may not use there answers FORBIDDEN; the valid id gets past
// resolution (it is not NOT_FOUND).
func TestEveryMutationIDResolvesThroughVisibility(t *testing.T) {
	p := startPortal(t)
	f := newWriteFixture(t, p)
	cases := idCases(f)
	forbidden, noForbidden := forbiddenIDs(f)
	var slots []string
	lists := map[string]bool{}
	for path, typ := range mutationInputs() {
		if typ.Name() == "ID" {
			slots = append(slots, path)
			lists[path] = typ.Elem != nil
		}
	}
	sort.Strings(slots)
	for name := range cases {
		if !slices.Contains(slots, name) {
			t.Errorf("case %s names no ID slot of the schema", name)
		}
	}
	for _, slot := range slots {
		t.Run(slot, func(t *testing.T) {
			tc, ok := cases[slot]
			if !ok {
				t.Fatalf("mutation input %s is an ID with no case in idCases: add one", slot)
			}
			arg := func(id int) any {
				if lists[slot] {
					return []any{id}
				}
				return id
			}
			with := func(id int) map[string]any {
				vars := map[string]any{"x": arg(id)}
				for k, val := range tc.vars {
					vars[k] = val
				}
				return vars
			}
			try := func(persona, label string, id int) {
				before := p.fingerprint()
				r := p.do(p.tokenFor(persona), tc.query, with(id))
				if len(r.Errors) != 1 || r.Errors[0].code() != "NOT_FOUND" || r.Errors[0].Message != "not found" {
					t.Errorf("%s as %s: errors %+v, want one NOT_FOUND \"not found\"", label, persona, r.Errors)
				}
				if p.fingerprint() != before {
					t.Errorf("%s as %s: the refused mutation changed the database", label, persona)
				}
			}
			if id, ok := forbidden[slot]; ok {
				before := p.fingerprint()
				r := p.do(p.tokenFor(tc.persona), tc.query, with(id))
				if len(r.Errors) != 1 || r.Errors[0].code() != "FORBIDDEN" {
					t.Errorf("an id %s sees but may not use: errors %+v, want one FORBIDDEN", tc.persona, r.Errors)
				}
				if p.fingerprint() != before {
					t.Errorf("the forbidden mutation changed the database")
				}
			} else if _, ok := noForbidden[slot]; !ok {
				t.Errorf("%s has neither a visible-but-forbidden id in forbiddenIDs nor the reason it has none", slot)
			}
			try(tc.persona, "a nonexistent id", tc.valid+1_000_000)
			try(tc.persona, "an id the persona cannot see", tc.invisible)
			try(tc.persona, "an id of another domain", tc.foreign)
			if tc.supportToo {
				try("support@provider.example", "an id of another domain", tc.foreign)
			}
			// The control: the valid id resolves, so the answers above came
			// from the slot under test.
			r := p.do(p.tokenFor(tc.persona), tc.query, with(tc.valid))
			for _, e := range r.Errors {
				if e.code() == "NOT_FOUND" || strings.HasPrefix(e.code(), "GRAPHQL_") {
					t.Errorf("the valid id as %s: %+v; the case does not test its slot", tc.persona, e)
				}
			}
		})
	}
}

// placementField is an input field that places an object in a site or a domain.
var placementField = regexp.MustCompile(`^(siteID|domainID|clearSite|clearDomain)$`)

// TestPlacementNeedsReachOverOldAndNew: every input field that places an
// object (found by walking the schema) is refused when the old or the new
// placement is outside the actor's reach, clearing included, and changes
// nothing; within reach, it works.
func TestPlacementNeedsReachOverOldAndNew(t *testing.T) {
	p := startPortal(t)
	f := newWriteFixture(t, p)
	const sam, cora, olivia = "sam@acme.example", "cora@acme.example", "olivia@acme.example"
	updUser := `mutation($u: ID!, $s: ID, $c: Boolean) { updateUser(id: $u, input: {siteID: $s, clearSite: $c}) { id } }`
	updQueue := `mutation($q: ID!, $s: ID, $c: Boolean) { updateCallQueue(id: $q, input: {siteID: $s, clearSite: $c}) { id } }`
	updGroup := `mutation($g: ID!, $s: ID, $c: Boolean) { updateGroup(id: $g, input: {siteID: $s, clearSite: $c}) { id } }`
	newUser := `mutation($d: ID!, $s: ID) { createUser(password: "a-long-password", input: {domainID: $d, siteID: $s, username: "p@acme.example", displayName: "P", extension: "171"}) { id } }`
	newQueue := `mutation($d: ID!, $s: ID) { createCallQueue(input: {domainID: $d, siteID: $s, name: "P", extension: "630"}) { id } }`
	newGroup := `mutation($d: ID!, $s: ID) { createGroup(input: {domainID: $d, siteID: $s, name: "P", extension: "730"}) { id } }`
	cases := map[string][]mutationCase{
		"updateUser.input.siteID": {
			{"a site manager moves its user to another site", sam, updUser, kv("u", f.cora, "s", f.south), "FORBIDDEN", ""},
			{"a supervisor moves its agent to another site", cora, updUser, kv("u", f.alice, "s", f.south), "FORBIDDEN", ""},
		},
		"updateUser.input.clearSite": {
			{"a site manager clears its user's site", sam, updUser, kv("u", f.cora, "c", true), "FORBIDDEN", ""},
			{"a supervisor clears its agent's site", cora, updUser, kv("u", f.alice, "c", true), "FORBIDDEN", ""},
			{"an office manager clears a site", olivia, updUser, kv("u", f.cora, "c", true), "", ""},
			{"and moves the user back", sam, updUser, kv("u", f.cora, "s", f.north), "FORBIDDEN", ""},
			{"an office manager does", olivia, updUser, kv("u", f.cora, "s", f.north), "", ""},
		},
		"updateCallQueue.input.siteID": {
			{"a site manager moves its queue to another site", sam, updQueue, kv("q", f.sales, "s", f.south), "FORBIDDEN", ""},
		},
		"updateCallQueue.input.clearSite": {
			{"a site manager clears its queue's site", sam, updQueue, kv("q", f.sales, "c", true), "FORBIDDEN", ""},
			{"an office manager does", olivia, updQueue, kv("q", f.tmpQueue, "c", true), "", ""},
		},
		"updateGroup.input.siteID": {
			{"a site manager moves its group to another site", sam, updGroup, kv("g", f.reception, "s", f.south), "FORBIDDEN", ""},
		},
		"updateGroup.input.clearSite": {
			{"a site manager clears its group's site", sam, updGroup, kv("g", f.reception, "c", true), "FORBIDDEN", ""},
			{"a site manager keeping the site changes nothing of its placement", sam, updGroup, kv("g", f.reception, "s", f.north), "", ""},
		},
		"createUser.input.siteID": {
			{"a site manager creates a user on another site", sam, newUser, kv("d", f.acme, "s", f.south), "FORBIDDEN", ""},
		},
		"createUser.input.domainID": {
			{"a site manager creates a user with no site", sam, newUser, kv("d", f.acme), "FORBIDDEN", ""},
		},
		"createCallQueue.input.siteID": {
			{"a site manager creates a queue on another site", sam, newQueue, kv("d", f.acme, "s", f.south), "FORBIDDEN", ""},
		},
		"createCallQueue.input.domainID": {
			{"a site manager creates a queue with no site", sam, newQueue, kv("d", f.acme), "FORBIDDEN", ""},
		},
		"createGroup.input.siteID": {
			{"a site manager creates a group on another site", sam, newGroup, kv("d", f.acme, "s", f.south), "FORBIDDEN", ""},
			{"and on its own", sam, newGroup, kv("d", f.acme, "s", f.north), "", ""},
		},
		"createGroup.input.domainID": {
			{"a site manager creates a group with no site", sam, newGroup, kv("d", f.acme), "FORBIDDEN", ""},
		},
		"createSite.input.domainID": {
			{"a site manager creates a site", sam, `mutation($d: ID!) { createSite(input: {domainID: $d, name: "West"}) { id } }`, kv("d", f.acme), "FORBIDDEN", ""},
		},
		"createContact.input.domainID": {
			{"a site manager creates a contact", sam, `mutation($d: ID!) { createContact(input: {domainID: $d, name: "V", phone: "+15550777"}) { id } }`, kv("d", f.acme), "FORBIDDEN", ""},
		},
	}
	var slots []string
	for path := range mutationInputs() {
		if placementField.MatchString(path[strings.LastIndex(path, ".")+1:]) {
			slots = append(slots, path)
		}
	}
	sort.Strings(slots)
	for name := range cases {
		if !slices.Contains(slots, name) {
			t.Errorf("case %s names no placement field of the schema", name)
		}
	}
	for _, slot := range slots {
		t.Run(slot, func(t *testing.T) {
			tests, ok := cases[slot]
			if !ok {
				t.Fatalf("mutation input %s places an object and has no case: add one", slot)
			}
			refused := false
			for _, tt := range tests {
				refused = refused || tt.wantCode == "FORBIDDEN"
			}
			if !refused {
				t.Errorf("no case refuses a placement out of reach through %s", slot)
			}
			runMutationCases(t, p, tests)
		})
	}
}

// TestSiteManagersReadEveryUserOfTheirSite: a site manager reads the private
// fields and self-administration data of every user of its site, office
// managers included; the rank rule limits only what it edits.
func TestSiteManagersReadEveryUserOfTheirSite(t *testing.T) {
	p := startPortal(t)
	ctx := context.Background()
	olivia := ids{p}.user("olivia@acme.example")
	var entry int
	p.inTx(func(tx *ent.Client) error {
		entry = tx.PersonalDirectoryEntry.Create().SetOwnerID(olivia).SetName("Mum").SetNumber("+15550999").SaveX(ctx).ID
		tx.Button.Create().SetOwnerID(olivia).SetPosition(1).SetFeature("park").ExecX(ctx)
		tx.User.UpdateOneID(olivia).SetForwardTo("+15550100").ExecX(ctx)
		return nil
	})
	const read = `query($u: ID!) { node(id: $u) { ... on User { email username scope callHandlingAccess forwardTo doNotDisturb
		personalDirectoryEntries { id } buttons { feature } } } }`
	tests := []struct {
		persona string
		denied  bool
	}{
		{"sam@acme.example", false}, // site manager of olivia's site
		{"sue@acme.example", true},  // site manager of another site
		{"bob@acme.example", true},  // a basic user of her site
	}
	for _, tt := range tests {
		t.Run(tt.persona, func(t *testing.T) {
			var out struct {
				Node struct {
					Email                    *string
					ForwardTo                *string
					PersonalDirectoryEntries []struct{ ID string }
					Buttons                  []struct{ Feature string }
				}
			}
			errs := p.as(tt.persona, read, map[string]any{"u": olivia}, &out)
			if tt.denied {
				if len(errs) != 8 || slices.ContainsFunc(errs, func(e gqlError) bool { return e.code() != "FORBIDDEN" }) {
					t.Errorf("errors %v, want 8 FORBIDDEN fields", codes(errs))
				}
				return
			}
			if len(errs) > 0 {
				t.Fatalf("errors: %+v", errs)
			}
			n := out.Node
			if n.Email == nil || n.ForwardTo == nil || *n.ForwardTo != "+15550100" || len(n.PersonalDirectoryEntries) != 1 || len(n.Buttons) != 1 {
				t.Errorf("olivia as seen by %s: %+v", tt.persona, n)
			}
		})
	}
	// Reading is not editing: sam still edits nothing of olivia's, and her
	// entry, now visible to him, is FORBIDDEN rather than NOT_FOUND.
	runMutationCases(t, p, []mutationCase{
		{"sam does not edit the office manager", "sam@acme.example", `mutation($u: ID!) { updateUser(id: $u, input: {department: "x"}) { id } }`, map[string]any{"u": olivia}, "FORBIDDEN", ""},
		{"nor her directory entry, which he sees", "sam@acme.example", `mutation($e: ID!) { updatePersonalDirectoryEntry(id: $e, input: {name: "x"}) { id } }`, map[string]any{"e": entry}, "FORBIDDEN", ""},
		{"nor delete it", "sam@acme.example", `mutation($e: ID!) { deletePersonalDirectoryEntry(id: $e) }`, map[string]any{"e": entry}, "FORBIDDEN", ""},
		{"to another site's manager it does not exist", "sue@acme.example", `mutation($e: ID!) { deletePersonalDirectoryEntry(id: $e) }`, map[string]any{"e": entry}, "NOT_FOUND", ""},
	})
}

// TestPlanDowngradeKeepsScopes: a domain's plan cannot change to one lacking
// a scope some of its users hold; the message counts them.
func TestPlanDowngradeKeepsScopes(t *testing.T) {
	p := startPortal(t)
	ctx := context.Background()
	c := p.app.Client
	acme := c.Domain.Query().Where(domain.Name("acme.example")).OnlyIDX(ctx)
	globex := c.Domain.Query().Where(domain.Name("globex.example")).OnlyIDX(ctx)
	const set = `mutation($d: ID!, $p: DomainPlan!) { updateDomain(id: $d, input: {plan: $p}) { plan } }`
	tests := []struct {
		name    string
		domain  int
		plan    string
		message string // "" = allowed
	}{
		{"STANDARD lacks supervisors, agents and advanced users", acme, "STANDARD", "5 users"},
		{"ENTERPRISE lacks advanced users", acme, "ENTERPRISE", "1 user"},
		{"an upgrade", globex, "TIERED_ENTERPRISE", ""},
		{"a downgrade nobody's scope needs", globex, "STANDARD", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := p.fingerprint()
			errs := p.as("support@provider.example", set, map[string]any{"d": tt.domain, "p": tt.plan}, nil)
			if tt.message == "" {
				if len(errs) > 0 {
					t.Fatalf("errors: %+v", errs)
				}
				if got := c.Domain.GetX(ctx, tt.domain).Plan; string(got) != tt.plan {
					t.Errorf("plan %s, want %s", got, tt.plan)
				}
				return
			}
			if len(errs) != 1 || errs[0].code() != "BAD_USER_INPUT" || errs[0].Extensions["field"] != "plan" ||
				!strings.Contains(errs[0].Message, tt.message) {
				t.Fatalf("errors %+v, want BAD_USER_INPUT on plan naming %q", errs, tt.message)
			}
			if p.fingerprint() != before || string(c.Domain.GetX(ctx, tt.domain).Plan) != "TIERED_ENTERPRISE" {
				t.Errorf("a refused plan change changed the database")
			}
		})
	}
}

// TestSiteDefaults: office managers (and support) create, rename and delete
// sites; a site manager edits its own site's defaults, which users created on
// the site start with.
func TestSiteDefaults(t *testing.T) {
	p := startPortal(t)
	ctx := context.Background()
	c := p.app.Client
	acme := c.Domain.Query().Where(domain.Name("acme.example")).OnlyIDX(ctx)
	north := c.Site.Query().Where(site.Name("North")).OnlyIDX(ctx)
	south := c.Site.Query().Where(site.Name("South")).OnlyIDX(ctx)
	const setDefaults = `mutation($s: ID!) { updateSiteDefaults(id: $s, input: {featurePlan: ADVANCED, voicePortalAccess: true, callHandlingAccess: READ}) { defaults { featurePlan voicePortalAccess callHandlingAccess } } }`
	const rename = `mutation($s: ID!) { updateSite(id: $s, input: {name: "Renamed"}) { name } }`
	runMutationCases(t, p, []mutationCase{
		{"a site manager edits its site's defaults", "sam@acme.example", setDefaults, kv("s", north), "", ""},
		{"not another site's", "sam@acme.example", setDefaults, kv("s", south), "FORBIDDEN", ""},
		{"a supervisor edits none", "cora@acme.example", setDefaults, kv("s", north), "FORBIDDEN", ""},
		{"a site manager does not rename its site", "sam@acme.example", rename, kv("s", north), "FORBIDDEN", ""},
		{"nor delete it", "sam@acme.example", `mutation($s: ID!) { deleteSite(id: $s) }`, kv("s", north), "FORBIDDEN", ""},
		{"nor create one", "sam@acme.example", `mutation($d: ID!) { createSite(input: {domainID: $d, name: "West"}) { id } }`, kv("d", acme), "FORBIDDEN", ""},
		{"an office manager renames it", "olivia@acme.example", rename, kv("s", north), "", ""},
		{"and edits another site's defaults", "olivia@acme.example", setDefaults, kv("s", south), "", ""},
	})
	// The defaults are shown to those who may edit them.
	const read = `query($s: ID!) { node(id: $s) { ... on Site { defaults { featurePlan voicePortalAccess callHandlingAccess profileAccess } } } }`
	var out struct {
		Node struct{ Defaults *map[string]any }
	}
	if errs := p.as("sam@acme.example", read, kv("s", north), &out); len(errs) > 0 || out.Node.Defaults == nil ||
		(*out.Node.Defaults)["featurePlan"] != "ADVANCED" || (*out.Node.Defaults)["profileAccess"] != "WRITE" {
		t.Errorf("sam reads North's defaults: %+v, errors %+v", out.Node.Defaults, errs)
	}
	if errs := p.as("bob@acme.example", read, kv("s", north), nil); len(errs) != 1 || errs[0].code() != "FORBIDDEN" {
		t.Errorf("bob reads North's defaults: errors %+v, want one FORBIDDEN", errs)
	}
	// A user created on the site starts with them, unless its input says otherwise.
	const create = `mutation($d: ID!, $s: ID!, $n: String!, $p: UserFeaturePlan) { createUser(password: "a-long-password", input: {domainID: $d, siteID: $s, username: $n, email: $n, displayName: "N", extension: "180", featurePlan: $p}) { id } }`
	for _, tt := range []struct {
		name string
		plan any
		want user.FeaturePlan
	}{
		{"d1@acme.example", nil, user.FeaturePlanADVANCED},
		{"d2@acme.example", "STANDARD", user.FeaturePlanSTANDARD},
	} {
		if errs := p.as("sam@acme.example", create, map[string]any{"d": acme, "s": north, "n": tt.name, "p": tt.plan}, nil); len(errs) > 0 {
			t.Fatalf("create %s: %+v", tt.name, errs)
		}
		u := c.User.Query().Where(user.Username(tt.name)).OnlyX(ctx)
		if u.FeaturePlan != tt.want || !u.VoicePortalAccess || u.CallHandlingAccess != user.CallHandlingAccessREAD || u.ProfileAccess != user.ProfileAccessWRITE {
			t.Errorf("%s: plan %s, portal %v, call handling %s, profile %s", tt.name, u.FeaturePlan, u.VoicePortalAccess, u.CallHandlingAccess, u.ProfileAccess)
		}
	}
}

// TestMembershipChangesNeedReachOverTheMember: adding or removing a group
// member, a queue agent or a queue supervisor needs reach over that user;
// a supervisor may still add any CALL_CENTER_AGENT of its domain to its
// queues.
func TestMembershipChangesNeedReachOverTheMember(t *testing.T) {
	p := startPortal(t)
	f := newWriteFixture(t, p)
	adam := ids{p}.user("adam@acme.example")
	const sam, cora, olivia = "sam@acme.example", "cora@acme.example", "olivia@acme.example"
	const group = `mutation($g: ID!, $add: [ID!], $remove: [ID!], $clear: Boolean) { updateGroup(id: $g, input: {addMemberIDs: $add, removeMemberIDs: $remove, clearMembers: $clear}) { id } }`
	const agent = `mutation($q: ID!, $u: ID!) { addQueueAgent(queueId: $q, userId: $u) { id } }`
	runMutationCases(t, p, []mutationCase{
		{"a site manager does not add another site's user to its group", sam, group, kv("g", f.reception, "add", []int{f.bea}), "FORBIDDEN", ""},
		{"nor remove one", sam, group, kv("g", f.reception, "remove", []int{f.bea}), "FORBIDDEN", ""},
		{"nor clear the members when one is out of reach", sam, group, kv("g", f.reception, "clear", true), "FORBIDDEN", ""},
		{"nor create a group with one", sam, `mutation($d: ID!, $s: ID!, $m: [ID!]) { createGroup(input: {domainID: $d, siteID: $s, memberIDs: $m, name: "G", extension: "740"}) { id } }`, kv("d", f.acme, "s", f.north, "m", []int{f.bea}), "FORBIDDEN", ""},
		{"a site manager adds its own site's user", sam, group, kv("g", f.reception, "add", []int{f.ann}), "", ""},
		{"an office manager clears the members", olivia, group, kv("g", f.reception, "clear", true), "", ""},
		{"a site manager does not add another site's agent to its queue", sam, agent, kv("q", f.sales, "u", adam), "FORBIDDEN", ""},
		{"a supervisor adds any agent of its domain to its queue", cora, agent, kv("q", f.sales, "u", adam), "", ""},
		{"a site manager does not remove another site's agent", sam, `mutation($q: ID!, $u: ID!) { removeQueueAgent(queueId: $q, userId: $u) { id } }`, kv("q", f.sales, "u", adam), "FORBIDDEN", ""},
		{"the supervisor does", cora, `mutation($q: ID!, $u: ID!) { removeQueueAgent(queueId: $q, userId: $u) { id } }`, kv("q", f.sales, "u", adam), "", ""},
		{"a site manager does not make another site's supervisor supervise its queue", sam, `mutation($q: ID!, $u: ID!) { assignQueueSupervisor(queueId: $q, userId: $u) { id } }`, kv("q", f.sales, "u", ids{p}.user("carl@acme.example")), "FORBIDDEN", ""},
	})
}
