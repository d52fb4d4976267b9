// Package migrations holds pbxportal's versioned PostgreSQL migrations, in
// Atlas's format: one NNNNNNNNNNNNNN_name.sql file per version and atlas.sum,
// their checksums. The files are written by `go run ./cmd/migrategen` from
// ent/schema and are never edited by hand once committed; this file only
// embeds them in the binary.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"

	"ariga.io/atlas/sql/migrate"
)

//go:embed *.sql atlas.sum
var files embed.FS

// Dir returns the embedded migration directory. Each call returns a new,
// independent copy.
func Dir() (*migrate.MemDir, error) {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	dir := &migrate.MemDir{}
	for _, e := range entries {
		b, err := files.ReadFile(e.Name())
		if err != nil {
			return nil, fmt.Errorf("read embedded migration %s: %w", e.Name(), err)
		}
		if err := dir.WriteFile(e.Name(), b); err != nil {
			return nil, err
		}
	}
	return dir, nil
}
