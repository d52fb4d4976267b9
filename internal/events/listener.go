package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// maxBackoff bounds the wait between two attempts to listen again.
const maxBackoff = 10 * time.Second

// Listen listens for the NOTIFYs of Hook on a dedicated PostgreSQL
// connection and hands each event to broker, until ctx is done. It returns
// once the first LISTEN holds, so that every change committed afterwards
// reaches broker; if that fails, it returns the error. A connection lost
// later is made again, with a growing wait; events sent while it was down
// are lost (a subscriber sees the agent's state again at its next change).
func Listen(ctx context.Context, databaseURL string, broker *Broker, log *slog.Logger) error {
	conn, err := listen(ctx, databaseURL)
	if err != nil {
		return err
	}
	go func() {
		backoff := 100 * time.Millisecond
		for {
			if conn != nil {
				err = receive(ctx, conn, broker, log)
				_ = conn.Close(context.WithoutCancel(ctx))
				conn = nil
				if ctx.Err() != nil {
					return
				}
				log.WarnContext(ctx, "agent-status events: lost the listening connection; listening again", "error", err)
				backoff = 100 * time.Millisecond
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			if conn, err = listen(ctx, databaseURL); err != nil {
				log.WarnContext(ctx, "agent-status events: cannot listen", "error", err, "retry_in", backoff)
				backoff = min(2*backoff, maxBackoff)
			}
		}
	}()
	return nil
}

// listen opens a connection and LISTENs on the channel of its schema.
func listen(ctx context.Context, databaseURL string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return nil, fmt.Errorf("events: connect: %w", err)
	}
	var name string
	err = conn.QueryRow(ctx, "SELECT "+channel).Scan(&name)
	if err == nil {
		_, err = conn.Exec(ctx, "LISTEN "+pgx.Identifier{name}.Sanitize())
	}
	if err != nil {
		_ = conn.Close(ctx)
		return nil, fmt.Errorf("events: listen: %w", err)
	}
	return conn, nil
}

// receive hands every notification on conn to broker until conn fails or
// ctx is done.
func receive(ctx context.Context, conn *pgx.Conn, broker *Broker, log *slog.Logger) error {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var ev AgentStatus
		if err := json.Unmarshal([]byte(n.Payload), &ev); err != nil {
			log.WarnContext(ctx, "agent-status events: ignoring a malformed notification", "error", err)
			continue
		}
		broker.Publish(ev)
	}
}
