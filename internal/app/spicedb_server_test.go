package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/app"
	"github.com/pbxportal/pbxportal/internal/authz/embedded"
	"github.com/pbxportal/pbxportal/internal/pgtest"
)

// spiceDBServer is a real SpiceDB server on its own PostgreSQL datastore,
// listening on a TCP port of this machine, as a production cluster would be
// reached: several pbxportal servers share it, and it can be stopped and
// started again with its relationships kept.
type spiceDBServer struct {
	t         *testing.T
	addr      string
	key       string
	datastore string
	srv       *embedded.Server
}

// startSpiceDBServer starts a SpiceDB server on a fresh PostgreSQL database,
// dropped when the test ends. It skips the test without
// PBXPORTAL_TEST_DATABASE_URL.
func startSpiceDBServer(t *testing.T) *spiceDBServer {
	t.Helper()
	s := &spiceDBServer{t: t, addr: freeAddr(t), key: randomHex(16), datastore: pgtest.Database(t)}
	t.Cleanup(s.stop) // before the database is dropped
	s.start()
	return s
}

// start starts (or starts again) the server on its address and datastore.
func (s *spiceDBServer) start() {
	s.t.Helper()
	srv, err := embedded.Start(context.Background(), embedded.Options{
		DatastoreURL: s.datastore, ListenAddr: s.addr, PresharedKey: s.key,
	})
	if err != nil {
		s.t.Fatalf("start spicedb server: %v", err)
	}
	s.srv = srv
}

// stop stops the server; its relationships stay in its datastore.
func (s *spiceDBServer) stop() {
	if s.srv != nil {
		_ = s.srv.Close()
		s.srv = nil
	}
}

// config is a pbxportal configuration on the database dbURL and this SpiceDB,
// keeping its signing key in dataDir. Replicas share one dataDir: a token
// minted by one must be good on every other.
func (s *spiceDBServer) config(dataDir, dbURL string, demo bool) app.Config {
	return app.Config{
		DataDir: dataDir, DatabaseURL: dbURL, Demo: demo,
		SpiceDBEndpoint: s.addr, SpiceDBToken: s.key, SpiceDBInsecure: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// openPortal opens pbxportal with cfg and serves it over real HTTP until the
// test ends.
func openPortal(t *testing.T, cfg app.Config) *portal {
	t.Helper()
	a, err := app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	p := &portal{t: t, app: a, srv: httptest.NewServer(a.Handler()), dir: cfg.DataDir}
	t.Cleanup(p.stop)
	return p
}

// freeAddr returns a TCP address on the loopback that nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// waitForDrainedOutbox waits until the outbox is empty: every committed
// change has reached SpiceDB. It fails the test after within.
func waitForDrainedOutbox(t *testing.T, c *ent.Client, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		n, err := c.OutboxEntry.Query().Count(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d outbox rows still waiting after %v", n, within)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
