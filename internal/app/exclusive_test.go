package app_test

import (
	"context"
	"errors"
	"testing"

	"github.com/pbxportal/pbxportal/internal/authz"
)

// TestExclusiveRecordsWhatAFailedWriterWrote: a rebuild or reconcile that
// writes to SpiceDB and then fails (its second chunk refused, say) has still
// changed what SpiceDB answers. The revision every replica settles to must
// move past that write, or answers remembered at the old revision would
// outlive it.
func TestExclusiveRecordsWhatAFailedWriterWrote(t *testing.T) {
	p := startPortal(t)
	ctx := context.Background()
	before, err := p.app.Relay.Settle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	failed := errors.New("the second chunk was refused")
	err = p.app.Relay.Exclusive(ctx, func(ctx context.Context) error {
		rel := authz.Relationship{
			Resource: authz.Object{Type: "domain", ID: "999999"}, Relation: "office_manager",
			Subject: authz.Object{Type: "user", ID: "999999"},
		}
		if err := p.app.Spice.WriteRelationships(ctx, []authz.Relationship{rel}, nil); err != nil {
			t.Fatal(err)
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("Exclusive returned %v, want the writer's error", err)
	}
	after, err := p.app.Relay.Settle(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after == before {
		t.Error("the settled revision did not move past a write whose writer then failed")
	}
}
