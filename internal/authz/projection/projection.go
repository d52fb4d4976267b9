// Package projection turns the database, the source of truth, into the
// SpiceDB relationships of schema.zed. Each entity emits the relationships it
// is responsible for; a change to an entity is projected by emitting its
// relationships before and after the change and writing the difference to the
// outbox, in the change's own transaction (DESIGN.md, "Writes").
package projection

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/callqueue"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/group"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/scope"
)

// Object types of schema.zed.
const (
	TypePlatform  = "platform"
	TypeUser      = "user"
	TypeDomain    = "domain"
	TypeSite      = "site"
	TypeQueue     = "queue"
	TypeGroup     = "group"
	TypeRecording = "recording"
	TypeContact   = "contact"
	TypeNumber    = "number"
)

// Platform is the one platform object of an installation.
func Platform() authz.Object { return authz.Object{Type: TypePlatform, ID: "main"} }

// Obj names the SpiceDB object of an ent entity.
func Obj(typ string, id int) authz.Object {
	return authz.Object{Type: typ, ID: strconv.Itoa(id)}
}

func rel(resource authz.Object, relation string, subject authz.Object) authz.Relationship {
	return authz.Relationship{Resource: resource, Relation: relation, Subject: subject}
}

// Emit returns the relationships that the entity named by obj is responsible
// for, as the database (through c) holds it now. An entity that does not
// exist emits nothing.
func Emit(ctx context.Context, c *ent.Client, obj authz.Object) ([]authz.Relationship, error) {
	id, err := strconv.Atoi(obj.ID)
	if err != nil && obj.Type != TypePlatform {
		return nil, fmt.Errorf("projection: object %s: %w", obj, err)
	}
	var rels []authz.Relationship
	switch obj.Type {
	case TypeUser:
		rels, err = emitUser(ctx, c, id)
	case TypeDomain:
		var d *ent.Domain
		if d, err = c.Domain.Get(ctx, id); err == nil {
			rels = emitDomain(obj, d)
		}
	case TypeSite:
		var s *ent.Site
		if s, err = c.Site.Get(ctx, id); err == nil {
			rels = []authz.Relationship{rel(obj, "domain", Obj(TypeDomain, s.DomainID))}
		}
	case TypeQueue:
		var q *ent.CallQueue
		if q, err = c.CallQueue.Get(ctx, id); err == nil {
			rels = placed(obj, q.DomainID, q.SiteID)
		}
	case TypeGroup:
		var g *ent.Group
		if g, err = c.Group.Get(ctx, id); err == nil {
			rels = placed(obj, g.DomainID, g.SiteID)
		}
	case TypeRecording:
		var r *ent.Recording
		if r, err = c.Recording.Get(ctx, id); err == nil {
			rels = emitRecording(obj, r)
		}
	case TypeContact:
		var ct *ent.Contact
		if ct, err = c.Contact.Get(ctx, id); err == nil {
			rels = []authz.Relationship{rel(obj, "domain", Obj(TypeDomain, ct.DomainID))}
		}
	default:
		return nil, nil
	}
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("projection: emit %s: %w", obj, err)
	}
	return rels, nil
}

// placed is the domain and optional site of a queue or group.
func placed(obj authz.Object, domainID, siteID int) []authz.Relationship {
	rels := []authz.Relationship{rel(obj, "domain", Obj(TypeDomain, domainID))}
	if siteID != 0 {
		rels = append(rels, rel(obj, "site", Obj(TypeSite, siteID)))
	}
	return rels
}

// emitDomain emits a domain's platform and its domain-wide switches.
func emitDomain(obj authz.Object, d *ent.Domain) []authz.Relationship {
	rels := []authz.Relationship{rel(obj, "platform", Platform())}
	if d.ScopeManagement == domain.ScopeManagementOFFICE_MANAGERS {
		rels = append(rels, rel(obj, "scope_delegation", obj))
	}
	if d.CallReportingAvailable {
		rels = append(rels, rel(obj, "reporting", obj))
	}
	return rels
}

