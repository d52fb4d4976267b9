// Package migration applies pbxportal's versioned migrations (Atlas format,
// see ent/migrate/migrations) to a PostgreSQL database, and tells whether a
// database is behind them. It works in the connection's current schema
// (search_path), where it keeps its history in RevisionsTable.
package migration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/postgres"
	"ariga.io/atlas/sql/schema"
)

// Options tune Apply.
type Options struct {
	// To, when set, is the last version to apply; later ones stay pending.
	To string
	// Baseline, when set, records that a database with tables but no
	// migration history already has the schema of this version (e.g. one an
	// older pbxportal created at start-up), so only later versions run. It
	// is ignored once the database has a history.
	Baseline string
}

// Apply applies dir's pending migrations to db, oldest first, and returns
// the versions it applied; none when the database is up to date. Each
// version runs in its own transaction together with its history row, under
// a lock that keeps concurrent Applys on the same schema apart, so a failed
// version leaves the database at the previous one.
func Apply(ctx context.Context, db *sql.DB, dir migrate.Dir, opts Options) ([]string, error) {
	if opts.To != "" {
		if err := hasVersion(dir, opts.To); err != nil {
			return nil, fmt.Errorf("--to: %w", err)
		}
	}
	if opts.Baseline != "" {
		if err := hasVersion(dir, opts.Baseline); err != nil {
			return nil, fmt.Errorf("--baseline: %w", err)
		}
	}
	var applied []string
	for {
		version, err := applyNext(ctx, db, dir, opts)
		if err != nil {
			return applied, err
		}
		if version == "" {
			return applied, nil
		}
		applied = append(applied, version)
	}
}

