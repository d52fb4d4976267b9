// Package sdl prints the whole GraphQL schema as one SDL document: the file
// schema.graphql at the repository's root, for client code generators
// (`go generate ./...` writes it; CI fails if it drifts), and the output of
// `pbxportal schema`.
package sdl

//go:generate go run ./gen ../../schema.graphql

import (
	"bytes"

	"github.com/vektah/gqlparser/v2/formatter"

	"github.com/pbxportal/pbxportal/graph/generated"
)

// header opens the printed schema.
const header = `# The whole GraphQL schema of pbxportal, as one file for client code generators.
# Generated from graph/*.graphql by ` + "`go generate ./...`" + `: do not edit.
# Custom scalars and their TypeScript mapping: docs/frontend.md.

`

// Full is the whole schema, sorted by name, with descriptions.
func Full() string {
	var b bytes.Buffer
	b.WriteString(header)
	formatter.NewFormatter(&b, formatter.WithIndent("  ")).FormatSchema(generated.NewExecutableSchema(generated.Config{}).Schema())
	return b.String()
}
