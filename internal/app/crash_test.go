package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pbxportal/pbxportal/ent/contact"
	"github.com/pbxportal/pbxportal/ent/domain"
	"github.com/pbxportal/pbxportal/internal/app"
)

// buildPbxportal builds the pbxportal binary into a temporary directory.
func buildPbxportal(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pbxportal")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/pbxportal/pbxportal/cmd/pbxportal")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build pbxportal: %v\n%s", err, out)
	}
	return bin
}

// process is a `pbxportal serve` running as its own process.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// serveProcess starts `pbxportal serve` with cfg's settings on addr and waits
// until it is ready.
func serveProcess(t *testing.T, bin, addr string, cfg app.Config) *process {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--listen", addr, "--demo")
	cmd.Env = append(os.Environ(), processEnv(cfg)...)
	log, err := os.CreateTemp(t.TempDir(), "serve-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pbxportal serve: %v", err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		res, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.done:
			out, _ := os.ReadFile(log.Name())
			t.Fatalf("pbxportal serve exited before it was ready:\n%s", out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("pbxportal serve was not ready within two minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// kill ends the process at once, as a crash would (SIGKILL).
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// processEnv is cfg as the PBXPORTAL_* variables the binary reads.
func processEnv(cfg app.Config) []string {
	return []string{
		"PBXPORTAL_DATA_DIR=" + cfg.DataDir,
		"PBXPORTAL_DATABASE_URL=" + cfg.DatabaseURL,
		"PBXPORTAL_SPICEDB_ENDPOINT=" + cfg.SpiceDBEndpoint,
		"PBXPORTAL_SPICEDB_TOKEN=" + cfg.SpiceDBToken,
		"PBXPORTAL_SPICEDB_INSECURE=true",
	}
}

// mintToken runs `pbxportal token` for username.
func mintToken(t *testing.T, bin string, cfg app.Config, username string) string {
	t.Helper()
	cmd := exec.Command(bin, "token", "--username", username)
	cmd.Env = append(os.Environ(), processEnv(cfg)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pbxportal token: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestServerKilledMidStorm kills `pbxportal serve` with SIGKILL in the middle
// of a mutation storm against PostgreSQL and a SpiceDB server, and starts it
// again. Every mutation the server acknowledged is still there, the outbox
// drains, and SpiceDB holds exactly the database's projection.
func TestServerKilledMidStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and storms it; skipped in -short")
	}
	spice := startSpiceDBServer(t)
	dir := t.TempDir()
	cfg := spice.config(dir, postgresURL(t), true)
	bin := buildPbxportal(t)
	addr := freeAddr(t)
	url := "http://" + addr
	srv := serveProcess(t, bin, addr, cfg)
	support := mintToken(t, bin, cfg, "support@provider.example")

	store, err := app.OpenStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Client.Close()
	w := loadStormWorld(t, store.Client)
	acme := store.Client.Domain.Query().Where(domain.Name("acme.example")).OnlyIDX(context.Background())

	// Workers storm the server; every fourth mutation creates a contact with
	// a unique name, logged once the server acknowledges it.
	ctx, stopStorm := context.WithCancel(context.Background())
	defer stopStorm()
	var mu sync.Mutex
	var acked []string
	sent := 0
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(17, uint64(i)))
			for n := 0; ctx.Err() == nil; n++ {
				query, vars := w.mutation(r)
				name := ""
				if n%4 == 0 {
					name = fmt.Sprintf("crash-%d-%d", i, n)
					query = `mutation($in: CreateContactInput!) { createContact(input: $in) { id } }`
					vars = map[string]any{"in": map[string]any{"name": name, "phone": strconv.Itoa(n), "domainID": strconv.Itoa(acme)}}
				}
				res, err := post(ctx, url, support, query, vars)
				if err != nil {
					time.Sleep(50 * time.Millisecond) // the server is down
					continue
				}
				mu.Lock()
				sent++
				if name != "" && len(res.Errors) == 0 {
					acked = append(acked, name)
				}
				mu.Unlock()
			}
		}()
	}

	time.Sleep(4 * time.Second)
	srv.kill()
	srv = serveProcess(t, bin, addr, cfg)
	time.Sleep(3 * time.Second)
	stopStorm()
	wg.Wait()
	t.Logf("%d mutations answered, %d contacts acknowledged", sent, len(acked))
	if len(acked) < 10 {
		t.Fatalf("only %d contacts acknowledged; the storm did not run", len(acked))
	}

	found, err := store.Client.Contact.Query().Where(contact.NameIn(acked...)).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if found != len(acked) {
		t.Errorf("%d acknowledged contacts lost in the crash", len(acked)-found)
	}
	waitForDrainedOutbox(t, store.Client, time.Minute)
	drift, err := app.Reconcile(context.Background(), cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(drift.Missing)+len(drift.Extra) != 0 {
		t.Errorf("drift after the crash: missing %v, extra %v", drift.Missing, drift.Extra)
	}
}
