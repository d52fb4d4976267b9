package embedded

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
)

// benchSchema is a recording-like resource: four relationships each.
const benchSchema = `definition user {}
definition group {}
definition queue {}
definition domain {}
definition recording {
    relation domain: domain
    relation owner: user
    relation group: group
    relation queue: queue
    permission view = owner
}`

// envInt is the positive integer in the environment variable name, or def.
func envInt(b *testing.B, name string, def int) int {
	b.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}

// liveHeapMiB is the heap in use after a forced collection.
func liveHeapMiB() float64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

// BenchmarkMemoryUnderWrites loads PBXPORTAL_BENCH_RELATIONSHIPS
// relationships (default 20,000) into the embedded memory datastore, then
// makes PBXPORTAL_BENCH_WRITES single-relationship writes (default 20,000)
// and reports the live heap after the load (and per relationship), how long
// the import took per relationship, the live heap after the writes, and
// what each write left behind: on memstore (the default) and on SpiceDB's
// own memory datastore (memdb), one after the other in each round.
// docs/performance-history.md ("Memory") has the figures at 600,000 relationships:
//
//	PBXPORTAL_BENCH_RELATIONSHIPS=600000 go test -bench MemoryUnderWrites -benchtime 1x -count 2 -run '^$' ./internal/authz/embedded
func BenchmarkMemoryUnderWrites(b *testing.B) {
	n := envInt(b, "PBXPORTAL_BENCH_RELATIONSHIPS", 20_000)
	writes := envInt(b, "PBXPORTAL_BENCH_WRITES", 20_000)
	for _, mode := range []struct {
		name string
		opts Options
	}{{"memstore", Options{}}, {"memdb", Options{memdb: true}}} {
		b.Run(mode.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				ctx := context.Background()
				base := liveHeapMiB()
				srv, err := Start(ctx, mode.opts)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := v1.NewSchemaServiceClient(srv.Conn()).WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: benchSchema}); err != nil {
					b.Fatal(err)
				}
				perms := v1.NewPermissionsServiceClient(srv.Conn())
				rel := func(typ, id, relation, subjectType, subjectID string) *v1.Relationship {
					return &v1.Relationship{
						Resource: &v1.ObjectReference{ObjectType: typ, ObjectId: id}, Relation: relation,
						Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: subjectType, ObjectId: subjectID}},
					}
				}
				recordings := max(n/4, 1)
				importStart := time.Now()
				// Import in streams of 1,000, as the start-up rebuild does.
				for first := 0; first < recordings; first += 250 {
					stream, err := perms.ImportBulkRelationships(ctx)
					if err != nil {
						b.Fatal(err)
					}
					var msg []*v1.Relationship
					for i := first; i < min(first+250, recordings); i++ {
						id := strconv.Itoa(i)
						msg = append(msg, rel("recording", id, "domain", "domain", "1"),
							rel("recording", id, "owner", "user", strconv.Itoa(i%10_000)),
							rel("recording", id, "group", "group", strconv.Itoa(i%200)),
							rel("recording", id, "queue", "queue", strconv.Itoa(i%100)))
					}
					if err := stream.Send(&v1.ImportBulkRelationshipsRequest{Relationships: msg}); err != nil {
						b.Fatal(err)
					}
					if _, err := stream.CloseAndRecv(); err != nil {
						b.Fatal(err)
					}
				}
				importTook := time.Since(importStart)
				loaded := liveHeapMiB()
				b.StartTimer()
				for i := range writes {
					id := strconv.Itoa((i * 7919) % recordings)
					_, err := perms.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
						Operation:    v1.RelationshipUpdate_OPERATION_TOUCH,
						Relationship: rel("recording", id, "owner", "user", fmt.Sprint(i%10_000)),
					}}})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				after := liveHeapMiB()
				b.ReportMetric(loaded, "live-MiB-loaded")
				b.ReportMetric((loaded-base)*(1<<20)/float64(4*recordings), "live-B/rel")
				b.ReportMetric(float64(importTook.Microseconds())/float64(4*recordings), "import-µs/rel")
				b.ReportMetric(after, "live-MiB-after-writes")
				b.ReportMetric((after-loaded)*1024/float64(writes), "retained-KiB/write")
				_ = srv.Close()
			}
		})
	}
}
