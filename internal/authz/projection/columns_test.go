package projection

import (
	"strings"
	"testing"

	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"

	"github.com/pbxportal/pbxportal/internal/authz/model"
)

// compiledModel is schema.zed, compiled by SpiceDB's own compiler.
func compiledModel(t *testing.T) *compiler.CompiledSchema {
	t.Helper()
	cs, err := compiler.Compile(compiler.InputSchema{Source: input.Source("schema.zed"), SchemaString: model.Schema},
		compiler.AllowUnprefixedObjectType())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestColumnsCoverTheModel: every relation of schema.zed on a type that has
// a table has exactly one column, and every column names a relation of the
// model, so that a relation added to the model without its column is caught
// here rather than by a list that falls back.
func TestColumnsCoverTheModel(t *testing.T) {
	cs := compiledModel(t)
	tabled := map[string]bool{TypeUser: true, TypeDomain: true, TypeSite: true, TypeQueue: true,
		TypeGroup: true, TypeRecording: true, TypeContact: true}
	relations := map[string]bool{}
	for _, d := range cs.ObjectDefinitions {
		for _, r := range d.GetRelation() {
			if r.GetUsersetRewrite() == nil && tabled[d.GetName()] {
				relations[d.GetName()+"#"+r.GetName()] = true
			}
		}
	}
	columns := map[string]int{}
	for _, c := range Columns() {
		if c.Via != "" { // a copy of a through row's relation, kept on the resource's row
			if !relations[c.Resource+"#"+c.Relation] {
				t.Errorf("copy %s#%s via %s: %s#%s is not a relation of schema.zed", c.Resource, c.Relation, c.Via, c.Resource, c.Relation)
			}
			continue
		}
		columns[c.Resource+"#"+c.Relation]++
	}
	for r := range relations {
		if columns[r] != 1 {
			t.Errorf("%s has %d columns, want 1", r, columns[r])
		}
	}
	for c := range columns {
		if !relations[c] {
			t.Errorf("column %s names no relation of schema.zed", c)
		}
	}
	if len(relations) < 30 || !strings.Contains(model.Schema, "definition recording") {
		t.Errorf("only %d relations: is the model embedded?", len(relations))
	}
}
