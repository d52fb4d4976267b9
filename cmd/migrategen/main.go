// Command migrategen writes a new versioned migration file into
// ent/migrate/migrations when ent/schema has changed since the last one, and
// writes nothing when it has not. It needs a PostgreSQL dev database, in
// whose server it creates and drops a throwaway database:
//
//	go run ./cmd/migrategen --dev-url postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable --name add_widgets
//
// --dev-url defaults to PBXPORTAL_DEV_DATABASE_URL, then to
// PBXPORTAL_TEST_DATABASE_URL; --dir and --name default to
// PBXPORTAL_MIGRATIONS_DIR and PBXPORTAL_MIGRATION_NAME.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/pbxportal/pbxportal/internal/migration/generate"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "migrategen:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrategen", flag.ContinueOnError)
	devURL := fs.String("dev-url", env("PBXPORTAL_DEV_DATABASE_URL", env("PBXPORTAL_TEST_DATABASE_URL", "")),
		"postgres:// URL of a dev database; a scratch database is created and dropped next to it")
	dir := fs.String("dir", env("PBXPORTAL_MIGRATIONS_DIR", "ent/migrate/migrations"), "the migration directory")
	name := fs.String("name", env("PBXPORTAL_MIGRATION_NAME", "changes"), "the new migration's name, e.g. add_widgets")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *devURL == "" {
		return errors.New("no dev database: give --dev-url or set PBXPORTAL_DEV_DATABASE_URL")
	}
	files, err := generate.Run(ctx, *devURL, *dir, *name)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fmt.Println("the migrations in", *dir, "match ent/schema; nothing written")
	}
	for _, f := range files {
		fmt.Println("wrote", *dir+"/"+f)
	}
	return nil
}

// env returns the variable's value, or def when it is unset.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
