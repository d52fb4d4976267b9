package projection_test

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/embedded"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
	"github.com/pbxportal/pbxportal/internal/pgtest"
)

// benchRelationships sizes BenchmarkRebuild: about how many relationships
// its database projects to. PBXPORTAL_BENCH_RELATIONSHIPS overrides the
// small default; docs/performance.md measures 1,000,000.
func benchRelationships(b *testing.B) int {
	b.Helper()
	n := 20_000
	if s := os.Getenv("PBXPORTAL_BENCH_RELATIONSHIPS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n <= 0 {
			b.Fatalf("PBXPORTAL_BENCH_RELATIONSHIPS=%q: want a positive number", s)
		}
	}
	return n
}

// peakRSS is the process's peak resident set (VmHWM), in MiB; 0 where
// /proc/self/status does not tell.
func peakRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkRebuild measures the start-up rebuild of the embedded default:
// SQLite, one domain of users (about 16 relationships each) and recordings
// (about 4 each), into a fresh in-memory SpiceDB. "all" is reading the
// database into relationships; "rebuild" is that and the bulk import, as
// app.Open does it. Run it one iteration at a time:
//
//	PBXPORTAL_BENCH_RELATIONSHIPS=1000000 go test -bench Rebuild -benchtime 1x -run '^$' ./internal/authz/projection
func BenchmarkRebuild(b *testing.B) {
	ctx := context.Background()
	n := benchRelationships(b)
	db := openSQLite(b, b.TempDir())
	generate(b, db, dataset{domains: 1, sites: 20, users: n / 25, groups: 100, queues: 40, recordings: n / 12, contacts: 100, seed: 1})
	want, err := projection.All(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	rels := float64(len(want))
	want = nil
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			if _, err := projection.All(ctx, db); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(rels, "relationships")
		b.ReportMetric(peakRSS(), "peak-RSS-MiB")
	})
	b.Run("rebuild", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			spice := newSpiceDB(b)
			b.StartTimer()
			if _, err := projection.Rebuild(ctx, db, spice); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(rels, "relationships")
		b.ReportMetric(peakRSS(), "peak-RSS-MiB")
	})
	// The production set-up: SpiceDB on its PostgreSQL datastore, each
	// iteration into a fresh, empty database.
	b.Run("rebuild-spicedb-on-postgres", func(b *testing.B) {
		var cpu, pgCPU time.Duration
		for range b.N {
			b.StopTimer()
			dbURL := pgtest.Database(b)
			spice := newSpiceDBWith(b, embedded.Options{DatastoreURL: dbURL})
			spice.SetImportStreams(authz.PersistentImportStreamSize, authz.PersistentImportStreams)
			backends := newBackendCPU(b, dbURL)
			pgBefore, before := backends.byPID(b), processCPU()
			b.StartTimer()
			if _, err := projection.Rebuild(ctx, db, spice); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cpu += processCPU() - before
			pgCPU += backends.since(b, pgBefore)
			b.StartTimer()
		}
		b.ReportMetric(rels, "relationships")
		b.ReportMetric(peakRSS(), "peak-RSS-MiB")
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		b.ReportMetric(pgCPU.Seconds()/float64(b.N), "pg-cpu-s/op")
	})
	// A restart of the production set-up: SpiceDB on PostgreSQL holds the
	// whole projection already, so Rebuild only compares it with the
	// database. Its peak RSS is measured from a reset after the fill.
	b.Run("restart-spicedb-on-postgres", func(b *testing.B) {
		spice := newSpiceDBWith(b, embedded.Options{DatastoreURL: pgtest.Database(b)})
		spice.SetImportStreams(authz.PersistentImportStreamSize, authz.PersistentImportStreams)
		if _, err := projection.Rebuild(ctx, db, spice); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		resetPeakRSS()
		b.ResetTimer()
		for b.Loop() {
			r, err := projection.Rebuild(ctx, db, spice)
			if err != nil {
				b.Fatal(err)
			}
			if r.Imported+r.Deleted > 0 {
				b.Fatalf("a restart repaired %+v; want nothing", r)
			}
		}
		b.ReportMetric(rels, "relationships")
		b.ReportMetric(peakRSS(), "peak-RSS-MiB")
	})
}

// resetPeakRSS resets the process's peak resident set (VmHWM) to its
// current one, where Linux allows it.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }
