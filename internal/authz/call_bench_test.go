package authz

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// BenchmarkEmbeddedCall measures the fixed cost of one SpiceDB call to the
// embedded server over its in-memory connection, on a small data set (one
// domain of 50 members and 5 sites, one queue), with nothing remembered: each
// call is made at the client's newest token, which the answer cache never
// keeps (answercache.go), and SpiceDB's dispatch cache answers the graph
// after the first round, so what remains is the call's own cost: gRPC, the
// server's middleware, consistency and the client. docs/performance-history.md ("The
// cost of one SpiceDB call in-process") has the figures:
//
//	go test -bench EmbeddedCall -run '^$' -cpuprofile /tmp/call.prof ./internal/authz
func BenchmarkEmbeddedCall(b *testing.B) {
	c := newBenchClient(b)
	ctx := context.Background()
	manager := Object{Type: "user", ID: "0"}
	member := Object{Type: "user", ID: "7"}
	b.Run("LookupResources", func(b *testing.B) {
		b.ReportAllocs()
		cpu := startCPU(b)
		for b.Loop() {
			cpu.n++
			ids, err := c.LookupResources(ctx, "site", "reach", manager)
			if err != nil || len(ids) != 5 {
				b.Fatalf("LookupResources = %d ids, %v; want 5", len(ids), err)
			}
		}
		cpu.report()
	})
	b.Run("CheckBulkPermissions", func(b *testing.B) {
		b.ReportAllocs()
		cpu := startCPU(b)
		checks := []Check{{Resource: Object{Type: "domain", ID: "d"}, Permission: "view"}}
		for b.Loop() {
			cpu.n++
			ok, err := c.CheckBulk(ctx, member, checks)
			if err != nil || !ok[0] {
				b.Fatalf("CheckBulk = %v, %v; want true", ok, err)
			}
		}
		cpu.report()
	})
	b.Run("LookupResources4Concurrent", func(b *testing.B) {
		// A users page's four container lookups, at once.
		b.ReportAllocs()
		cpu := startCPU(b)
		for b.Loop() {
			cpu.n++
			usersPageLookups(ctx, b, c, manager)
		}
		cpu.report()
	})
	b.Run("LookupResources4ConcurrentAfterWrite", func(b *testing.B) {
		// The same four lookups, each round right after a write that
		// touches an existing relationship: at a revision nothing has been
		// asked at yet.
		b.ReportAllocs()
		touch := []Relationship{{Resource: Object{Type: "domain", ID: "d"}, Relation: "member", Subject: Object{Type: "user", ID: "7"}}}
		cpu := startCPU(b)
		for b.Loop() {
			b.StopTimer()
			if err := c.WriteRelationships(ctx, touch, nil); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			cpu.n++
			usersPageLookups(ctx, b, c, manager)
		}
		cpu.report()
	})
}

// usersPageLookups makes a users page's four container lookups as subject,
// at once, as a page's list filter does.
func usersPageLookups(ctx context.Context, b *testing.B, c *Client, subject Object) {
	lookups := []struct{ typ, perm string }{{"domain", "member"}, {"domain", "manage"}, {"site", "reach"}, {"queue", "supervisor"}}
	errs := make(chan error, len(lookups))
	for _, l := range lookups {
		go func() {
			_, err := c.LookupResources(ctx, l.typ, l.perm, subject)
			errs <- err
		}()
	}
	for range lookups {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
}

// newBenchClient is newEmbeddedClient holding a small domain: user:0 its
// office manager, users 0–49 its members, sites s0–s4 in it, queue q0 of
// site s0 supervised by user:0.
func newBenchClient(b *testing.B) *Client {
	b.Helper()
	c, _ := newEmbeddedClient(b)
	d := Object{Type: "domain", ID: "d"}
	rels := []Relationship{{Resource: d, Relation: "office_manager", Subject: Object{Type: "user", ID: "0"}}}
	for i := range 50 {
		rels = append(rels, Relationship{Resource: d, Relation: "member", Subject: Object{Type: "user", ID: strconv.Itoa(i)}})
	}
	for i := range 5 {
		rels = append(rels, Relationship{Resource: Object{Type: "site", ID: "s" + strconv.Itoa(i)}, Relation: "domain", Subject: d})
	}
	q := Object{Type: "queue", ID: "q0"}
	rels = append(rels,
		Relationship{Resource: q, Relation: "site", Subject: Object{Type: "site", ID: "s0"}},
		Relationship{Resource: q, Relation: "supervisor", Subject: Object{Type: "user", ID: "0"}})
	if err := c.WriteRelationships(context.Background(), rels, nil); err != nil {
		b.Fatal(err)
	}
	return c
}

// cpuMeter reports the process's CPU time (user and system, every
// goroutine's: client, server and garbage collector) per operation as
// cpu-ns/op, which on a shared machine varies less than the wall time.
type cpuMeter struct {
	b     *testing.B
	start time.Duration
	n     int // operations done
}

// startCPU starts counting.
func startCPU(b *testing.B) *cpuMeter {
	return &cpuMeter{b: b, start: processCPU(b)}
}

// report reports the CPU time per operation since startCPU.
func (m *cpuMeter) report() {
	if m.n > 0 {
		m.b.ReportMetric(float64((processCPU(m.b)-m.start).Nanoseconds())/float64(m.n), "cpu-ns/op")
	}
}

// processCPU is the CPU time the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
