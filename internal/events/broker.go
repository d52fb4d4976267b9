// Package events carries agent-status events — an agent logged into or out
// of a queue, or changed its status — from the change that made them to the
// live subscriptions of every replica.
//
// Each process has a Broker, to which subscriptions listen. Hook announces
// every committed change: on SQLite straight to the process's Broker once
// the transaction commits; on PostgreSQL with a NOTIFY in the change's own
// transaction, which a Listener on every replica (this one included) hands to
// its Broker. An event names the queue and the queue membership that changed,
// never the new state: a subscription reads that from the database when it
// delivers the event, so a late or coalesced event never shows a stale state.
package events

import (
	"context"
	"sync"
)

// AgentStatus is one change of an agent's login or status in a queue.
type AgentStatus struct {
	// QueueID is the queue.
	QueueID int `json:"queue"`
	// QueueAgentID is the agent's membership of the queue (a QueueAgent).
	QueueAgentID int `json:"queueAgent"`
}

// Broker hands the events published in this process to the subscriptions of
// their queue. The zero Broker is not usable; call NewBroker.
type Broker struct {
	mu   sync.Mutex
	subs map[int]map[*Subscription]struct{}
}

// NewBroker returns a broker with no subscriptions.
func NewBroker() *Broker {
	return &Broker{subs: map[int]map[*Subscription]struct{}{}}
}

// Subscribe returns a subscription to the events of a queue. Close it when
// done.
func (b *Broker) Subscribe(queueID int) *Subscription {
	s := &Subscription{broker: b, queueID: queueID, ready: make(chan struct{}, 1), pending: map[int]struct{}{}}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs[queueID] == nil {
		b.subs[queueID] = map[*Subscription]struct{}{}
	}
	b.subs[queueID][s] = struct{}{}
	return s
}

// Publish hands ev to every subscription of its queue. It never blocks: a
// subscription that has not yet taken an earlier event of the same agent
// gets the two as one, which is all it needs, since it reads the agent's
// state when it delivers.
func (b *Broker) Publish(ev AgentStatus) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs[ev.QueueID] {
		s.add(ev.QueueAgentID)
	}
}

// Watchers returns how many subscriptions watch the queue.
func (b *Broker) Watchers(queueID int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs[queueID])
}

// Subscription is a queue's events for one subscriber.
type Subscription struct {
	broker  *Broker
	queueID int
	ready   chan struct{} // holds a token while pending is not empty

	mu      sync.Mutex
	pending map[int]struct{} // queue agent ids changed since the last Next
	order   []int            // pending, in arrival order
}

func (s *Subscription) add(queueAgentID int) {
	s.mu.Lock()
	if _, ok := s.pending[queueAgentID]; !ok {
		s.pending[queueAgentID] = struct{}{}
		s.order = append(s.order, queueAgentID)
	}
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Next waits for the queue's next events and returns them, one per agent
// that changed since the last call, in the order they first arrived. It
// returns ctx's error once ctx is done.
func (s *Subscription) Next(ctx context.Context) ([]AgentStatus, error) {
	for {
		s.mu.Lock()
		ids := s.order
		s.order, s.pending = nil, map[int]struct{}{}
		s.mu.Unlock()
		if len(ids) > 0 {
			out := make([]AgentStatus, len(ids))
			for i, id := range ids {
				out[i] = AgentStatus{QueueID: s.queueID, QueueAgentID: id}
			}
			return out, nil
		}
		select {
		case <-s.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close ends the subscription.
func (s *Subscription) Close() {
	b := s.broker
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.subs[s.queueID], s)
	if len(b.subs[s.queueID]) == 0 {
		delete(b.subs, s.queueID)
	}
}
