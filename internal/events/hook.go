package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/queueagent"
)

// channel is the SQL expression of the PostgreSQL NOTIFY channel of
// agent-status events. Channels are per database, so the name includes (a
// digest of) the schema the connection works in: deployments, or tests,
// sharing one database in different schemas do not hear each other.
const channel = `'pbxportal_agent_status_' || left(md5(current_schema()), 16)`

// Hook returns the QueueAgent hook that announces every change of an agent's
// login or status, once its transaction commits: through a NOTIFY sent in the
// change's own transaction when postgres is set (every replica's Listener
// hands it to its broker), else straight to broker after the commit.
func Hook(broker *Broker, postgres bool) ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			qm, ok := m.(*ent.QueueAgentMutation)
			if !ok || !qm.Op().Is(ent.OpUpdate|ent.OpUpdateOne) || !changesState(qm) {
				return next.Mutate(ctx, m)
			}
			ids, err := qm.IDs(ctx)
			if err != nil {
				return nil, fmt.Errorf("events: changed agents: %w", err)
			}
			v, err := next.Mutate(ctx, m)
			if err != nil || len(ids) == 0 {
				return v, err
			}
			rows, err := qm.Client().QueueAgent.Query().Where(queueagent.IDIn(ids...)).
				Select(queueagent.FieldID, queueagent.FieldQueueID).All(ctx)
			if err != nil {
				return nil, fmt.Errorf("events: changed agents' queues: %w", err)
			}
			evs := make([]AgentStatus, len(rows))
			for i, r := range rows {
				evs[i] = AgentStatus{QueueID: r.QueueID, QueueAgentID: r.ID}
			}
			if postgres {
				return v, notify(ctx, qm, evs)
			}
			publishAfterCommit(qm, broker, evs)
			return v, nil
		})
	}
}

// changesState reports whether m sets an agent's login or status.
func changesState(m *ent.QueueAgentMutation) bool {
	_, login := m.LoggedIn()
	_, status := m.Status()
	return login || status
}

// notify sends the events with pg_notify in m's transaction: PostgreSQL
// delivers them when, and only if, it commits.
func notify(ctx context.Context, m *ent.QueueAgentMutation, evs []AgentStatus) error {
	for _, ev := range evs {
		payload, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("events: encode: %w", err)
		}
		if _, err := m.ExecContext(ctx, "SELECT pg_notify("+channel+", $1)", string(payload)); err != nil {
			return fmt.Errorf("events: notify: %w", err)
		}
	}
	return nil
}

// publishAfterCommit publishes the events once m's transaction commits, or
// at once if m runs outside a transaction.
func publishAfterCommit(m *ent.QueueAgentMutation, broker *Broker, evs []AgentStatus) {
	publish := func() {
		for _, ev := range evs {
			broker.Publish(ev)
		}
	}
	tx, err := m.Tx()
	if err != nil { // not in a transaction: the change is already committed
		publish()
		return
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			if err := next.Commit(ctx, tx); err != nil {
				return err
			}
			publish()
			return nil
		})
	})
}
