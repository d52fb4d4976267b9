package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/pbxportal/pbxportal/internal/pgtest"
)

// run runs the CLI in-process and returns its output and error.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// TestMigrateCommand walks a database through the CLI: serve refuses it,
// migrate applies every version (reading PBXPORTAL_DATABASE_URL), a second
// migrate does nothing, and bad flags are refused with a clear error.
func TestMigrateCommand(t *testing.T) {
	dbURL := pgtest.URL(t)
	dataDir := t.TempDir()
	t.Setenv("PBXPORTAL_DATABASE_URL", dbURL)
	steps := []struct {
		name    string
		args    []string
		wantErr string // "" for success
		wantOut string
	}{
		{"serve refuses an unmigrated database", []string{"serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0"}, "run `pbxportal migrate`", ""},
		{"token refuses it too", []string{"token", "--data-dir", dataDir, "--username", "nobody"}, "run `pbxportal migrate`", ""},
		{"an unknown --to is refused", []string{"migrate", "--to", "1"}, `no migration version "1"`, ""},
		{"migrate applies every version", []string{"migrate"}, "", "applied "},
		{"migrate again does nothing", []string{"migrate"}, "", "up to date"},
		{"token now opens the database", []string{"token", "--data-dir", dataDir, "--username", "nobody"}, `no user "nobody"`, ""},
		{"migrate refuses SQLite", []string{"migrate", "--database-url", "", "--data-dir", dataDir}, "needs --database-url", ""},
		{"migrate refuses other databases", []string{"migrate", "--database-url", "mysql://x/y"}, "only postgres:// URLs", ""},
		{"migrate takes no arguments", []string{"migrate", "now"}, "unknown command", ""},
	}
	for _, s := range steps {
		out, err := run(t, s.args...)
		switch {
		case s.wantErr == "" && err != nil:
			t.Errorf("%s: %v", s.name, err)
		case s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)):
			t.Errorf("%s: error %v, want one mentioning %q", s.name, err, s.wantErr)
		}
		if !strings.Contains(out, s.wantOut) {
			t.Errorf("%s: output %q, want it to contain %q", s.name, out, s.wantOut)
		}
	}
}