// applyNext applies the next pending version in a transaction and returns
// it, or "" when there is nothing (more) to apply.
func applyNext(ctx context.Context, db *sql.DB, dir migrate.Dir, opts Options) (_ string, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("begin migration: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	// The lock is the transaction's: it is released when it ends.
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('pbxportal.migrate.' || current_schema()))`); err != nil {
		return "", fmt.Errorf("lock the schema for migration: %w", err)
	}
	if err := createRevisionsTable(ctx, tx); err != nil {
		return "", err
	}
	var execOpts []migrate.ExecutorOption
	if opts.Baseline != "" {
		execOpts = append(execOpts, migrate.WithBaselineVersion(opts.Baseline))
	}
	ex, err := executor(tx, dir, execOpts...)
	if err != nil {
		return "", err
	}
	pending, err := ex.Pending(ctx)
	switch {
	case errors.Is(err, migrate.ErrNoPendingFiles):
		// Commit: a baseline revision may have been recorded.
		return "", commit(tx)
	case err != nil:
		return "", explain(err, dir)
	}
	next := pending[0]
	if opts.To != "" && next.Version() > opts.To {
		return "", commit(tx)
	}
	if err := ex.Execute(ctx, next); err != nil {
		var stmt *migrate.StmtExecError
		if errors.As(err, &stmt) {
			return "", fmt.Errorf("migration %s failed, and was rolled back; statement %q: %w", next.Name(), stmt.Stmt.Text, stmt.Err)
		}
		return "", fmt.Errorf("migration %s failed, and was rolled back: %w", next.Name(), err)
	}
	return next.Version(), commit(tx)
}

func commit(tx *sql.Tx) error {
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration: %w", err)
	}
	return nil
}

// BehindError is Check's answer for a database whose schema is older than
// this build's migrations.
type BehindError struct {
	// Current is the last version applied; "" when there is none.
	Current string
	// Pending are the versions not applied yet.
	Pending []string
	// Unversioned, when set, says why a database without migration history
	// cannot simply be migrated: it already has tables.
	Unversioned string
	// First is the first version of the migrations, the one to baseline an
	// unversioned database at.
	First string
}

func (e *BehindError) Error() string {
	if e.Unversioned != "" {
		return fmt.Sprintf("the database has tables but no migration history (%s); if an older pbxportal created it, "+
			"run `pbxportal migrate --baseline %s` with the same --database-url to adopt it, then start again", e.Unversioned, e.First)
	}
	at := "has no migrations applied"
	if e.Current != "" {
		at = "is at version " + e.Current
	}
	return fmt.Sprintf("the database schema is behind this pbxportal: it %s and %d migration(s) are pending (%s); "+
		"run `pbxportal migrate` with the same --database-url, then start again", at, len(e.Pending), strings.Join(e.Pending, ", "))
}

// Check returns nil when db has every migration of dir applied, a
// *BehindError when it has not, and another error when it cannot tell. It
// never writes to the database.
func Check(ctx context.Context, db *sql.DB, dir migrate.Dir) error {
	ex, err := executor(db, dir)
	if err != nil {
		return err
	}
	pending, err := ex.Pending(ctx)
	switch {
	case errors.Is(err, migrate.ErrNoPendingFiles):
		return nil
	case err != nil:
		return explain(err, dir)
	}
	revs, err := revisions{db}.ReadRevisions(ctx)
	if err != nil {
		return err
	}
	e := &BehindError{}
	if len(revs) > 0 {
		e.Current = revs[len(revs)-1].Version
	}
	for _, f := range pending {
		e.Pending = append(e.Pending, f.Version())
	}
	return e
}

// Versions lists the versions of dir, oldest first.
func Versions(dir migrate.Dir) ([]string, error) {
	files, err := dir.Files()
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	versions := make([]string, len(files))
	for i, f := range files {
		versions[i] = f.Version()
	}
	return versions, nil
}

func firstVersion(dir migrate.Dir) (string, error) {
	versions, err := Versions(dir)
	if err != nil || len(versions) == 0 {
		return "", err
	}
	return versions[0], nil
}

func hasVersion(dir migrate.Dir, version string) error {
	versions, err := Versions(dir)
	if err != nil {
		return err
	}
	if !slices.Contains(versions, version) {
		return fmt.Errorf("no migration version %q; the versions are %s", version, strings.Join(versions, ", "))
	}
	return nil
}

// explain turns Atlas's errors about the database's history into advice.
func explain(err error, dir migrate.Dir) error {
	var notClean *migrate.NotCleanError
	if errors.As(err, &notClean) {
		first, _ := firstVersion(dir)
		return &BehindError{Unversioned: notClean.Reason, First: first}
	}
	var checksum *migrate.ChecksumError
	if errors.As(err, &checksum) || errors.Is(err, migrate.ErrChecksumMismatch) {
		return fmt.Errorf("the migration files do not match atlas.sum; a committed migration was edited: %w", err)
	}
	return fmt.Errorf("plan migrations: %w", err)
}

// executor is Atlas's executor over q, scoped to its current schema.
func executor(q schema.ExecQuerier, dir migrate.Dir, opts ...migrate.ExecutorOption) (*migrate.Executor, error) {
	drv, err := postgres.Open(q)
	if err != nil {
		return nil, fmt.Errorf("open migration driver: %w", err)
	}
	pg, ok := drv.(*postgres.Driver)
	if !ok {
		return nil, fmt.Errorf("migrations support PostgreSQL only, not %T", drv)
	}
	opts = append(opts, migrate.WithOperatorVersion("pbxportal"))
	ex, err := migrate.NewExecutor(currentSchema{pg}, dir, revisions{q}, opts...)
	if err != nil {
		return nil, fmt.Errorf("open migration executor: %w", err)
	}
	return ex, nil
}

// currentSchema is Atlas's PostgreSQL driver scoped to the connection's
// current schema. Opened on a connection rather than a URL, the stock
// driver calls a database clean only if no schema but public has tables,
// which a database shared by several schemas never is.
type currentSchema struct{ *postgres.Driver }

// CheckClean implements migrate.CleanChecker: the current schema is clean
// when it has no table but the revisions table.
func (d currentSchema) CheckClean(ctx context.Context, revT *migrate.TableIdent) error {
	s, err := d.InspectSchema(ctx, "", nil)
	if err != nil {
		return fmt.Errorf("inspect the current schema: %w", err)
	}
	for _, t := range s.Tables {
		if revT == nil || t.Name != revT.Name {
			return &migrate.NotCleanError{State: schema.NewRealm(s), Reason: fmt.Sprintf("found table %q in schema %q", t.Name, s.Name)}
		}
	}
	return nil
}
