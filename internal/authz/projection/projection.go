// Package projection turns the database, the source of truth, into the
// SpiceDB relationships of schema.zed. Each entity emits the relationships it
// is responsible for; a change to an entity is projected by emitting its
// relationships before and after the change and writing the difference to the
// outbox, in the change's own transaction (docs/projection.md).
package projection

import (
	"slices"
	"strconv"
	"strings"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/domain"
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

// placed is the domain and optional site of a queue or group.
func placed(obj authz.Object, domainID, siteID int) []authz.Relationship {
	rels := []authz.Relationship{rel(obj, "domain", Obj(TypeDomain, domainID))}
	if siteID != 0 {
		rels = append(rels, rel(obj, "site", Obj(TypeSite, siteID)))
	}
	return rels
}

// emitDomain emits a domain's platform and its domain-wide switches.
func emitDomain(d *ent.Domain) []authz.Relationship {
	obj := Obj(TypeDomain, d.ID)
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
// queues. u's groups, replay groups, supervised queues and agent memberships
// must be loaded (userQuery loads them).
func emitUser(u *ent.User) []authz.Relationship {
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
	return append(rels, mediaRights(me, dom, u)...)
}

// menus emits the self-administration menu levels (docs/product.md §3.9).
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

// mediaRights emits the Media Manager rights (docs/product.md §3.11). Nothing is
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
			rels = appendOnce(rels, rel(num, "replayer", me))
		}
	}
	return rels
}

// Number names a number of a domain: a SpiceDB object id is
// "<domain id>_<digits>", so that the same number in two domains is two
// objects. Characters other than digits, letters and "+" are dropped; an
// empty number is none.
func Number(domainID int, n string) (authz.Object, bool) {
	digits := NumberDigits(n)
	if digits == "" {
		return authz.Object{}, false
	}
	return authz.Object{Type: TypeNumber, ID: strconv.Itoa(domainID) + "_" + digits}, true
}

// NumberDigits is the part of a number's id that depends on the number: n
// without the characters Number drops; "" when nothing is left.
func NumberDigits(n string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(n) {
		if r == '+' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// emitRecording emits a recording's domain, owner, group, queue and numbers.
func emitRecording(r *ent.Recording) []authz.Relationship {
	obj := Obj(TypeRecording, r.ID)
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
			rels = appendOnce(rels, rel(obj, "number", num))
		}
	}
	return rels
}

// emitSite emits a site's domain.
func emitSite(s *ent.Site) []authz.Relationship {
	return []authz.Relationship{rel(Obj(TypeSite, s.ID), "domain", Obj(TypeDomain, s.DomainID))}
}

// emitQueue emits a queue's domain and site.
func emitQueue(q *ent.CallQueue) []authz.Relationship {
	return placed(Obj(TypeQueue, q.ID), q.DomainID, q.SiteID)
}

// emitGroup emits a group's domain and site.
func emitGroup(g *ent.Group) []authz.Relationship {
	return placed(Obj(TypeGroup, g.ID), g.DomainID, g.SiteID)
}

// emitContact emits a contact's domain.
func emitContact(ct *ent.Contact) []authz.Relationship {
	return []authz.Relationship{rel(Obj(TypeContact, ct.ID), "domain", Obj(TypeDomain, ct.DomainID))}
}

// appendOnce appends r unless rels holds it already: an entity emits each of
// its relationships once, even when two of its fields name the same number,
// since a bulk import refuses a duplicate.
func appendOnce(rels []authz.Relationship, r authz.Relationship) []authz.Relationship {
	if slices.Contains(rels, r) {
		return rels
	}
	return append(rels, r)
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
