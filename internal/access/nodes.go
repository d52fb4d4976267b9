package access

import (
	"context"
	"fmt"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/auditevent"
	"github.com/pbxportal/pbxportal/ent/button"
	"github.com/pbxportal/pbxportal/ent/callrecord"
	"github.com/pbxportal/pbxportal/ent/personaldirectoryentry"
	"github.com/pbxportal/pbxportal/ent/queueagent"
	"github.com/pbxportal/pbxportal/ent/schema"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
)

// SeeNodes reports whether the viewer may see each of nodes, for node and
// nodes: exactly when it may find the node in the list that shows it
// (docs/product.md §4). An object with a SpiceDB object
// needs its visibility; a button or personal directory entry, its owner's
// visibility and the permission that guards the owner's list of them; a
// queue membership, what either of its lists needs (the queue's agents or
// the user's agentMemberships); a call record or audit event, the filter of
// its root connection. A node of any other type is not visible. All
// permission checks are one batched call.
func (v Viewer) SeeNodes(ctx context.Context, db *ent.Client, nodes []any) ([]bool, error) {
	owned, err := withOwners(ctx, db, nodes)
	if err != nil {
		return nil, err
	}
	rules := make([][][]authz.Check, len(nodes))
	var checks []authz.Check
	var records, events []int
	for i, n := range owned {
		switch n := n.(type) {
		case *ent.CallRecord:
			records = append(records, n.ID)
		case *ent.AuditEvent:
			events = append(events, n.ID)
		default:
			rules[i] = nodeRule(n)
			for _, all := range rules[i] {
				checks = append(checks, all...)
			}
		}
	}
	allowed := map[authz.Check]bool{}
	if len(checks) > 0 {
		res, err := v.Checks.CheckMany(ctx, checks)
		if err != nil {
			return nil, fmt.Errorf("access: %w", err)
		}
		for k, c := range checks {
			allowed[c] = res[k]
		}
	}
	listedRecords, err := v.listedCallRecords(ctx, db, records)
	if err != nil {
		return nil, err
	}
	listedEvents, err := v.listedAuditEvents(ctx, db, events)
	if err != nil {
		return nil, err
	}
	seen := make([]bool, len(nodes))
	for i, n := range nodes {
		switch n := n.(type) {
		case *ent.CallRecord:
			seen[i] = listedRecords[n.ID]
		case *ent.AuditEvent:
			seen[i] = listedEvents[n.ID]
		default:
			seen[i] = anyAll(rules[i], allowed)
		}
	}
	return seen, nil
}

// withOwners reloads, whole, the nodes whose rule reads a foreign key
// (buttons, directory entries, queue memberships): node and nodes load only
// the columns the query selects.
func withOwners(ctx context.Context, db *ent.Client, nodes []any) ([]any, error) {
	var buttons, entries, agents []int
	for _, n := range nodes {
		switch n := n.(type) {
		case *ent.Button:
			buttons = append(buttons, n.ID)
		case *ent.PersonalDirectoryEntry:
			entries = append(entries, n.ID)
		case *ent.QueueAgent:
			agents = append(agents, n.ID)
		}
	}
	whole := map[int]any{}
	if len(buttons) > 0 {
		bs, err := db.Button.Query().Where(button.IDIn(buttons...)).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("access: buttons: %w", err)
		}
		for _, b := range bs {
			whole[b.ID] = b
		}
	}
	if len(entries) > 0 {
		es, err := db.PersonalDirectoryEntry.Query().Where(personaldirectoryentry.IDIn(entries...)).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("access: directory entries: %w", err)
		}
		for _, e := range es {
			whole[e.ID] = e
		}
	}
	if len(agents) > 0 {
		as, err := db.QueueAgent.Query().Where(queueagent.IDIn(agents...)).All(ctx)
		if err != nil {
			return nil, fmt.Errorf("access: queue agents: %w", err)
		}
		for _, a := range as {
			whole[a.ID] = a
		}
	}
	out := make([]any, len(nodes))
	for i, n := range nodes {
		out[i] = n
		if n, ok := n.(ent.Noder); ok {
			if w, ok := whole[noderID(n)]; ok {
				out[i] = w
			}
		}
	}
	return out, nil
}

// noderID is the id of a button, directory entry or queue membership.
func noderID(n ent.Noder) int {
	switch n := n.(type) {
	case *ent.Button:
		return n.ID
	case *ent.PersonalDirectoryEntry:
		return n.ID
	case *ent.QueueAgent:
		return n.ID
	}
	return 0
}

// nodeRule is what makes a node visible, as alternatives of checks that
// must all hold; none for a type without a rule.
func nodeRule(n any) [][]authz.Check {
	if o, ok := ObjectOf(n); ok {
		return [][]authz.Check{{{Resource: o, Permission: Visibility(o)}}}
	}
	user := func(id int) authz.Object { return projection.Obj(projection.TypeUser, id) }
	switch n := n.(type) {
	case *ent.Button:
		return [][]authz.Check{{
			{Resource: user(n.OwnerID), Permission: "view"},
			{Resource: user(n.OwnerID), Permission: schema.PermReadButtonProgramming},
		}}
	case *ent.PersonalDirectoryEntry:
		return [][]authz.Check{{
			{Resource: user(n.OwnerID), Permission: "view"},
			{Resource: user(n.OwnerID), Permission: schema.PermReadPersonalDirectory},
		}}
	case *ent.QueueAgent:
		queue := projection.Obj(projection.TypeQueue, n.QueueID)
		return [][]authz.Check{
			{{Resource: queue, Permission: "view"}, {Resource: queue, Permission: schema.PermViewAgentStatus}},
			{{Resource: user(n.UserID), Permission: "view"}, {Resource: user(n.UserID), Permission: schema.PermViewPrivate}},
		}
	}
	return nil
}

// anyAll reports whether every check of one of the alternatives holds.
func anyAll(alternatives [][]authz.Check, allowed map[authz.Check]bool) bool {
	for _, all := range alternatives {
		ok := len(all) > 0
		for _, c := range all {
			ok = ok && allowed[c]
		}
		if ok {
			return true
		}
	}
	return false
}

// listedCallRecords is which of ids the callRecords connection shows.
func (v Viewer) listedCallRecords(ctx context.Context, db *ent.Client, ids []int) (map[int]bool, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	visible, err := v.CallRecords(ctx)
	if err != nil {
		return nil, err
	}
	listed, err := db.CallRecord.Query().Where(visible, callrecord.IDIn(ids...)).IDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("access: call records: %w", err)
	}
	return set(listed), nil
}

// listedAuditEvents is which of ids the auditEvents connection shows.
func (v Viewer) listedAuditEvents(ctx context.Context, db *ent.Client, ids []int) (map[int]bool, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	visible, err := v.AuditEvents(ctx)
	if err != nil {
		return nil, err
	}
	listed, err := db.AuditEvent.Query().Where(visible, auditevent.IDIn(ids...)).IDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("access: audit events: %w", err)
	}
	return set(listed), nil
}

func set(ids []int) map[int]bool {
	m := make(map[int]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}
