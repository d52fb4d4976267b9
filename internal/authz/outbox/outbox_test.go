package outbox

import (
	"testing"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/outboxentry"
	"github.com/pbxportal/pbxportal/internal/authz"
)

func TestParseRoundTrip(t *testing.T) {
	tests := []authz.Relationship{
		{Resource: authz.Object{Type: "domain", ID: "1"}, Relation: "office_manager", Subject: authz.Object{Type: "user", ID: "2"}},
		{Resource: authz.Object{Type: "number", ID: "1_+15550100"}, Relation: "replayer", Subject: authz.Object{Type: "user", ID: "3"}},
		{Resource: authz.Object{Type: "group", ID: "4"}, Relation: "viewer", Subject: authz.Object{Type: "group", ID: "5"}, SubjectRelation: "member"},
	}
	for _, want := range tests {
		got, err := Parse(want.String())
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v", want.String(), got, err)
		}
	}
	for _, bad := range []string{"", "user:1", "user:1#rel", "user#rel@user:2", "user:1#@user:2", "user:1#rel@:2"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestCollapseKeepsTheLastOperation(t *testing.T) {
	a, b := "domain:1#member@user:2", "domain:1#member@user:3"
	rows := []*ent.OutboxEntry{
		{ID: 1, Operation: outboxentry.OperationTOUCH, Relationship: a},
		{ID: 2, Operation: outboxentry.OperationDELETE, Relationship: b},
		{ID: 3, Operation: outboxentry.OperationDELETE, Relationship: a},
		{ID: 4, Operation: outboxentry.OperationTOUCH, Relationship: b},
	}
	touches, deletes, err := collapse(rows)
	if err != nil {
		t.Fatal(err)
	}
	if len(touches) != 1 || touches[0].String() != b || len(deletes) != 1 || deletes[0].String() != a {
		t.Errorf("touches %v, deletes %v; want touch %s, delete %s", touches, deletes, b, a)
	}
}
