// Package seed grows the demo's acme.example domain to a chosen number of
// users and recordings, for benchmarks and load tests: sites, call queues
// with supervisors and agents, groups with members, Media Manager rights,
// numbers and call records, spread the way a real tenant has them.
//
// Rows are inserted in bulk through a client without hooks, so nothing is
// projected on the way in: SpiceDB gets the relationships afterwards from
// the server's own projection (the start-up rebuild, projection.Rebuild).
package seed

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/callqueue"
	"github.com/pbxportal/pbxportal/ent/callrecord"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/group"
	"github.com/pbxportal/pbxportal/ent/queueagent"
	"github.com/pbxportal/pbxportal/ent/recording"
	"github.com/pbxportal/pbxportal/ent/site"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/auth"
	"github.com/pbxportal/pbxportal/internal/demo"
	"github.com/pbxportal/pbxportal/internal/media"
)

// Domain is the domain that Grow grows: the demo's, so that the demo
// personas' logins work inside the large dataset.
const Domain = "acme.example"

// MediaFile is the one audio file every generated recording plays.
const MediaFile = "generated.wav"

// batchRows is how many rows one CreateBulk inserts: SQLite takes at most
// 32,766 parameters per statement, and a user row has about 35 columns.
const batchRows = 500

// Options size the grown domain.
type Options struct {
	// Users is how many users the domain has in the end, demo personas
	// included; 0 leaves them as they are.
	Users int
	// Recordings is how many recordings the domain has in the end, the
	// demo's included; each has its call record. 0 leaves them as they are.
	Recordings int
	// Seed chooses the pseudo-random spread; the same seed gives the same data.
	Seed uint64
	// MediaDir, when set, receives MediaFile.
	MediaDir string
}

// Validate reports sizes that cannot be grown to.
func (o Options) Validate() error {
	switch {
	case o.Users < 0:
		return fmt.Errorf("seed: --users %d: want 0 (the demo only) or more", o.Users)
	case o.Recordings < 0:
		return fmt.Errorf("seed: --recordings %d: want 0 (the demo only) or more", o.Recordings)
	}
	return nil
}

// Counts are the rows Grow inserted.
type Counts struct {
	Users, Sites, Queues, Groups, QueueAgents, Recordings, CallRecords int
}

// ErrTooSmall is returned when a size is below what the domain already
// holds: Grow only adds.
var ErrTooSmall = errors.New("seed: the domain already holds more")

// Load loads the demo dataset into the empty database of c (demo.Load) and
// grows it to o's sizes (Grow) when they are set. c should have no hooks.
func Load(ctx context.Context, c *ent.Client, mediaDir string, o Options) (Counts, error) {
	if err := o.Validate(); err != nil {
		return Counts{}, err
	}
	if err := demo.Load(ctx, c, mediaDir); err != nil {
		return Counts{}, err
	}
	if o.Users == 0 && o.Recordings == 0 {
		return Counts{}, nil
	}
	o.MediaDir = mediaDir
	n, err := Grow(ctx, c, o)
	if err != nil {
		return n, fmt.Errorf("%w (the demo dataset is loaded; start again from an empty database)", err)
	}
	return n, nil
}

