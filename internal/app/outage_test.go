package app_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/domain"
)

// TestSpiceDBOutageMidStorm stops the SpiceDB server for 10 s in the middle
// of a mutation storm, and commits a change that SpiceDB cannot receive
// (the storm's own mutations ask SpiceDB first, and fail). Meanwhile
// protected reads answer AUTHZ_UNAVAILABLE and never a value: no request
// may read before a change committed before it. Afterwards the outbox
// drains by itself and SpiceDB holds exactly the database's projection.
func TestSpiceDBOutageMidStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("the outage takes a while; skipped in -short")
	}
	spice := startSpiceDBServer(t)
	dir := t.TempDir()
	p := openPortal(t, spice.config(dir, postgresURL(t), true))
	w := loadStormWorld(t, p.app.Client)
	support, olivia := p.tokenFor("support@provider.example"), p.tokenFor("olivia@acme.example")

	ctx, stopStorm := context.WithCancel(context.Background())
	defer stopStorm()
	results := make(chan stormResult, 1)
	go func() { results <- storm(ctx, []string{p.srv.URL}, support, w, 8, 1_000_000, 13) }()

	time.Sleep(3 * time.Second)
	spice.stop()
	p.inTx(func(c *ent.Client) error {
		acme := c.Domain.Query().Where(domain.Name("acme.example")).OnlyIDX(context.Background())
		return c.Contact.Create().SetDomainID(acme).SetName("During the outage").SetPhone("555").Exec(context.Background())
	})
	down := time.Now()
	unavailable := 0
	for time.Since(down) < 10*time.Second {
		r, err := post(context.Background(), p.srv.URL, olivia, `{ users(first: 50) { edges { node { email } } } }`, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Users *struct {
				Edges []struct{ Node struct{ Email *string } }
			}
		}
		if len(r.Data) > 0 {
			if err := json.Unmarshal(r.Data, &out); err != nil {
				t.Fatal(err)
			}
		}
		if out.Users != nil {
			for _, e := range out.Users.Edges {
				if e.Node.Email != nil {
					t.Fatalf("an email was served while SpiceDB was down: %q", *e.Node.Email)
				}
			}
		}
		for _, e := range r.Errors {
			if e.code() != "AUTHZ_UNAVAILABLE" {
				t.Fatalf("a protected read during the outage failed with %q, want AUTHZ_UNAVAILABLE", e.code())
			}
		}
		if len(r.Errors) > 0 {
			unavailable++
		}
		time.Sleep(500 * time.Millisecond)
	}
	if unavailable == 0 {
		t.Fatal("no protected read answered AUTHZ_UNAVAILABLE during the outage")
	}
	spice.start()
	// The storm goes on until protected reads work again, then a little more.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r, err := post(context.Background(), p.srv.URL, olivia, `{ users(first: 5) { edges { node { email } } } }`, nil)
		if err == nil && len(r.Errors) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("protected reads still fail two minutes after SpiceDB came back: %v %v", err, r.Errors)
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	stopStorm()
	result := <-results

	waitForDrainedOutbox(t, p.app.Client, 2*time.Minute)
	checkStormOutcome(t, p.app, result, 10, "AUTHZ_UNAVAILABLE")
}