// emitUser emits everything that follows from one user row: its own
// relations, its scope, its settings, and its memberships of groups and
// queues.
func emitUser(ctx context.Context, c *ent.Client, id int) ([]authz.Relationship, error) {
	u, err := c.User.Query().Where(user.ID(id)).
		WithGroups(func(q *ent.GroupQuery) { q.Select(group.FieldID) }).
		WithReplayGroups(func(q *ent.GroupQuery) { q.Select(group.FieldID) }).
		WithSupervisedQueues(func(q *ent.CallQueueQuery) { q.Select(callqueue.FieldID) }).
		WithAgentMemberships().
		Only(ctx)
	if err != nil {
		return nil, err
	}
	me := Obj(TypeUser, u.ID)
	dom := Obj(TypeDomain, u.DomainID)
	rels := []authz.Relationship{rel(me, "self", me), rel(me, "domain", dom)}
	if u.SiteID != 0 {
		site := Obj(TypeSite, u.SiteID)
		rels = append(rels, rel(me, "site", site))
		if scope.Below(string(u.Scope), string(user.ScopeSITE_MANAGER)) {
			rels = append(rels, rel(me, "site_editable", site))
		}
		if u.Scope == user.ScopeSITE_MANAGER {
			rels = append(rels, rel(site, "site_manager", me))
		}
	}
	if u.Scope != user.ScopeNO_PORTAL {
		rels = append(rels, rel(me, "directory", dom), rel(dom, "member", me))
		if u.VoicePortalAccess {
			rels = append(rels, rel(me, "portal_access", me))
		}
	}
	switch u.Scope {
	case user.ScopeSUPPORT:
		rels = append(rels, rel(Platform(), "support", me))
	case user.ScopeOFFICE_MANAGER:
		rels = append(rels, rel(dom, "office_manager", me))
	}
	if u.Scope != user.ScopeOFFICE_MANAGER {
		rels = append(rels, rel(me, "credentials_domain", dom))
	}
	for _, g := range u.Edges.Groups {
		rels = append(rels, rel(Obj(TypeGroup, g.ID), "member", me))
	}
	for _, q := range u.Edges.SupervisedQueues {
		rels = append(rels, rel(Obj(TypeQueue, q.ID), "supervisor", me))
	}
	for _, a := range u.Edges.AgentMemberships {
		queue := Obj(TypeQueue, a.QueueID)
		rels = append(rels, rel(queue, "agent", me))
		if u.Scope == user.ScopeCALL_CENTER_AGENT {
			rels = append(rels, rel(me, "agent_in", queue))
		}
	}
	rels = append(rels, menus(me, u)...)
	if u.HistoricalCallReporting {
		rels = append(rels, rel(dom, "historical_reporter", me))
	}
	return append(rels, mediaRights(me, dom, u)...), nil
}

// menus emits the self-administration menu levels (SPEC §3.9).
func menus(me authz.Object, u *ent.User) []authz.Relationship {
	var rels []authz.Relationship
	for _, m := range []struct {
		name  string
		level string
	}{
		{"profile", string(u.ProfileAccess)},
		{"call_handling", string(u.CallHandlingAccess)},
		{"personal_directory", string(u.PersonalDirectoryAccess)},
		{"button_programming", string(u.ButtonProgrammingAccess)},
		{"download_applications", string(u.DownloadApplicationsAccess)},
	} {
		if m.level == "READ" || m.level == "WRITE" {
			rels = append(rels, rel(me, m.name+"_read", me))
		}
		if m.level == "WRITE" {
			rels = append(rels, rel(me, m.name+"_write", me))
		}
	}
	return rels
}

