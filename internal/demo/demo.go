// Package demo loads the demo dataset of docs/product.md §5: the acme, globex and
// provider domains, their personas, queues, groups, recordings, call records
// and contacts.
package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/callrecord"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/auth"
	"github.com/pbxportal/pbxportal/internal/media"
)

// Password is every demo user's password.
const Password = "demo-password"

// ErrNotEmpty is returned when the database already holds data: the demo is
// only ever loaded into an empty database.
var ErrNotEmpty = errors.New("demo: the database is not empty; refusing to load the demo dataset")

// persona is one demo user of docs/product.md §5.
type persona struct {
	username, name, ext, site string
	scope                     user.Scope
	edit                      func(*ent.UserCreate)
}

// acmePersonas are the users of acme.example.
func acmePersonas() []persona {
	return []persona{
		{"olivia@acme.example", "Olivia Owens", "100", "North", user.ScopeOFFICE_MANAGER, func(c *ent.UserCreate) { c.SetFeaturePlan(user.FeaturePlanPROFESSIONAL) }},
		{"oscar@acme.example", "Oscar Ortiz", "101", "South", user.ScopeOFFICE_MANAGER, nil},
		{"sam@acme.example", "Sam Sato", "110", "North", user.ScopeSITE_MANAGER, nil},
		{"sue@acme.example", "Sue Silva", "111", "South", user.ScopeSITE_MANAGER, nil},
		{"cora@acme.example", "Cora Chen", "120", "North", user.ScopeCALL_CENTER_SUPERVISOR, nil},
		{"carl@acme.example", "Carl Costa", "121", "South", user.ScopeCALL_CENTER_SUPERVISOR, nil},
		{"alice@acme.example", "Alice Adams", "130", "North", user.ScopeCALL_CENTER_AGENT, func(c *ent.UserCreate) {
			c.SetMediaManagerReplay(true).SetReplayOwn(true).SetDownloadRecordings(true)
		}},
		{"adam@acme.example", "Adam Abbott", "131", "South", user.ScopeCALL_CENTER_AGENT, nil},
		{"bob@acme.example", "Bob Brown", "140", "North", user.ScopeBASIC_USER, func(c *ent.UserCreate) {
			c.SetMediaManagerReplay(true).SetReplayOwn(true).SetReplayOthers("141")
		}},
		{"bea@acme.example", "Bea Bell", "141", "South", user.ScopeBASIC_USER, nil},
		{"vic@acme.example", "Vic Vance", "142", "South", user.ScopeBASIC_USER, func(c *ent.UserCreate) {
			c.SetServiceType(user.ServiceTypeCLOUD_PBX).SetVoicePortalAccess(false)
		}},
		{"ava@acme.example", "Ava Alvarez", "150", "North", user.ScopeADVANCED_USER, func(c *ent.UserCreate) {
			c.SetMediaManagerReplay(true).SetReplayAll(true).SetHistoricalCallReporting(true)
		}},
		{"nina@acme.example", "Nina Night (system)", "190", "North", user.ScopeNO_PORTAL, nil},
	}
}

// globexPersonas are the users of globex.example: gina, then gus.
func globexPersonas() []persona {
	return []persona{
		{"gina@globex.example", "Gina Gray", "100", "", user.ScopeOFFICE_MANAGER, nil},
		{"gus@globex.example", "Gus Green", "101", "", user.ScopeBASIC_USER, nil},
	}
}

// providerPersona is the provider's support user, who sees every domain.
func providerPersona() persona {
	return persona{"support@provider.example", "Provider Support", "900", "", user.ScopeSUPPORT, nil}
}

// Usernames lists every demo persona's username, in the order of the demo's
// table in README.md (some of them may not log in).
func Usernames() []string {
	all := append(append(acmePersonas(), globexPersonas()...), providerPersona())
	out := make([]string, len(all))
	for i, p := range all {
		out[i] = p.username
	}
	return out
}

