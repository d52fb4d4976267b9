package projection

import (
	"maps"
	"slices"
	"testing"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/user"
)

// TestRowRelationsCoverTheTablelessTypes: every relation of a type without a
// table is a RowRelation, so that a relation added to platform or number is
// caught here rather than answered from a row that does not write it.
func TestRowRelationsCoverTheTablelessTypes(t *testing.T) {
	row := RowRelations()
	for _, d := range compiledModel(t).ObjectDefinitions {
		if EntType(d.GetName()) != "" {
			continue
		}
		for _, r := range d.GetRelation() {
			if k := d.GetName() + "#" + r.GetName(); r.GetUsersetRewrite() == nil && !slices.Contains(row, k) {
				t.Errorf("%s, a relation of a type without a table, is not one of RowRelations() %v", k, row)
			}
		}
	}
}

// TestRowResources: what a user's row and memberships write of the
// RowRelations, by branch of emitUser.
func TestRowResources(t *testing.T) {
	edges := ent.UserEdges{
		Groups:           []*ent.Group{{ID: 3}},
		ReplayGroups:     []*ent.Group{{ID: 4}},
		SupervisedQueues: []*ent.CallQueue{{ID: 5}},
		AgentMemberships: []*ent.QueueAgent{{QueueID: 6}},
	}
	memberships := map[string][]string{"group#member": {"3"}, "queue#supervisor": {"5"}, "queue#agent": {"6"}}
	with := func(m map[string][]string, more map[string][]string) map[string][]string {
		out := maps.Clone(m)
		maps.Copy(out, more)
		return out
	}
	tests := []struct {
		name string
		u    ent.User
		want map[string][]string // by RowRelation
	}{
		{"support", ent.User{ID: 7, DomainID: 1, Scope: user.ScopeSUPPORT},
			map[string][]string{"platform#support": {"main"}, "domain#member": {"1"}}},
		{"office manager", ent.User{ID: 7, DomainID: 1, Scope: user.ScopeOFFICE_MANAGER},
			map[string][]string{"domain#member": {"1"}, "domain#office_manager": {"1"}}},
		{"site manager", ent.User{ID: 7, DomainID: 1, SiteID: 4, Scope: user.ScopeSITE_MANAGER},
			map[string][]string{"domain#member": {"1"}, "site#site_manager": {"4"}}},
		{"no portal, with domain-wide rights", ent.User{ID: 7, DomainID: 3, Scope: user.ScopeNO_PORTAL, HistoricalCallReporting: true,
			MediaManagerReplay: true, ReplayAll: true, DownloadRecordings: true},
			map[string][]string{"domain#historical_reporter": {"3"}, "domain#replays_all": {"3"}, "domain#downloader": {"3"}}},
		{"replays others", ent.User{ID: 7, DomainID: 2, Scope: user.ScopeBASIC_USER, MediaManagerReplay: true, ReplayOwn: true, ReplayOthers: "141; +1 555;141"},
			map[string][]string{"domain#member": {"2"}, "number#replayer": {"2_141", "2_+1555"}, "user#replays_own": {"7"}}},
		{"switches on itself", ent.User{ID: 7, DomainID: 2, Scope: user.ScopeBASIC_USER, VoicePortalAccess: true, ProfileAccess: user.ProfileAccessWRITE},
			map[string][]string{"domain#member": {"2"}, "user#portal_access": {"7"}, "user#profile_read": {"7"}, "user#profile_write": {"7"}}},
		{"others without replayOwn", ent.User{ID: 7, DomainID: 2, Scope: user.ScopeBASIC_USER, MediaManagerReplay: true, ReplayOthers: "141"},
			map[string][]string{"domain#member": {"2"}}},
		{"others with the switch off", ent.User{ID: 7, DomainID: 2, Scope: user.ScopeBASIC_USER, ReplayOwn: true, ReplayOthers: "141"},
			map[string][]string{"domain#member": {"2"}}},
		{"memberships", ent.User{ID: 7, DomainID: 2, Scope: user.ScopeCALL_CENTER_AGENT, Edges: edges},
			with(memberships, map[string][]string{"domain#member": {"2"}})},
		{"memberships, replaying groups", ent.User{ID: 7, DomainID: 2, Scope: user.ScopeBASIC_USER, MediaManagerReplay: true, ReplayOwn: true, Edges: edges},
			with(memberships, map[string][]string{"domain#member": {"2"}, "group#replayer": {"4"}, "user#replays_own": {"7"}})},
		{"memberships, groups not replayed without replayOwn", ent.User{ID: 7, DomainID: 2, Scope: user.ScopeBASIC_USER, MediaManagerReplay: true, Edges: edges},
			with(memberships, map[string][]string{"domain#member": {"2"}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want = with(tt.want, map[string][]string{"user#self": {"7"}}) // every user is itself
			if got := rowResources(&tt.u); !maps.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("%v, want %v", got, tt.want)
			}
		})
	}
}

// TestParseIDList: the memberships' id lists as each database returns
// them.
func TestParseIDList(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"", nil, false},
		{"7", []int{7}, false},
		{"7,12,3", []int{7, 12, 3}, false},
		{"4,x", nil, true},
		{",", nil, true},
	}
	for _, tt := range tests {
		got, err := parseIDList(tt.in)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("parseIDList(%#v) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