// mediaRights emits the Media Manager rights (SPEC §3.11). Nothing is
// granted while the master switch is off; group and others rights need
// replayOwn.
func mediaRights(me, dom authz.Object, u *ent.User) []authz.Relationship {
	if !u.MediaManagerReplay {
		return nil
	}
	var rels []authz.Relationship
	if u.ReplayAll {
		rels = append(rels, rel(dom, "replays_all", me))
	}
	if u.DownloadRecordings {
		rels = append(rels, rel(dom, "downloader", me))
	}
	if !u.ReplayOwn {
		return rels
	}
	rels = append(rels, rel(me, "replays_own", me))
	for _, g := range u.Edges.ReplayGroups {
		rels = append(rels, rel(Obj(TypeGroup, g.ID), "replayer", me))
	}
	for _, n := range strings.Split(u.ReplayOthers, ";") {
		if num, ok := Number(u.DomainID, n); ok {
			rels = append(rels, rel(num, "replayer", me))
		}
	}
	return rels
}

// Number names a number of a domain: a SpiceDB object id is
// "<domain id>_<digits>", so that the same number in two domains is two
// objects. Characters other than digits, letters and "+" are dropped; an
// empty number is none.
func Number(domainID int, n string) (authz.Object, bool) {
	var b strings.Builder
	for _, r := range strings.TrimSpace(n) {
		if r == '+' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return authz.Object{}, false
	}
	return authz.Object{Type: TypeNumber, ID: strconv.Itoa(domainID) + "_" + b.String()}, true
}

// emitRecording emits a recording's domain, owner, group and queue.
func emitRecording(obj authz.Object, r *ent.Recording) []authz.Relationship {
	rels := []authz.Relationship{rel(obj, "domain", Obj(TypeDomain, r.DomainID))}
	if r.OwnerID != 0 {
		rels = append(rels, rel(obj, "owner", Obj(TypeUser, r.OwnerID)))
	}
	if r.GroupID != 0 {
		rels = append(rels, rel(obj, "group", Obj(TypeGroup, r.GroupID)))
	}
	if r.QueueID != 0 {
		rels = append(rels, rel(obj, "queue", Obj(TypeQueue, r.QueueID)))
	}
	for _, n := range []string{r.Caller, r.Callee, r.AccountCode} {
		if num, ok := Number(r.DomainID, n); ok {
			rels = append(rels, rel(obj, "number", num))
		}
	}
	return rels
}

// All emits the whole projection of the database: the relationships of every
// entity. It is what SpiceDB should hold.
func All(ctx context.Context, c *ent.Client) ([]authz.Relationship, error) {
	var objs []authz.Object
	add := func(typ string, ids []int, err error) error {
		for _, id := range ids {
			objs = append(objs, Obj(typ, id))
		}
		return err
	}
	for _, load := range []func() error{
		func() error { ids, err := c.Domain.Query().IDs(ctx); return add(TypeDomain, ids, err) },
		func() error { ids, err := c.Site.Query().IDs(ctx); return add(TypeSite, ids, err) },
		func() error { ids, err := c.User.Query().IDs(ctx); return add(TypeUser, ids, err) },
		func() error { ids, err := c.CallQueue.Query().IDs(ctx); return add(TypeQueue, ids, err) },
		func() error { ids, err := c.Group.Query().IDs(ctx); return add(TypeGroup, ids, err) },
		func() error { ids, err := c.Recording.Query().IDs(ctx); return add(TypeRecording, ids, err) },
		func() error { ids, err := c.Contact.Query().IDs(ctx); return add(TypeContact, ids, err) },
	} {
		if err := load(); err != nil {
			return nil, fmt.Errorf("projection: list entities: %w", err)
		}
	}
	var all []authz.Relationship
	for _, o := range objs {
		rels, err := Emit(ctx, c, o)
		if err != nil {
			return nil, err
		}
		all = append(all, rels...)
	}
	return all, nil
}

// Diff returns what turns the relationships before into the relationships
// after: the ones to touch and the ones to delete.
func Diff(before, after []authz.Relationship) (touches, deletes []authz.Relationship) {
	had := make(map[authz.Relationship]bool, len(before))
	for _, r := range before {
		had[r] = true
	}
	has := make(map[authz.Relationship]bool, len(after))
	for _, r := range after {
		has[r] = true
		if !had[r] {
			touches = append(touches, r)
			had[r] = true // once only
		}
	}
	for _, r := range before {
		if !has[r] {
			deletes = append(deletes, r)
			has[r] = true
		}
	}
	return touches, deletes
}