// Load loads the demo dataset into c, in one transaction, and writes the
// recordings' audio (small real WAV files) into mediaDir. It refuses a
// database that already holds a domain or a user.
func Load(ctx context.Context, c *ent.Client, mediaDir string) error {
	if n, err := c.Domain.Query().Count(ctx); err != nil || n > 0 {
		return errors.Join(ErrNotEmpty, err)
	}
	if n, err := c.User.Query().Count(ctx); err != nil || n > 0 {
		return errors.Join(ErrNotEmpty, err)
	}
	hash, err := auth.HashPassword(Password)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	tx, err := c.Tx(ctx)
	if err != nil {
		return fmt.Errorf("demo: begin: %w", err)
	}
	if err := os.MkdirAll(mediaDir, 0o700); err != nil {
		return errors.Join(fmt.Errorf("demo: media dir: %w", err), tx.Rollback())
	}
	if err := load(ctx, tx.Client(), hash, mediaDir); err != nil {
		return errors.Join(fmt.Errorf("demo: %w", err), tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("demo: commit: %w", err)
	}
	return nil
}

// loader creates the demo rows, remembering the first error.
type loader struct {
	ctx      context.Context
	c        *ent.Client
	hash     string
	mediaDir string
	err      error
}

func (l *loader) user(d *ent.Domain, site *ent.Site, p persona) *ent.User {
	if l.err != nil {
		return nil
	}
	c := l.c.User.Create().
		SetDomain(d).SetUsername(p.username).SetDisplayName(p.name).SetExtension(p.ext).
		SetScope(p.scope).SetVoicePortalAccess(true).SetPasswordHash(l.hash)
	if site != nil {
		c.SetSite(site)
	}
	if p.edit != nil {
		p.edit(c)
	}
	// Demo users have their username as email, but for those without portal
	// access, for whom email is optional (docs/product.md §3.10): vic has none.
	if vpa, _ := c.Mutation().VoicePortalAccess(); vpa {
		c.SetEmail(p.username)
	}
	u, err := c.Save(l.ctx)
	l.err = err
	return u
}

func load(ctx context.Context, c *ent.Client, hash, mediaDir string) error {
	l := &loader{ctx: ctx, c: c, hash: hash, mediaDir: mediaDir}
	acme, err := c.Domain.Create().SetName("acme.example").SetPlan(domain.PlanTIERED_ENTERPRISE).
		SetCallReportingAvailable(true).SetScopeManagement(domain.ScopeManagementSUPPORT_ONLY).Save(ctx)
	if err != nil {
		return err
	}
	north, err := c.Site.Create().SetDomain(acme).SetName("North").Save(ctx)
	if err != nil {
		return err
	}
	south, err := c.Site.Create().SetDomain(acme).SetName("South").Save(ctx)
	if err != nil {
		return err
	}
	sites := map[string]*ent.Site{"North": north, "South": south}
	users := map[string]*ent.User{}
	for _, p := range acmePersonas() {
		users[p.username[:len(p.username)-len("@acme.example")]] = l.user(acme, sites[p.site], p)
	}
	if l.err != nil {
		return l.err
	}
	sales, err := c.CallQueue.Create().SetDomain(acme).SetSite(north).SetName("Sales").SetExtension("600").
		AddSupervisors(users["cora"]).Save(ctx)
	if err != nil {
		return err
	}
	support, err := c.CallQueue.Create().SetDomain(acme).SetSite(south).SetName("Support").SetExtension("601").
		AddSupervisors(users["carl"]).Save(ctx)
	if err != nil {
		return err
	}
	if err := c.QueueAgent.CreateBulk(
		c.QueueAgent.Create().SetQueue(sales).SetUser(users["alice"]),
		c.QueueAgent.Create().SetQueue(support).SetUser(users["adam"]),
	).Exec(ctx); err != nil {
		return err
	}
	reception, err := c.Group.Create().SetDomain(acme).SetSite(north).SetName("Reception").SetExtension("700").
		AddMembers(users["bob"], users["bea"]).Save(ctx)
	if err != nil {
		return err
	}
	if err := c.User.UpdateOne(users["bob"]).AddReplayGroups(reception).Exec(ctx); err != nil {
		return err
	}

	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	calls := []struct {
		callID         string
		owner          *ent.User
		group          *ent.Group
		queue          *ent.CallQueue
		caller, callee string
		direction      callrecord.Direction
	}{
		{"acme-0001", users["bob"], nil, nil, "140", "+15550100", callrecord.DirectionOUTBOUND},
		{"acme-0002", users["bea"], nil, nil, "+15550101", "141", callrecord.DirectionINBOUND},
		{"acme-0003", nil, reception, nil, "+15550102", "700", callrecord.DirectionINBOUND},
		{"acme-0004", users["alice"], nil, sales, "+15550103", "600", callrecord.DirectionINBOUND},
		{"acme-0005", users["adam"], nil, support, "+15550104", "601", callrecord.DirectionINBOUND},
	}
	for i, call := range calls {
		if err := l.call(acme, base.Add(time.Duration(i)*time.Hour), call.callID, call.owner, call.group, call.queue,
			call.caller, call.callee, call.direction); err != nil {
			return err
		}
	}
	if err := c.Contact.CreateBulk(
		c.Contact.Create().SetDomain(acme).SetName("Acme Front Desk").SetPhone("+15550199").SetCompany("Acme"),
		c.Contact.Create().SetDomain(acme).SetName("Pat Plumber").SetPhone("+15550142").SetCompany("Plumbing Co").SetEmail("pat@plumbing.example"),
		c.Contact.Create().SetDomain(acme).SetName("Lee Lawyer").SetPhone("+15550177").SetCompany("Law LLP"),
	).Exec(ctx); err != nil {
		return err
	}

	globex, err := c.Domain.Create().SetName("globex.example").SetPlan(domain.PlanSTANDARD).Save(ctx)
	if err != nil {
		return err
	}
	gp := globexPersonas()
	gina, gus := l.user(globex, nil, gp[0]), l.user(globex, nil, gp[1])
	if l.err != nil {
		return l.err
	}
	if err := l.call(globex, base, "globex-0001", gina, nil, nil, "100", "+15550200", callrecord.DirectionOUTBOUND); err != nil {
		return err
	}
	if err := l.call(globex, base.Add(time.Hour), "globex-0002", gus, nil, nil, "+15550201", "101", callrecord.DirectionINBOUND); err != nil {
		return err
	}
	if err := c.Contact.Create().SetDomain(globex).SetName("Globex Reception").SetPhone("+15550299").Exec(ctx); err != nil {
		return err
	}

	provider, err := c.Domain.Create().SetName("provider.example").SetPlan(domain.PlanSTANDARD).Save(ctx)
	if err != nil {
		return err
	}
	l.user(provider, nil, providerPersona())
	return l.err
}

// call creates one recorded call: a recording and its call record.
func (l *loader) call(d *ent.Domain, at time.Time, callID string, owner *ent.User, g *ent.Group, q *ent.CallQueue,
	caller, callee string, dir callrecord.Direction) error {
	file := callID + ".wav"
	if err := os.WriteFile(filepath.Join(l.mediaDir, file), media.Tone(440, 1), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	rec := l.c.Recording.Create().SetDomain(d).SetCallID(callID).SetMediaFile(file).SetCaller(caller).SetCallee(callee).
		SetStartedAt(at).SetDurationSeconds(95).SetNillableOwnerID(idOf(owner)).SetNillableGroupID(idOfGroup(g)).
		SetNillableQueueID(idOfQueue(q))
	if err := rec.Exec(l.ctx); err != nil {
		return err
	}
	return l.c.CallRecord.Create().SetDomain(d).SetDirection(dir).SetCaller(caller).SetCallee(callee).
		SetStartedAt(at).SetDurationSeconds(95).SetAnswered(true).
		SetNillableUserID(idOf(owner)).SetNillableQueueID(idOfQueue(q)).Exec(l.ctx)
}

func idOf(u *ent.User) *int {
	if u == nil {
		return nil
	}
	return &u.ID
}

func idOfGroup(g *ent.Group) *int {
	if g == nil {
		return nil
	}
	return &g.ID
}

func idOfQueue(q *ent.CallQueue) *int {
	if q == nil {
		return nil
	}
	return &q.ID
}
