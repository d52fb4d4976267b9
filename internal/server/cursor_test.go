package server

import (
	"encoding/base64"
	"runtime"
	"slices"
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
		"gqFpAaF23/////8",    // a map claiming 2³² entries
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

// TestHostileCursorsCostLittle: a cursor whose msgpack headers claim more
// than it holds (2³² map entries in 15 bytes, which the decoder would size a
// map for: 80 MB) is refused having allocated almost nothing, whatever the
// header's kind.
func TestHostileCursorsCostLittle(t *testing.T) {
	prefix := []byte{0x82, 0xa1, 'i', 0x01, 0xa1, 'v'} // {i: 1, v: …}
	claims := map[string][]byte{
		"map32":   {0xdf, 0xff, 0xff, 0xff, 0xff},
		"map16":   {0xde, 0xff, 0xff},
		"array32": {0xdd, 0xff, 0xff, 0xff, 0xff},
		"str32":   {0xdb, 0xff, 0xff, 0xff, 0xff},
		"bin32":   {0xc6, 0xff, 0xff, 0xff, 0xff},
		"ext32":   {0xc9, 0xff, 0xff, 0xff, 0xff, 0x01},
		"fixmap":  {0x8f},
		"nested":  {0x91, 0x91, 0x91, 0xdf, 0xff, 0xff, 0xff, 0xff},
	}
	for name, claim := range claims {
		t.Run(name, func(t *testing.T) {
			cursor := base64.RawStdEncoding.EncodeToString(append(slices.Clone(prefix), claim...))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			valid := validCursor(cursor)
			runtime.ReadMemStats(&after)
			if valid {
				t.Fatalf("cursor %q taken", cursor)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
				t.Errorf("refusing cursor %q allocated %d KiB", cursor, n>>10)
			}
		})
	}
	// A cursor the server issues still passes.
	good := base64.RawStdEncoding.EncodeToString(append(slices.Clone(prefix), 0xa3, 'T', 'i', 'e'))
	if !validCursor(good) {
		t.Errorf("cursor %q of a string value refused", good)
	}
}
