package app_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"testing"

	"github.com/pbxportal/pbxportal/internal/app"
)

// postgresURL returns a URL to a fresh schema of the test database named by
// PBXPORTAL_TEST_DATABASE_URL, dropped when the test ends; it skips the test
// without one.
func postgresURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("PBXPORTAL_TEST_DATABASE_URL")
	if base == "" {
		t.Skip("PBXPORTAL_TEST_DATABASE_URL is not set; skipping the PostgreSQL test")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "pbxportal_test_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
		_ = db.Close()
	})
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestPostgres runs the spine on PostgreSQL: the demo is loaded only when
// asked, the relay takes the outbox FOR UPDATE SKIP LOCKED, and a restart
// rebuilds SpiceDB from the database.
func TestPostgres(t *testing.T) {
	dbURL := postgresURL(t)
	open := func(demo bool) *portal {
		a, err := app.Open(context.Background(), app.Config{
			DataDir: t.TempDir(), DatabaseURL: dbURL, Demo: demo,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			t.Fatalf("open on postgres: %v", err)
		}
		p := &portal{t: t, app: a, srv: httptest.NewServer(a.Handler())}
		t.Cleanup(p.stop)
		return p
	}
	p := open(true)
	var d directory
	errs := p.as("bob@acme.example", directoryQuery, nil, &d)
	if d.Users.TotalCount != 12 || len(errs) != 11 {
		t.Fatalf("bob on postgres sees %d users with %d hidden emails, want 12 and 11", d.Users.TotalCount, len(errs))
	}
	var recs struct {
		Recordings struct{ TotalCount int }
	}
	p.as("bob@acme.example", `{ recordings { totalCount } }`, nil, &recs)
	if recs.Recordings.TotalCount != 3 {
		t.Errorf("bob's recordings on postgres = %d, want 3", recs.Recordings.TotalCount)
	}
	if n, _ := p.app.Client.OutboxEntry.Query().Count(t.Context()); n != 0 {
		t.Errorf("%d outbox rows left after start-up; the relay should have applied them", n)
	}
	p.stop()

	again := open(false)
	var after directory
	again.as("bob@acme.example", directoryQuery, nil, &after)
	if !slices.EqualFunc(d.Users.Edges, after.Users.Edges, func(a, b struct {
		Node struct {
			ID, DisplayName, Extension string
			Email                      *string
		}
	}) bool {
		return a.Node.ID == b.Node.ID
	}) {
		t.Errorf("after a restart on postgres: %+v", after)
	}
}
