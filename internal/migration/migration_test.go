package migration_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	atlas "ariga.io/atlas/sql/migrate"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/ent/migrate/migrations"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/migration"
	"github.com/pbxportal/pbxportal/internal/pgtest"
)

// committed returns the committed migration directory and its versions.
func committed(t *testing.T) (*atlas.MemDir, []string) {
	t.Helper()
	dir, err := migrations.Dir()
	if err != nil {
		t.Fatal(err)
	}
	versions, err := migration.Versions(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) == 0 {
		t.Fatal("no committed migrations")
	}
	return dir, versions
}

// freshDB returns a pool on a fresh, empty schema of the test database.
func freshDB(t *testing.T) *sql.DB {
	t.Helper()
	return pgtest.Open(t, pgtest.URL(t))
}

func apply(t *testing.T, db *sql.DB, dir atlas.Dir, opts migration.Options) []string {
	t.Helper()
	applied, err := migration.Apply(context.Background(), db, dir, opts)
	if err != nil {
		t.Fatalf("apply %+v: %v", opts, err)
	}
	return applied
}

// entClient is an ent client on db.
func entClient(db *sql.DB) *ent.Client {
	return ent.NewClient(ent.Driver(entsql.OpenDB(dialect.Postgres, db)))
}

// TestApplyOnEmptySchemaMatchesEnt applies every migration to an empty
// schema and checks that ent/schema sees nothing to change and can write.
func TestApplyOnEmptySchemaMatchesEnt(t *testing.T) {
	ctx := context.Background()
	dir, versions := committed(t)
	db := freshDB(t)
	if applied := apply(t, db, dir, migration.Options{}); !slices.Equal(applied, versions) {
		t.Fatalf("applied %v, want every version %v", applied, versions)
	}

	// Ent's own diff of the live schema against ent/schema must be empty,
	// drops included.
	out := t.TempDir()
	local, err := atlas.NewLocalDir(out)
	if err != nil {
		t.Fatal(err)
	}
	err = migration.Diff(ctx, entsql.OpenDB(dialect.Postgres, db), "drift",
		schema.WithDir(local), schema.WithMigrationMode(schema.ModeInspect),
		schema.WithDialect(dialect.Postgres), schema.WithFormatter(atlas.DefaultFormatter),
		schema.WithDropColumn(true), schema.WithDropIndex(true), schema.WithErrNoPlan(true))
	if !errors.Is(err, atlas.ErrNoPlan) {
		files, _ := os.ReadDir(out)
		for _, f := range files {
			b, _ := os.ReadFile(filepath.Join(out, f.Name()))
			t.Logf("%s:\n%s", f.Name(), b)
		}
		t.Fatalf("the migrated schema differs from ent/schema (err %v)", err)
	}

	client := entClient(db)
	d, err := client.Domain.Create().SetName("fresh.example").Save(ctx)
	if err != nil {
		t.Fatalf("create a domain through ent: %v", err)
	}
	if _, err := client.Site.Create().SetName("HQ").SetDomain(d).Save(ctx); err != nil {
		t.Fatalf("create a site through ent: %v", err)
	}
	if n := client.Site.Query().Where().CountX(ctx); n != 1 {
		t.Errorf("%d sites, want 1", n)
	}
}

// TestApplyTwiceIsNoop shows that a second Apply applies and records
// nothing.
func TestApplyTwiceIsNoop(t *testing.T) {
	ctx := context.Background()
	dir, versions := committed(t)
	db := freshDB(t)
	apply(t, db, dir, migration.Options{})
	before := history(t, db)
	if applied := apply(t, db, dir, migration.Options{}); len(applied) != 0 {
		t.Errorf("second apply applied %v, want nothing", applied)
	}
	if after := history(t, db); !slices.Equal(before, after) || len(after) != len(versions) {
		t.Errorf("history changed by a second apply:\nbefore %v\nafter  %v", before, after)
	}
	if err := migration.Check(ctx, db, dir); err != nil {
		t.Errorf("check after apply: %v", err)
	}
}

