// Package generate writes pbxportal's versioned migration files. It replays
// the committed migration directory on a throwaway database of a PostgreSQL
// dev server, compares the result with ent/schema, and writes the difference as
// one new migration file in Atlas's format, updating atlas.sum. When the
// directory already matches ent/schema it writes nothing, so running it twice
// is harmless and CI can use it to detect drift.
package generate

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"

	atlas "ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"

	"github.com/pbxportal/pbxportal/internal/migration"
)

// Run writes a migration file named name (its version is the current UTC
// time) into dir with the changes that bring the migrations in dir up to
// ent/schema. devURL is a postgres:// URL of a database whose server lets Run
// create, and then drop, a scratch database. Run returns the names of the
// files it created or changed; none when there was nothing to do.
func Run(ctx context.Context, devURL, dir, name string) ([]string, error) {
	if name == "" {
		return nil, errors.New("a migration needs a name")
	}
	local, err := atlas.NewLocalDir(dir)
	if err != nil {
		return nil, fmt.Errorf("migration directory %s: %w", dir, err)
	}
	before, err := snapshot(dir)
	if err != nil {
		return nil, err
	}
	scratchURL, drop, err := scratchDatabase(ctx, devURL)
	if err != nil {
		return nil, err
	}
	defer drop()
	db, err := sql.Open("pgx", scratchURL)
	if err != nil {
		return nil, fmt.Errorf("open dev database: %w", err)
	}
	defer db.Close()
	err = migration.Diff(ctx, entsql.OpenDB(dialect.Postgres, db), name,
		schema.WithDir(local),
		schema.WithMigrationMode(schema.ModeReplay),
		schema.WithDialect(dialect.Postgres),
		schema.WithFormatter(atlas.DefaultFormatter),
		// A migration file is reviewed before it is committed, so it may
		// drop what ent/schema no longer has; otherwise the database could
		// never converge on the schema.
		schema.WithDropColumn(true),
		schema.WithDropIndex(true),
	)
	if err != nil {
		return nil, fmt.Errorf("diff ent/schema against %s: %w", dir, err)
	}
	after, err := snapshot(dir)
	if err != nil {
		return nil, err
	}
	var changed []string
	for name, content := range after {
		if old, ok := before[name]; !ok || old != content {
			changed = append(changed, name)
		}
	}
	slices.Sort(changed)
	return changed, nil
}

// snapshot reads every file of dir by name.
func snapshot(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read migration directory: %w", err)
	}
	files := make(map[string]string, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration directory: %w", err)
		}
		files[e.Name()] = string(b)
	}
	return files, nil
}

// scratchDatabase creates an empty database on the dev database's server
// and returns its URL and a function that drops it. It is a whole database,
// not a schema, because replaying the migration directory requires a
// database with nothing else in it.
func scratchDatabase(ctx context.Context, devURL string) (string, func(), error) {
	u, err := url.Parse(devURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, fmt.Errorf("dev database: want a postgres:// URL, got %q", devURL)
	}
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	name := "pbxportal_migrate_dev_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", devURL)
	if err != nil {
		return "", nil, fmt.Errorf("open dev database: %w", err)
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		_ = admin.Close()
		return "", nil, fmt.Errorf("create a scratch database next to the dev database: %w", err)
	}
	drop := func() {
		_, _ = admin.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = admin.Close()
	}
	u.Path = "/" + name
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}