// Grow adds to the domain Domain (loaded by demo.Load) the users and
// recordings that bring it to o's sizes, in one transaction of c, which
// should have no hooks: the rows bypass the projection.
func Grow(ctx context.Context, c *ent.Client, o Options) (Counts, error) {
	if err := o.Validate(); err != nil {
		return Counts{}, err
	}
	dom, err := c.Domain.Query().Where(domain.Name(Domain)).Only(ctx)
	if err != nil {
		return Counts{}, fmt.Errorf("seed: domain %s (load the demo first): %w", Domain, err)
	}
	hash, err := auth.HashPassword(demo.Password)
	if err != nil {
		return Counts{}, fmt.Errorf("seed: %w", err)
	}
	if o.MediaDir != "" {
		if err := os.MkdirAll(o.MediaDir, 0o700); err != nil {
			return Counts{}, fmt.Errorf("seed: media dir: %w", err)
		}
		if err := os.WriteFile(filepath.Join(o.MediaDir, MediaFile), media.Tone(440, 1), 0o600); err != nil {
			return Counts{}, fmt.Errorf("seed: write %s: %w", MediaFile, err)
		}
	}
	tx, err := c.Tx(ctx)
	if err != nil {
		return Counts{}, fmt.Errorf("seed: begin: %w", err)
	}
	g := &grower{ctx: ctx, c: tx.Client(), dom: dom.ID, hash: hash, r: rand.New(rand.NewPCG(o.Seed, 0x5eed))}
	if err := g.grow(o); err != nil {
		return Counts{}, errors.Join(fmt.Errorf("seed: %w", err), tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return Counts{}, fmt.Errorf("seed: commit: %w", err)
	}
	return g.n, nil
}

// grower holds what the generated rows refer to.
type grower struct {
	ctx  context.Context
	c    *ent.Client
	dom  int
	hash string
	r    *rand.Rand
	n    Counts

	sites        []int
	queues       []int
	queueExt     map[int]string
	queueAgents  map[int][]int
	groups       []int
	groupExt     map[int]string
	groupMembers map[int][]int
	users        []int // users that may own recordings: every scope but NO_PORTAL
	userExt      map[int]string
}

func (g *grower) grow(o Options) error {
	users, err := g.c.User.Query().Where(user.DomainID(g.dom)).Count(g.ctx)
	if err != nil {
		return err
	}
	recs, err := g.c.Recording.Query().Where(recording.DomainID(g.dom)).Count(g.ctx)
	if err != nil {
		return err
	}
	switch {
	case o.Users > 0 && o.Users < users:
		return fmt.Errorf("%w: --users %d is below the %d users %s already has", ErrTooSmall, o.Users, users, Domain)
	case o.Recordings > 0 && o.Recordings < recs:
		return fmt.Errorf("%w: --recordings %d is below the %d recordings %s already has", ErrTooSmall, o.Recordings, recs, Domain)
	}
	if err := g.load(); err != nil {
		return err
	}
	if o.Users > users {
		if err := g.addStructure(o.Users); err != nil {
			return err
		}
		if err := g.addUsers(o.Users-users, users); err != nil {
			return err
		}
	}
	if o.Recordings > recs {
		return g.addRecordings(o.Recordings - recs)
	}
	return nil
}

// load reads what the domain already has: the demo's sites, queues,
// groups and users, which generated rows also refer to.
func (g *grower) load() error {
	var err error
	if g.sites, err = g.c.Site.Query().Where(site.DomainID(g.dom)).IDs(g.ctx); err != nil {
		return err
	}
	g.queueExt, g.queueAgents = map[int]string{}, map[int][]int{}
	qs, err := g.c.CallQueue.Query().Where(callqueue.DomainID(g.dom)).WithAgents().All(g.ctx)
	if err != nil {
		return err
	}
	for _, q := range qs {
		g.queues, g.queueExt[q.ID] = append(g.queues, q.ID), q.Extension
		for _, a := range q.Edges.Agents {
			g.queueAgents[q.ID] = append(g.queueAgents[q.ID], a.UserID)
		}
	}
	g.groupExt, g.groupMembers = map[int]string{}, map[int][]int{}
	gs, err := g.c.Group.Query().Where(group.DomainID(g.dom)).WithMembers().All(g.ctx)
	if err != nil {
		return err
	}
	for _, gr := range gs {
		g.groups, g.groupExt[gr.ID] = append(g.groups, gr.ID), gr.Extension
		for _, m := range gr.Edges.Members {
			g.groupMembers[gr.ID] = append(g.groupMembers[gr.ID], m.ID)
		}
	}
	g.userExt = map[int]string{}
	us, err := g.c.User.Query().Where(user.DomainID(g.dom), user.ScopeNEQ(user.ScopeNO_PORTAL)).All(g.ctx)
	if err != nil {
		return err
	}
	for _, u := range us {
		g.users, g.userExt[u.ID] = append(g.users, u.ID), u.Extension
	}
	return nil
}

// addStructure adds the sites (one per 250 users), queues (one per 100)
// and groups (one per 50) of a domain of total users.
func (g *grower) addStructure(total int) error {
	for i := len(g.sites); i < max(2, total/250); i++ {
		s, err := g.c.Site.Create().SetDomainID(g.dom).SetName(fmt.Sprintf("Site %03d", i)).Save(g.ctx)
		if err != nil {
			return err
		}
		g.sites, g.n.Sites = append(g.sites, s.ID), g.n.Sites+1
	}
	var queues []*ent.CallQueueCreate
	for i := len(g.queues); i < max(2, total/100); i++ {
		queues = append(queues, g.c.CallQueue.Create().SetDomainID(g.dom).SetSiteID(g.site()).
			SetName(fmt.Sprintf("Queue %04d", i)).SetExtension(strconv.Itoa(5000+i)))
	}
	created, err := bulk(g.ctx, queues, func(b []*ent.CallQueueCreate) ([]*ent.CallQueue, error) {
		return g.c.CallQueue.CreateBulk(b...).Save(g.ctx)
	})
	if err != nil {
		return fmt.Errorf("queues: %w", err)
	}
	for _, q := range created {
		g.queues, g.queueExt[q.ID] = append(g.queues, q.ID), q.Extension
	}
	g.n.Queues = len(created)
	var groups []*ent.GroupCreate
	for i := len(g.groups); i < max(1, total/50); i++ {
		groups = append(groups, g.c.Group.Create().SetDomainID(g.dom).SetSiteID(g.site()).
			SetName(fmt.Sprintf("Group %04d", i)).SetExtension(strconv.Itoa(7000+i)))
	}
	createdGroups, err := bulk(g.ctx, groups, func(b []*ent.GroupCreate) ([]*ent.Group, error) {
		return g.c.Group.CreateBulk(b...).Save(g.ctx)
	})
	if err != nil {
		return fmt.Errorf("groups: %w", err)
	}
	for _, gr := range createdGroups {
		g.groups, g.groupExt[gr.ID] = append(g.groups, gr.ID), gr.Extension
	}
	g.n.Groups = len(createdGroups)
	return nil
}

// addUsers adds n users, numbered from first, and their queue memberships.
// The first users of the new sites manage them; the rest are spread over
// the scopes in about a real tenant's proportions.
func (g *grower) addUsers(n, first int) error {
	siteManagers := g.sites[min(2, len(g.sites)):] // the demo's North and South have theirs
	for from := 0; from < n; from += batchRows {
		var batch []*ent.UserCreate
		var scopes []user.Scope
		for i := from; i < min(n, from+batchRows); i++ {
			num := first + i
			sc, siteID := g.scope(), g.site()
			if i < len(siteManagers) {
				sc, siteID = user.ScopeSITE_MANAGER, siteManagers[i]
			}
			batch, scopes = append(batch, g.user(num, sc, siteID)), append(scopes, sc)
		}
		created, err := g.c.User.CreateBulk(batch...).Save(g.ctx)
		if err != nil {
			return fmt.Errorf("users: %w", err)
		}
		var agents []*ent.QueueAgentCreate
		for k, u := range created {
			if scopes[k] != user.ScopeNO_PORTAL {
				g.users, g.userExt[u.ID] = append(g.users, u.ID), u.Extension
			}
			if scopes[k] != user.ScopeCALL_CENTER_AGENT {
				continue
			}
			for _, q := range g.some(g.queues, 1+g.r.IntN(3)) {
				agents = append(agents, g.c.QueueAgent.Create().SetQueueID(q).SetUserID(u.ID).
					SetLoggedIn(g.r.IntN(2) == 0).SetStatus([]queueagent.Status{queueagent.StatusAVAILABLE, queueagent.StatusBREAK, queueagent.StatusLUNCH, queueagent.StatusOFFLINE}[g.r.IntN(4)]))
				g.queueAgents[q] = append(g.queueAgents[q], u.ID)
			}
		}
		for _, gr := range groupsOf(batch) {
			g.groupMembers[gr.group] = append(g.groupMembers[gr.group], created[gr.index].ID)
		}
		if err := g.c.QueueAgent.CreateBulk(agents...).Exec(g.ctx); err != nil {
			return fmt.Errorf("queue agents: %w", err)
		}
		g.n.Users += len(created)
		g.n.QueueAgents += len(agents)
	}
	return nil
}

// user builds one generated user, valid under the rules of internal/rules:
// email and (for Cloud PBX) an end-user role with Voice Portal Access,
// replay groups and others only with replayOwn, supervisors supervising.
func (g *grower) user(num int, sc user.Scope, siteID int) *ent.UserCreate {
	name := fmt.Sprintf("user%06d@%s", num, Domain)
	c := g.c.User.Create().SetDomainID(g.dom).SetUsername(name).SetDisplayName(fmt.Sprintf("User %06d", num)).
		SetExtension(strconv.Itoa(10000 + num)).SetScope(sc).SetPasswordHash(g.hash).SetSiteID(siteID)
	vpa := sc != user.ScopeNO_PORTAL && g.r.IntN(40) != 0
	c.SetVoicePortalAccess(vpa)
	if vpa {
		c.SetEmail(name)
		switch p := g.r.IntN(10); {
		case p < 2:
			c.SetFeaturePlan(user.FeaturePlanADVANCED)
		case p < 3:
			c.SetFeaturePlan(user.FeaturePlanPROFESSIONAL)
		}
		if g.r.IntN(20) == 0 {
			c.SetServiceType(user.ServiceTypeCLOUD_PBX).SetEndUserRole("user")
		}
	}
	if g.r.IntN(5) == 0 {
		c.SetProfileAccess(user.ProfileAccessWRITE).SetCallHandlingAccess(user.CallHandlingAccessWRITE)
	}
	c.SetHistoricalCallReporting(g.r.IntN(20) == 0)
	if sc == user.ScopeCALL_CENTER_SUPERVISOR {
		c.AddSupervisedQueueIDs(g.some(g.queues, 1+g.r.IntN(2))...)
	}
	if sc != user.ScopeNO_PORTAL {
		switch p := g.r.IntN(10); {
		case p < 4:
			c.AddGroupIDs(g.some(g.groups, 1)...)
		case p < 5:
			c.AddGroupIDs(g.some(g.groups, 2)...)
		}
	}
	if sc != user.ScopeNO_PORTAL && g.r.IntN(100) < 35 { // Media Manager
		own := g.r.IntN(100) < 85
		c.SetMediaManagerReplay(true).SetReplayOwn(own).SetReplayAll(g.r.IntN(20) == 0).
			SetDownloadRecordings(g.r.IntN(4) == 0)
		if own && g.r.IntN(5) == 0 && len(g.users) > 0 {
			var others []string
			for range 1 + g.r.IntN(3) {
				others = append(others, g.userExt[g.users[g.r.IntN(len(g.users))]])
			}
			c.SetReplayOthers(strings.Join(others, ";"))
		}
		if own && g.r.IntN(10) == 0 {
			c.AddReplayGroupIDs(g.some(g.groups, 1)...)
		}
	}
	return c
}

// memberOf is one group membership of a user of a batch.
type memberOf struct{ index, group int }

// groupsOf lists the group memberships set on a batch of users.
func groupsOf(batch []*ent.UserCreate) []memberOf {
	var out []memberOf
	for i, c := range batch {
		for _, id := range c.Mutation().GroupsIDs() {
			out = append(out, memberOf{i, id})
		}
	}
	return out
}

// scope picks a generated user's scope: a few office managers, 2%
// supervisors, 13% agents, 5% advanced users, 3% without portal, the rest
// basic users.
func (g *grower) scope() user.Scope {
	switch p := g.r.IntN(1000); {
	case p < 2:
		return user.ScopeOFFICE_MANAGER
	case p < 22:
		return user.ScopeCALL_CENTER_SUPERVISOR
	case p < 152:
		return user.ScopeCALL_CENTER_AGENT
	case p < 202:
		return user.ScopeADVANCED_USER
	case p < 232:
		return user.ScopeNO_PORTAL
	}
	return user.ScopeBASIC_USER
}

func (g *grower) site() int { return g.sites[g.r.IntN(len(g.sites))] }

// some picks k distinct ids of ids (fewer if there are fewer).
func (g *grower) some(ids []int, k int) []int {
	k = min(k, len(ids))
	out := make([]int, 0, k)
	for len(out) < k {
		id := ids[g.r.IntN(len(ids))]
		dup := false
		for _, o := range out {
			dup = dup || o == id
		}
		if !dup {
			out = append(out, id)
		}
	}
	return out
}

// external is an outside phone number.
func (g *grower) external() string { return fmt.Sprintf("+1555%07d", g.r.IntN(10_000_000)) }

// addRecordings adds n recorded calls over the past year, each with its call
// record: 60% a user's own calls, 25% through a queue (answered by one of
// its agents), 15% to a group.
func (g *grower) addRecordings(n int) error {
	if len(g.users) == 0 {
		return errors.New("recordings: the domain has no users to own them")
	}
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for from := 0; from < n; from += batchRows {
		var recs []*ent.RecordingCreate
		var calls []*ent.CallRecordCreate
		for i := from; i < min(n, from+batchRows); i++ {
			var owner, queue, grp int
			var caller, callee string
			dir := callrecord.DirectionINBOUND
			switch p := g.r.IntN(100); {
			case p < 25 && len(g.queues) > 0:
				queue = g.queues[g.r.IntN(len(g.queues))]
				if agents := g.queueAgents[queue]; len(agents) > 0 {
					owner = agents[g.r.IntN(len(agents))]
				}
				caller, callee = g.external(), g.queueExt[queue]
			case p < 40 && len(g.groups) > 0:
				grp = g.groups[g.r.IntN(len(g.groups))]
				if members := g.groupMembers[grp]; len(members) > 0 && g.r.IntN(2) == 0 {
					owner = members[g.r.IntN(len(members))]
				}
				caller, callee = g.external(), g.groupExt[grp]
			default:
				owner = g.users[g.r.IntN(len(g.users))]
				caller, callee = g.external(), g.userExt[owner]
				switch g.r.IntN(3) {
				case 0:
					dir, caller, callee = callrecord.DirectionOUTBOUND, callee, caller
				case 1:
					dir, caller = callrecord.DirectionINTERNAL, g.userExt[g.users[g.r.IntN(len(g.users))]]
				}
			}
			at := end.Add(-time.Duration(g.r.IntN(365*24*60)) * time.Minute)
			secs := 5 + g.r.IntN(900)
			rc := g.c.Recording.Create().SetDomainID(g.dom).SetCallID(fmt.Sprintf("acme-g%07d", i)).
				SetCaller(caller).SetCallee(callee).SetStartedAt(at).SetDurationSeconds(secs).SetMediaFile(MediaFile)
			cr := g.c.CallRecord.Create().SetDomainID(g.dom).SetDirection(dir).SetCaller(caller).SetCallee(callee).
				SetStartedAt(at).SetDurationSeconds(secs).SetAnswered(true)
			if owner != 0 {
				rc.SetOwnerID(owner)
				cr.SetUserID(owner)
			}
			if queue != 0 {
				rc.SetQueueID(queue)
				cr.SetQueueID(queue)
			}
			if grp != 0 {
				rc.SetGroupID(grp)
			}
			recs, calls = append(recs, rc), append(calls, cr)
		}
		if err := g.c.Recording.CreateBulk(recs...).Exec(g.ctx); err != nil {
			return fmt.Errorf("recordings: %w", err)
		}
		if err := g.c.CallRecord.CreateBulk(calls...).Exec(g.ctx); err != nil {
			return fmt.Errorf("call records: %w", err)
		}
		g.n.Recordings += len(recs)
		g.n.CallRecords += len(calls)
	}
	return nil
}

// bulk saves builders in CreateBulk batches of batchRows.
func bulk[B, T any](ctx context.Context, builders []B, save func([]B) ([]T, error)) ([]T, error) {
	var out []T
	for from := 0; from < len(builders); from += batchRows {
		got, err := save(builders[from:min(len(builders), from+batchRows)])
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, ctx.Err()
}
