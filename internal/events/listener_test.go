package events

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/pbxportal/pbxportal/internal/pgtest"
)

// TestListenerKeepsToItsSchemaAndReconnects: the listener hears the
// notifications of its own schema only, and listens again when its
// connection is killed.
func TestListenerKeepsToItsSchemaAndReconnects(t *testing.T) {
	url, otherURL := pgtest.URL(t), pgtest.URL(t)
	db, other := pgtest.Open(t, url), pgtest.Open(t, otherURL)
	b := NewBroker()
	sub := b.Subscribe(7)
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := Listen(ctx, url, b, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	send := func(db *sql.DB, queueAgentID int) {
		t.Helper()
		if _, err := db.Exec("SELECT pg_notify("+channel+", $1)", fmt.Sprintf(`{"queue":7,"queueAgent":%d}`, queueAgentID)); err != nil {
			t.Fatal(err)
		}
	}
	next := func(wait time.Duration) []AgentStatus {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		evs, _ := sub.Next(ctx)
		return evs
	}

	send(other, 1)
	send(db, 2)
	if got := next(10 * time.Second); !slices.Equal(got, []AgentStatus{{7, 2}}) {
		t.Fatalf("got %v, want only this schema's event {7 2}", got)
	}

	var killed int
	err := db.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE query = 'LISTEN "' || ` + channel + ` || '"'`).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("killed %d listening connections (%v), want 1", killed, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		send(db, 3) // events sent while it reconnects are lost: send until one is heard
		if got := next(200 * time.Millisecond); slices.Contains(got, AgentStatus{7, 3}) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the listener did not listen again after its connection was killed")
		}
	}
}
