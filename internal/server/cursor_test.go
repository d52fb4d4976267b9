package server

import (
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
)

// FuzzCursorChecks feeds the cursor checks, which run before anything
// else on every cursor a client sends, whatever a client could send: they
// may refuse it, never panic. (The msgpack decoder under them panics on a
// key given twice; seed "value twice".) CI fuzzes it briefly, with the
// handler's targets.
func FuzzCursorChecks(f *testing.F) {
	for _, seed := range []string{
		"gaFpzwAAAAwAAAAJ",   // a user's id, no value
		"gqFpAaF2gqFhAaFiAg", // a map as the value
		"g6FpAaF2AaF2Ag",     // value twice
		"gqFpAaFpAg",         // id twice
		"////",
	} {
		f.Add(seed, "STARTED_AT")
	}
	def := &ast.FieldDefinition{Arguments: ast.ArgumentDefinitionList{
		{Name: "after"}, {Name: "before"}, {Name: "orderBy", Type: ast.NamedType("RecordingOrder", nil)},
	}}
	f.Fuzz(func(t *testing.T, cursor, orderField string) {
		if validCursor(cursor) {
			_ = cursorsFitOrder(def, map[string]any{"after": cursor, "orderBy": map[string]any{"field": orderField}})
		}
	})
}
