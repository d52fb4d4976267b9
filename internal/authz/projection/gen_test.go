package projection_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/scope"
)

// openSQLite opens a migrated SQLite database in dir, as the embedded
// default does, with no hooks: rows inserted through it bypass the projection.
func openSQLite(tb testing.TB, dir string) *ent.Client {
	tb.Helper()
	dsn := "file:" + filepath.Join(dir, "pbxportal.db") +
		"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	c := ent.NewClient(ent.Driver(entsql.OpenDB(dialect.SQLite, db)))
	tb.Cleanup(func() { _ = c.Close() })
	if err := c.Schema.Create(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return c
}

// dataset sizes a generated database; every count is per domain.
type dataset struct {
	domains, sites, users, groups, queues, recordings, contacts int
	seed                                                        uint64
}

// batchRows is how many rows one CreateBulk inserts: SQLite takes at most
// 32,766 parameters per statement.
const batchRows = 500

// generate fills c with d's rows, chosen pseudo-randomly from d.seed so
// that every branch of the emit functions is taken: every scope, with and
// without a site, memberships, menus, Media Manager rights, recordings with
// and without owner, group, queue and (repeated) numbers.
func generate(tb testing.TB, c *ent.Client, d dataset) {
	tb.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(d.seed, 1))
	pick := func(n int) int { return r.IntN(n) }
	some := func(ids []int, most int) []int {
		var out []int
		for _, i := range r.Perm(len(ids))[:min(len(ids), pick(most+1))] {
			out = append(out, ids[i])
		}
		return out
	}
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	scopes := scope.Ordered()
	menu := []string{"NO_ACCESS", "READ", "WRITE"}
	numbers := []string{"", "141", "142", "+1 555 0100", "7001", "  "}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for dn := range d.domains {
		dom, err := c.Domain.Create().SetName(fmt.Sprintf("d%d.example", dn)).
			SetCallReportingAvailable(pick(2) == 0).
			SetScopeManagement(domain.ScopeManagement([]string{"SUPPORT_ONLY", "OFFICE_MANAGERS"}[pick(2)])).Save(ctx)
		must(err)
		var sites, groups, queues, users []int
		for i := range d.sites {
			s, err := c.Site.Create().SetDomainID(dom.ID).SetName(fmt.Sprintf("s%d", i)).Save(ctx)
			must(err)
			sites = append(sites, s.ID)
		}
		siteOf := func() int {
			if len(sites) == 0 || pick(3) == 0 {
				return 0
			}
			return sites[pick(len(sites))]
		}
		for i := range d.groups {
			g := c.Group.Create().SetDomainID(dom.ID).SetName(fmt.Sprintf("g%d", i)).SetExtension(fmt.Sprint(200 + i))
			if s := siteOf(); s != 0 {
				g.SetSiteID(s)
			}
			groups = append(groups, g.SaveX(ctx).ID)
		}
		for i := range d.queues {
			q := c.CallQueue.Create().SetDomainID(dom.ID).SetName(fmt.Sprintf("q%d", i)).SetExtension(fmt.Sprint(300 + i))
			if s := siteOf(); s != 0 {
				q.SetSiteID(s)
			}
			queues = append(queues, q.SaveX(ctx).ID)
		}
		for from := 0; from < d.users; from += batchRows {
			var batch []*ent.UserCreate
			for i := from; i < min(d.users, from+batchRows); i++ {
				u := c.User.Create().SetDomainID(dom.ID).SetUsername(fmt.Sprintf("u%d@d%d.example", i, dn)).
					SetDisplayName(fmt.Sprint("User ", i)).SetExtension(fmt.Sprint(1000 + i)).SetPasswordHash("x").
					SetScope(user.Scope(scopes[pick(len(scopes))])).SetVoicePortalAccess(pick(4) != 0).
					SetProfileAccess(user.ProfileAccess(menu[pick(3)])).
					SetCallHandlingAccess(user.CallHandlingAccess(menu[pick(3)])).
					SetPersonalDirectoryAccess(user.PersonalDirectoryAccess(menu[pick(3)])).
					SetButtonProgrammingAccess(user.ButtonProgrammingAccess(menu[pick(3)])).
					SetDownloadApplicationsAccess(user.DownloadApplicationsAccess(menu[pick(3)])).
					SetHistoricalCallReporting(pick(3) == 0).
					SetMediaManagerReplay(pick(2) == 0).SetReplayAll(pick(3) == 0).SetReplayOwn(pick(2) == 0).
					SetDownloadRecordings(pick(3) == 0).
					SetReplayOthers(numbers[pick(len(numbers))] + ";" + numbers[pick(len(numbers))]).
					AddGroupIDs(some(groups, 2)...).AddReplayGroupIDs(some(groups, 2)...).
					AddSupervisedQueueIDs(some(queues, 1)...)
				if s := siteOf(); s != 0 {
					u.SetSiteID(s)
				}
				batch = append(batch, u)
			}
			created, err := c.User.CreateBulk(batch...).Save(ctx)
			must(err)
			var agents []*ent.QueueAgentCreate
			for _, u := range created {
				users = append(users, u.ID)
				for _, q := range some(queues, 2) {
					agents = append(agents, c.QueueAgent.Create().SetQueueID(q).SetUserID(u.ID))
				}
			}
			must(c.QueueAgent.CreateBulk(agents...).Exec(ctx))
		}
		optional := func(ids []int) int {
			if len(ids) == 0 || pick(2) == 0 {
				return 0
			}
			return ids[pick(len(ids))]
		}
		for from := 0; from < d.recordings; from += batchRows {
			var batch []*ent.RecordingCreate
			for i := from; i < min(d.recordings, from+batchRows); i++ {
				rc := c.Recording.Create().SetDomainID(dom.ID).SetCallID(fmt.Sprint("call-", i)).
					SetCaller(numbers[pick(len(numbers))]).SetCallee(numbers[pick(len(numbers))]).
					SetAccountCode(numbers[pick(len(numbers))]).
					SetStartedAt(start.Add(time.Duration(i) * time.Minute)).SetDurationSeconds(pick(600))
				if id := optional(users); id != 0 {
					rc.SetOwnerID(id)
				}
				if id := optional(groups); id != 0 {
					rc.SetGroupID(id)
				}
				if id := optional(queues); id != 0 {
					rc.SetQueueID(id)
				}
				batch = append(batch, rc)
			}
			must(c.Recording.CreateBulk(batch...).Exec(ctx))
		}
		var contacts []*ent.ContactCreate
		for i := range d.contacts {
			contacts = append(contacts, c.Contact.Create().SetDomainID(dom.ID).SetName(fmt.Sprint("c", i)).SetPhone("1"))
		}
		must(c.Contact.CreateBulk(contacts...).Exec(ctx))
	}
}
