package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pbxportal/pbxportal/internal/sdl"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeRefusesABusyPort: a port already bound fails at once, clearly,
// and "serving" is never logged.
func TestServeRefusesABusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	out, err := run(t, "serve", "--data-dir", t.TempDir(), "--database-url", "", "--listen", ln.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "listen on "+ln.Addr().String()) {
		t.Fatalf("serve on a busy port: error %v, want one naming the address", err)
	}
	if strings.Contains(out, "serving") {
		t.Fatalf("serve logged that it is serving although the port was busy:\n%s", out)
	}
}

// TestServeLifecycle: "serving" is logged with the bound address, which
// then answers (with a request id); cancelling the context (what SIGTERM
// does) stops the server cleanly.
func TestServeLifecycle(t *testing.T) {
	cmd := newRootCommand()
	var out syncBuffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"serve", "--data-dir", t.TempDir(), "--database-url", "", "--listen", "127.0.0.1:0"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	serving := regexp.MustCompile(`msg="pbxportal is serving" listen=(127\.0\.0\.1:\d+)`)
	var addr string
	for deadline := time.Now().Add(2 * time.Minute); addr == "" && time.Now().Before(deadline); {
		select {
		case err := <-done:
			t.Fatalf("serve returned early: %v\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if m := serving.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("no serving line:\n%s", out.String())
	}
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("the logged address does not answer: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("X-Request-Id") == "" {
		t.Fatalf("healthz: %d, X-Request-Id %q", res.StatusCode, res.Header.Get("X-Request-Id"))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve did not stop cleanly: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s of its context ending")
	}
	if !strings.Contains(out.String(), "pbxportal stopped") {
		t.Fatalf("no stopped line:\n%s", out.String())
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatal("the port still accepts connections after serve returned")
	}
}

// TestTokenRefusesAMissingDataDir: token never creates a data dir (and so a
// new signing key whose tokens the server would refuse).
func TestTokenRefusesAMissingDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "absent")
	_, err := run(t, "token", "--data-dir", dir, "--database-url", "", "--username", "olivia@acme.example")
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("token on a missing data dir: error %v, want one saying it does not exist", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("token created the data dir (stat: %v)", err)
	}
}

// TestVersion: --version names the commit and the SpiceDB version from the
// build information.
func TestVersion(t *testing.T) {
	cases := []struct {
		name string
		info debug.BuildInfo
		want []string
	}{
		{"released, clean", debug.BuildInfo{
			GoVersion: "go1.26.6",
			Main:      debug.Module{Version: "v1.2.3"},
			Deps:      []*debug.Module{{Path: spiceDBModule, Version: "v1.56.2"}},
			Settings:  []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "false"}},
		}, []string{"pbxportal v1.2.3\n", "commit abc123\n", "spicedb v1.56.2\n", "go go1.26.6\n"}},
		{"development, dirty", debug.BuildInfo{
			Deps:     []*debug.Module{{Path: spiceDBModule, Version: "v1.0.0", Replace: &debug.Module{Version: "v1.0.1"}}},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "def456"}, {Key: "vcs.modified", Value: "true"}},
		}, []string{"pbxportal (devel)\n", "commit def456+dirty\n", "spicedb v1.0.1\n"}},
		{"no vcs", debug.BuildInfo{}, []string{"commit unknown\n", "spicedb unknown\n"}},
	}
	for _, c := range cases {
		got := formatVersion(&c.info)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", c.name, got, w)
			}
		}
	}
	out, err := run(t, "--version")
	if err != nil || !strings.HasPrefix(out, "pbxportal ") || !strings.Contains(out, "\nspicedb v") {
		t.Fatalf("--version: %q, %v", out, err)
	}
}

// TestSchemaCommand prints the committed schema.
func TestSchemaCommand(t *testing.T) {
	out, err := run(t, "schema")
	if err != nil || out != sdl.Full() {
		t.Fatalf("schema: error %v, output of %d bytes, want %d", err, len(out), len(sdl.Full()))
	}
}

// TestLoadRefusesTheEnvironmentsDatabase: load writes, so it never takes
// its database from the environment a production server runs with.
func TestLoadRefusesTheEnvironmentsDatabase(t *testing.T) {
	tests := []struct{ env, value string }{
		{"PBXPORTAL_DATABASE_URL", "postgres://prod.example/pbxportal"},
		{"PBXPORTAL_DATA_DIR", "/var/lib/pbxportal"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			t.Setenv(tt.env, tt.value)
			_, err := run(t, "load", "--duration", "1s", "--clients", "1")
			if err == nil || !strings.Contains(err.Error(), tt.env) {
				t.Fatalf("load with %s set: error %v, want a refusal naming it", tt.env, err)
			}
		})
	}
}
