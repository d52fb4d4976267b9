package app_test

import (
	"context"
	"testing"

	"github.com/pbxportal/pbxportal/ent/auditevent"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/outboxentry"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/outbox"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
)

// TestMalformedOutboxRowIsQuarantined: a row the relay cannot read leaves
// the outbox as a platform audit event, and the rows behind it are applied;
// it does not block the relay (and so every request's settle) for ever.
func TestMalformedOutboxRowIsQuarantined(t *testing.T) {
	p := startPortal(t)
	ctx := context.Background()
	c := p.app.Client
	acme := c.Domain.Query().Where(domain.Name("acme.example")).OnlyX(ctx)
	bob := c.User.Query().Where(user.Username("bob@acme.example")).OnlyX(ctx)
	grant := authz.Relationship{Resource: projection.Obj(projection.TypeDomain, acme.ID), Relation: "office_manager",
		Subject: projection.Obj(projection.TypeUser, bob.ID)}
	for _, rel := range []string{"not a relationship", "domain:1#member@", grant.String()} {
		c.OutboxEntry.Create().SetOperation(outboxentry.OperationTOUCH).SetRelationship(rel).ExecX(ctx)
	}
	if err := p.app.Relay.Apply(ctx); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if n := c.OutboxEntry.Query().CountX(ctx); n != 0 {
		t.Errorf("%d rows left in the outbox, want 0", n)
	}
	if n := c.AuditEvent.Query().Where(auditevent.Action(outbox.QuarantineAction)).CountX(ctx); n != 2 {
		t.Errorf("%d quarantine audit events, want 2", n)
	}
	allowed, err := p.app.Spice.CheckBulk(ctx, projection.Obj(projection.TypeUser, bob.ID),
		[]authz.Check{{Resource: grant.Resource, Permission: "manage"}})
	if err != nil || !allowed[0] {
		t.Errorf("the well-formed row behind the malformed ones: manage = %v, %v; want applied", allowed, err)
	}
	if _, err := p.app.Relay.Settle(ctx); err != nil {
		t.Errorf("settle after quarantine: %v", err)
	}
}
