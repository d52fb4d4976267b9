package generate_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pbxportal/pbxportal/internal/migration/generate"
	"github.com/pbxportal/pbxportal/internal/pgtest"
)

// devURL is the dev database, or skips the test without one.
func devURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv(pgtest.EnvURL)
	if u == "" {
		t.Skip(pgtest.EnvURL + " is not set; skipping the PostgreSQL test")
	}
	return u
}

// copyDir copies the files of src into a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || !(strings.HasSuffix(e.Name(), ".sql") || e.Name() == "atlas.sum") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestRun generates into directories in different states.
func TestRun(t *testing.T) {
	dev := devURL(t)
	ctx := context.Background()
	tests := []struct {
		name string
		dir  func(t *testing.T) string
		// wantNew says whether a new version is expected.
		wantNew bool
	}{
		{
			// The committed migrations must match ent/schema: if this fails,
			// run go run ./cmd/migrategen --name <change> and commit.
			name: "committed migrations",
			dir:  func(t *testing.T) string { return copyDir(t, "../../../ent/migrate/migrations") },
		},
		{
			name:    "empty directory",
			dir:     func(t *testing.T) string { return t.TempDir() },
			wantNew: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir(t)
			written, err := generate.Run(ctx, dev, dir, "test")
			if err != nil {
				t.Fatalf("generate: %v", err)
			}
			if !tt.wantNew {
				for _, f := range written {
					b, _ := os.ReadFile(filepath.Join(dir, f))
					t.Errorf("generate wrote %s:\n%s", f, b)
				}
				return
			}
			if len(written) != 2 || !strings.HasSuffix(written[0], "_test.sql") || written[1] != "atlas.sum" {
				t.Fatalf("generate wrote %v, want one NNN_test.sql and atlas.sum", written)
			}
			b, err := os.ReadFile(filepath.Join(dir, written[0]))
			if err != nil || !strings.Contains(string(b), `CREATE TABLE "users"`) {
				t.Errorf("the first migration does not create users (err %v):\n%s", err, b)
			}
			// Deterministic: nothing changed, so nothing is written.
			again, err := generate.Run(ctx, dev, dir, "again")
			if err != nil || len(again) != 0 {
				t.Errorf("a second run wrote %v (err %v), want nothing", again, err)
			}
		})
	}
}

// TestRunRejectsBadInput shows the errors for bad arguments.
func TestRunRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, devURL, dir, migration, want string
	}{
		{"no name", "postgres://localhost/x", t.TempDir(), "", "needs a name"},
		{"missing directory", "postgres://localhost/x", filepath.Join(t.TempDir(), "absent"), "x", "migration directory"},
		{"not postgres", "mysql://localhost/x", t.TempDir(), "x", "postgres:// URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			written, err := generate.Run(ctx, tt.devURL, tt.dir, tt.migration)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run: %v, want an error mentioning %q", err, tt.want)
			}
			if !slices.Equal(written, nil) {
				t.Errorf("Run wrote %v on bad input", written)
			}
		})
	}
}