// history lists the revisions table's rows as text; nil when there is no
// such table.
func history(t *testing.T, db *sql.DB) []string {
	t.Helper()
	var exists bool
	if err := db.QueryRow(`SELECT to_regclass($1) IS NOT NULL`, migration.RevisionsTable).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if !exists {
		return nil
	}
	rows, err := db.Query(`SELECT version || ' ' || type || ' ' || applied || '/' || total || ' ' || executed_at FROM ` +
		migration.RevisionsTable + ` ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestCheck shows what Check says of databases at different versions.
func TestCheck(t *testing.T) {
	ctx := context.Background()
	dir, versions := committed(t)
	first := versions[0]
	tests := []struct {
		name  string
		setup func(t *testing.T, db *sql.DB)
		want  *migration.BehindError // nil: up to date
	}{
		{
			name:  "empty schema",
			setup: func(*testing.T, *sql.DB) {},
			want:  &migration.BehindError{Pending: versions},
		},
		{
			name:  "every version applied",
			setup: func(t *testing.T, db *sql.DB) { apply(t, db, dir, migration.Options{}) },
		},
		{
			name:  "first version applied",
			setup: func(t *testing.T, db *sql.DB) { apply(t, db, dir, migration.Options{To: first}) },
			want: func() *migration.BehindError {
				if len(versions) == 1 {
					return nil
				}
				return &migration.BehindError{Current: first, Pending: versions[1:]}
			}(),
		},
		{
			// A newer release migrated the database; this one still runs.
			name: "ahead: a later, unknown version applied",
			setup: func(t *testing.T, db *sql.DB) {
				apply(t, db, dir, migration.Options{})
				if _, err := db.Exec(`INSERT INTO ` + migration.RevisionsTable + `
					(version, description, type, applied, total, executed_at, execution_time, hash)
					VALUES ('99991231235959', 'future', 2, 1, 1, now(), 0, 'x')`); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "tables but no history",
			setup: func(t *testing.T, db *sql.DB) {
				if _, err := db.Exec(`CREATE TABLE domains (id bigint PRIMARY KEY)`); err != nil {
					t.Fatal(err)
				}
			},
			want: &migration.BehindError{Unversioned: "found table", First: first},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := freshDB(t)
			tt.setup(t, db)
			before := history(t, db)
			err := migration.Check(ctx, db, dir)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("check: %v, want nil", err)
				}
				return
			}
			var behind *migration.BehindError
			if !errors.As(err, &behind) {
				t.Fatalf("check: %v, want a *BehindError", err)
			}
			if behind.Current != tt.want.Current || !slices.Equal(behind.Pending, tt.want.Pending) ||
				!strings.Contains(behind.Unversioned, tt.want.Unversioned) || behind.First != tt.want.First {
				t.Errorf("check: %+v, want %+v", behind, tt.want)
			}
			wantWords := []string{"pbxportal migrate"}
			if tt.want.Unversioned != "" {
				wantWords = append(wantWords, "--baseline "+first)
			}
			for _, w := range wantWords {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q does not mention %q", err, w)
				}
			}
			if after := history(t, db); !slices.Equal(before, after) {
				t.Errorf("check wrote to the history: %v, then %v", before, after)
			}
		})
	}
}

// TestUpgradeKeepsData applies only the first committed version, writes
// data the way that version's schema allows, migrates to the latest version
// and reads the data back through ent at the latest schema.
func TestUpgradeKeepsData(t *testing.T) {
	ctx := context.Background()
	dir, versions := committed(t)
	db := freshDB(t)
	if applied := apply(t, db, dir, migration.Options{To: versions[0]}); !slices.Equal(applied, versions[:1]) {
		t.Fatalf("applied %v, want only %v", applied, versions[:1])
	}
	// Plain SQL against the first version's tables, which never change.
	var domainID, userID int
	if err := db.QueryRow(`INSERT INTO domains (name) VALUES ('upgrade.example') RETURNING id`).Scan(&domainID); err != nil {
		t.Fatalf("insert a domain at version %s: %v", versions[0], err)
	}
	if err := db.QueryRow(`INSERT INTO users (username, display_name, extension, password_hash, domain_id)
		VALUES ('ursula@upgrade.example', 'Ursula', '2001', 'x', $1) RETURNING id`, domainID).Scan(&userID); err != nil {
		t.Fatalf("insert a user at version %s: %v", versions[0], err)
	}

	if applied := apply(t, db, dir, migration.Options{}); !slices.Equal(applied, versions[1:]) {
		t.Fatalf("upgrade applied %v, want the rest %v", applied, versions[1:])
	}
	if err := migration.Check(ctx, db, dir); err != nil {
		t.Fatalf("check after the upgrade: %v", err)
	}
	client := entClient(db)
	u, err := client.User.Query().Where(user.Username("ursula@upgrade.example")).WithDomain().Only(ctx)
	if err != nil {
		t.Fatalf("read the user after the upgrade: %v", err)
	}
	if u.ID != userID || u.DisplayName != "Ursula" || u.Edges.Domain == nil || u.Edges.Domain.ID != domainID {
		t.Errorf("after the upgrade the user is %+v with domain %+v, want id %d in domain %d", u, u.Edges.Domain, userID, domainID)
	}
	if n := client.Domain.Query().Where(domain.Name("upgrade.example")).CountX(ctx); n != 1 {
		t.Errorf("%d upgrade.example domains after the upgrade, want 1", n)
	}
}

// TestFailedMigrationRollsBack adds a broken version after the committed
// ones: Apply applies the good ones, reports the broken one, and leaves no
// trace of it.
func TestFailedMigrationRollsBack(t *testing.T) {
	ctx := context.Background()
	good, versions := committed(t)
	files, err := good.Files()
	if err != nil {
		t.Fatal(err)
	}
	const broken = "99991231235959"
	files = append(files, atlas.NewLocalFile(broken+"_broken.sql",
		[]byte("CREATE TABLE half_done (id bigint);\nSELECT 1/0;\n")))
	dir := &atlas.MemDir{}
	if err := dir.CopyFiles(files); err != nil {
		t.Fatal(err)
	}
	db := freshDB(t)

	applied, err := migration.Apply(ctx, db, dir, migration.Options{})
	if err == nil {
		t.Fatal("apply of a broken migration succeeded")
	}
	for _, w := range []string{broken + "_broken.sql", "rolled back", "SELECT 1/0", "division by zero"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if !slices.Equal(applied, versions) {
		t.Errorf("applied %v before the broken one, want %v", applied, versions)
	}
	var exists bool
	if err := db.QueryRow(`SELECT to_regclass('half_done') IS NOT NULL`).Scan(&exists); err != nil || exists {
		t.Errorf("the broken migration's table exists (%v, err %v); it should have been rolled back", exists, err)
	}
	var behind *migration.BehindError
	if err := migration.Check(ctx, db, dir); !errors.As(err, &behind) || !slices.Equal(behind.Pending, []string{broken}) {
		t.Errorf("check with the broken version: %v, want it pending", err)
	}
	if err := migration.Check(ctx, db, good); err != nil {
		t.Errorf("check with the committed versions: %v", err)
	}
}

// TestBaselineAdoptsUnversionedDatabase builds a database with the first
// version's schema but no history, as an older pbxportal left it, and
// adopts it with a baseline.
func TestBaselineAdoptsUnversionedDatabase(t *testing.T) {
	ctx := context.Background()
	dir, versions := committed(t)
	files, err := dir.Files()
	if err != nil {
		t.Fatal(err)
	}
	stmts, err := files[0].Stmts()
	if err != nil {
		t.Fatal(err)
	}
	db := freshDB(t)
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}

	var behind *migration.BehindError
	if _, err := migration.Apply(ctx, db, dir, migration.Options{}); !errors.As(err, &behind) || behind.Unversioned == "" {
		t.Fatalf("apply without a baseline: %v, want an unversioned *BehindError", err)
	}
	if _, err := migration.Apply(ctx, db, dir, migration.Options{Baseline: "20000101000000"}); err == nil ||
		!strings.Contains(err.Error(), "no migration version") {
		t.Errorf("apply with an unknown baseline: %v, want an error naming the versions", err)
	}
	if applied := apply(t, db, dir, migration.Options{Baseline: versions[0]}); !slices.Equal(applied, versions[1:]) {
		t.Errorf("apply with baseline %s applied %v, want %v", versions[0], applied, versions[1:])
	}
	if err := migration.Check(ctx, db, dir); err != nil {
		t.Errorf("check after the baseline: %v", err)
	}
	if h := history(t, db); len(h) != len(versions) || !strings.HasPrefix(h[0], versions[0]+" 1 ") {
		t.Errorf("history %v, want a baseline (type 1) row for %s then one per version", h, versions[0])
	}
}
