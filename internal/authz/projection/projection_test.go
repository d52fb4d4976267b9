package projection

import (
	"slices"
	"testing"

	"github.com/pbxportal/pbxportal/internal/authz"
)

func TestDiff(t *testing.T) {
	r := func(id string) authz.Relationship {
		return authz.Relationship{Resource: authz.Object{Type: "domain", ID: "1"}, Relation: "member", Subject: authz.Object{Type: "user", ID: id}}
	}
	tests := []struct {
		name                    string
		before, after           []authz.Relationship
		wantTouches, wantDelete []authz.Relationship
	}{
		{"nothing changes", []authz.Relationship{r("1")}, []authz.Relationship{r("1")}, nil, nil},
		{"grant", nil, []authz.Relationship{r("1")}, []authz.Relationship{r("1")}, nil},
		{"revoke", []authz.Relationship{r("1")}, nil, nil, []authz.Relationship{r("1")}},
		{"swap, duplicates once", []authz.Relationship{r("1"), r("1")}, []authz.Relationship{r("2"), r("2")},
			[]authz.Relationship{r("2")}, []authz.Relationship{r("1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			touches, deletes := Diff(tt.before, tt.after)
			if !slices.Equal(touches, tt.wantTouches) || !slices.Equal(deletes, tt.wantDelete) {
				t.Errorf("Diff = %v, %v; want %v, %v", touches, deletes, tt.wantTouches, tt.wantDelete)
			}
		})
	}
}

func TestNumber(t *testing.T) {
	tests := []struct {
		domain int
		in     string
		want   string // "" for none
	}{
		{1, "141", "1_141"},
		{1, " +1 (555) 0100 ", "1_+15550100"},
		{2, "141", "2_141"},
		{1, "", ""},
		{1, " ;-", ""},
	}
	for _, tt := range tests {
		got, ok := Number(tt.domain, tt.in)
		if (tt.want == "") == ok || (ok && got.ID != tt.want) {
			t.Errorf("Number(%d, %q) = %v, %v; want %q", tt.domain, tt.in, got, ok, tt.want)
		}
	}
}
