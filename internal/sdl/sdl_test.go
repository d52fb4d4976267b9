package sdl_test

import (
	"os"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/pbxportal/pbxportal/graph/generated"
	"github.com/pbxportal/pbxportal/internal/sdl"
)

// TestCommittedSchemaIsCurrent: schema.graphql is what go generate writes
// now, so client code generators never see a stale schema.
func TestCommittedSchemaIsCurrent(t *testing.T) {
	b, err := os.ReadFile("../../schema.graphql")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != sdl.Full() {
		t.Fatal("schema.graphql is out of date: run `go generate ./internal/sdl` and commit it")
	}
}

// TestFullSchemaIsComplete: the printed SDL parses on its own into a schema
// with every type, field and argument of the served one, so a client
// generating code from the file sees the whole API.
func TestFullSchemaIsComplete(t *testing.T) {
	printed, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: sdl.Full()})
	if err != nil {
		t.Fatalf("the printed schema does not parse: %v", err)
	}
	served := generated.NewExecutableSchema(generated.Config{}).Schema()
	for name, def := range served.Types {
		if strings.HasPrefix(name, "__") {
			continue
		}
		got := printed.Types[name]
		if got == nil {
			t.Errorf("type %s is missing", name)
			continue
		}
		if got.Kind != def.Kind || len(got.Fields) != len(def.Fields) || len(got.EnumValues) != len(def.EnumValues) {
			t.Errorf("type %s differs: %s with %d fields, %d values; served %s with %d, %d",
				name, got.Kind, len(got.Fields), len(got.EnumValues), def.Kind, len(def.Fields), len(def.EnumValues))
			continue
		}
		for _, f := range def.Fields {
			pf := got.Fields.ForName(f.Name)
			if pf == nil || pf.Type.String() != f.Type.String() || len(pf.Arguments) != len(f.Arguments) {
				t.Errorf("field %s.%s differs", name, f.Name)
			}
		}
	}
}
