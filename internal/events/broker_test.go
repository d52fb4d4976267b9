package events

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestBrokerDeliversPerQueueCoalesced: a subscription gets its queue's
// events only, one per changed agent in arrival order however often it
// changed, and nothing once closed.
func TestBrokerDeliversPerQueueCoalesced(t *testing.T) {
	b := NewBroker()
	sales, support := b.Subscribe(1), b.Subscribe(2)
	for _, ev := range []AgentStatus{{1, 10}, {2, 20}, {1, 11}, {1, 10}} {
		b.Publish(ev)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	cases := []struct {
		sub  *Subscription
		want []AgentStatus
	}{
		{sales, []AgentStatus{{1, 10}, {1, 11}}},
		{support, []AgentStatus{{2, 20}}},
	}
	for _, c := range cases {
		got, err := c.sub.Next(ctx)
		if err != nil || !slices.Equal(got, c.want) {
			t.Fatalf("Next = %v, %v; want %v", got, err, c.want)
		}
	}
	sales.Close()
	if n := b.Watchers(1); n != 0 {
		t.Fatalf("%d watchers after Close, want 0", n)
	}
	b.Publish(AgentStatus{1, 10})
	short, stop := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer stop()
	if got, err := sales.Next(short); err == nil {
		t.Fatalf("a closed subscription got %v", got)
	}
}
