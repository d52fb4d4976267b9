package validate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pbxportal/pbxportal/internal/authz/validate"
)

// repoFile is a file at the top of the repository.
func repoFile(name string) string { return filepath.Join("..", "..", "..", name) }

func TestSchemaValidationFilePasses(t *testing.T) {
	fails, err := validate.File(t.Context(), repoFile("schema.validation.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fails {
		t.Error(f)
	}
	contents, _ := os.ReadFile(repoFile("schema.validation.yaml"))
	if n := strings.Count(string(contents), "\n    - '"); n < 60 {
		t.Errorf("%d assertions; the permission matrix wants at least 60", n)
	}
}

// TestFlippedAssertionFails shows that the check has teeth: each flipped
// assertion is reported, by name.
func TestFlippedAssertionFails(t *testing.T) {
	contents, err := os.ReadFile(repoFile("schema.validation.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	schema, err := os.ReadFile(repoFile("schema.zed"))
	if err != nil {
		t.Fatal(err)
	}
	// Each case swaps one assertion for its opposite.
	tests := []struct{ name, from, to string }{
		{"a true fact asserted false", "'user:nina#log_in@user:nina'", "'user:bob#log_in@user:bob'"},
		{"a false fact asserted true", "'user:olivia#view@user:bob'", "'user:olivia#view_private@user:bob'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			flipped := strings.Replace(string(contents), tt.from, tt.to, 1)
			if err := os.WriteFile(filepath.Join(dir, "schema.zed"), schema, 0o600); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "v.yaml")
			if err := os.WriteFile(path, []byte(flipped), 0o600); err != nil {
				t.Fatal(err)
			}
			fails, err := validate.File(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, f := range fails {
				found = found || strings.Contains(f.String(), strings.Trim(tt.to, "'"))
			}
			if !found {
				t.Fatalf("failures %v do not name %s", fails, tt.to)
			}
		})
	}
}
