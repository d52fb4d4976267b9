package projection

import (
	"slices"
	"strings"
	"testing"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/user"
)

// TestRowRelationsCoverTheTablelessTypes: every relation of a type without a
// table is a RowRelation, so that a relation added to platform or number is
// caught here rather than answered from a row that does not write it.
func TestRowRelationsCoverTheTablelessTypes(t *testing.T) {
	var want []string
	for _, d := range compiledModel(t).ObjectDefinitions {
		if EntType(d.GetName()) != "" {
			continue
		}
		for _, r := range d.GetRelation() {
			if r.GetUsersetRewrite() == nil {
				want = append(want, d.GetName()+"#"+r.GetName())
			}
		}
	}
	slices.Sort(want)
	got := slices.Sorted(slices.Values(RowRelations()))
	if !slices.Equal(got, want) {
		t.Errorf("RowRelations() = %v, want the relations of the types without a table: %v", got, want)
	}
}

// TestRowResourcesNeedNoEdge: what a user's row writes of the RowRelations is
// the same whether its edges are loaded or not, since RowResources reads the
// row alone.
func TestRowResourcesNeedNoEdge(t *testing.T) {
	tests := []struct {
		name string
		u    ent.User
		want map[string][]string // by RowRelation
	}{
		{"support", ent.User{ID: 7, DomainID: 1, Scope: user.ScopeSUPPORT},
			map[string][]string{"platform#support": {"main"}}},
		{"office manager", ent.User{ID: 7, DomainID: 1, Scope: user.ScopeOFFICE_MANAGER}, nil},
		{"replays others", ent.User{ID: 7, DomainID: 2, Scope: user.ScopeBASIC_USER, MediaManagerReplay: true, ReplayOwn: true, ReplayOthers: "141; +1 555;141"},
			map[string][]string{"number#replayer": {"2_141", "2_+1555"}}},
		{"others without replayOwn", ent.User{ID: 7, DomainID: 2, Scope: user.ScopeBASIC_USER, MediaManagerReplay: true, ReplayOthers: "141"}, nil},
		{"others with the switch off", ent.User{ID: 7, DomainID: 2, Scope: user.ScopeBASIC_USER, ReplayOwn: true, ReplayOthers: "141"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bare := tt.u
			full := tt.u
			full.Edges = ent.UserEdges{
				Groups:           []*ent.Group{{ID: 3}},
				ReplayGroups:     []*ent.Group{{ID: 4}},
				SupervisedQueues: []*ent.CallQueue{{ID: 5}},
				AgentMemberships: []*ent.QueueAgent{{QueueID: 6}},
			}
			for _, k := range RowRelations() {
				typ, rel, _ := strings.Cut(k, "#")
				got, withEdges := rowResources(&bare, typ, rel), rowResources(&full, typ, rel)
				if !slices.Equal(got, withEdges) {
					t.Errorf("%s: %v from the row, %v with its edges", k, got, withEdges)
				}
				if !slices.Equal(got, tt.want[k]) {
					t.Errorf("%s: %v, want %v", k, got, tt.want[k])
				}
			}
		})
	}
}
