package app_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/pbxportal/pbxportal/ent/site"
)

// TestCallSummary: managers, supervisors of their queues, and users with
// historicalCallReporting where the domain has callReportingAvailable
// (docs/product.md §3.12).
func TestCallSummary(t *testing.T) {
	p := startPortal(t)
	id := ids{p}
	sales := id.queue("Sales")
	north := p.app.Client.Site.Query().Where(site.Name("North")).OnlyIDX(t.Context())
	const q = `query($q: ID, $s: ID) { callSummary(from: "2026-11-01T00:00:00Z", to: "2026-12-01T00:00:00Z", queueId: $q, siteId: $s) {
		totals { calls answered missed averageDurationSeconds } byQueue { queue { name } totals { calls } } } }`
	tests := []struct {
		persona   string
		vars      map[string]any
		wantCalls int
		wantCode  string
	}{
		{"olivia@acme.example", nil, 5, ""},
		{"ava@acme.example", nil, 5, ""},           // historicalCallReporting, callReportingAvailable
		{"gina@globex.example", nil, 2, ""},        // office manager
		{"bob@acme.example", nil, 0, "FORBIDDEN"},  // no historicalCallReporting
		{"cora@acme.example", nil, 0, "FORBIDDEN"}, // not the domain's summary
		{"cora@acme.example", map[string]any{"q": sales}, 1, ""},
		{"carl@acme.example", map[string]any{"q": sales}, 0, "NOT_FOUND"},
		{"sam@acme.example", map[string]any{"s": north}, 2, ""}, // bob's and alice's calls
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.persona, tt.vars), func(t *testing.T) {
			var d struct {
				CallSummary *struct {
					Totals struct {
						Calls, Answered, Missed int
						AverageDurationSeconds  float64
					}
				}
			}
			errs := p.as(tt.persona, q, tt.vars, &d)
			if tt.wantCode != "" {
				if d.CallSummary != nil || !slices.Equal(codes(errs), []string{tt.wantCode}) {
					t.Fatalf("summary %+v, codes %v; want null with %s", d.CallSummary, codes(errs), tt.wantCode)
				}
				return
			}
			// Queues the viewer may not see are null, with NOT_FOUND (ava sees no queue).
			for _, e := range errs {
				if e.code() != "NOT_FOUND" || len(e.Path) != 4 || e.Path[1] != "byQueue" || e.Path[3] != "queue" {
					t.Errorf("error %+v", e)
				}
			}
			if d.CallSummary == nil {
				t.Fatalf("no summary: %+v", errs)
			}
			got := d.CallSummary.Totals
			if got.Calls != tt.wantCalls || got.Answered != tt.wantCalls || got.Missed != 0 || (tt.wantCalls > 0 && got.AverageDurationSeconds != 95) {
				t.Errorf("totals %+v, want %d answered calls of 95 s", got, tt.wantCalls)
			}
		})
	}
	// Bad input: an empty range.
	errs := p.as("olivia@acme.example", `{ callSummary(from: "2026-12-01T00:00:00Z", to: "2026-11-01T00:00:00Z") { totals { calls } } }`, nil, nil)
	if len(errs) != 1 || errs[0].code() != "BAD_USER_INPUT" || errs[0].Extensions["field"] != "to" {
		t.Errorf("empty range: %+v", errs)
	}
}

// TestQueueOverallStatus: agents see their queue's overall counts; the
// counts follow agentLogin (docs/product.md §3.8).
func TestQueueOverallStatus(t *testing.T) {
	p := startPortal(t)
	summary := func() string {
		var d struct {
			CallQueues struct {
				Edges []struct {
					Node struct {
						AgentSummary struct{ Agents, LoggedIn, Available int }
					}
				}
			}
		}
		if errs := p.as("alice@acme.example", `{ callQueues { edges { node { agentSummary { agents loggedIn available } } } } }`, nil, &d); len(errs) > 0 {
			t.Fatal(errs)
		}
		return fmt.Sprint(d.CallQueues.Edges[0].Node.AgentSummary)
	}
	if got := summary(); got != "{1 0 0}" {
		t.Errorf("before login: %s", got)
	}
	if errs := p.as("alice@acme.example", `mutation($q: ID!) { agentLogin(queueId: $q) { loggedIn } }`, map[string]any{"q": ids{p}.queue("Sales")}, nil); len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := summary(); got != "{1 1 1}" {
		t.Errorf("after login: %s", got)
	}
}
