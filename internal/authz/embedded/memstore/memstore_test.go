package memstore

import (
	"testing"
	"time"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/test"
)

type tester struct{}

func (tester) New(_ testing.TB, rp test.RevisionParameters, _ uint16) (datastore.Datastore, error) {
	return New(Options{GCWindow: time.Duration(rp.GCRetentionWindow), Quantization: rp.Quantization})
}

// TestConformance runs SpiceDB's own datastore suite. Excluded, as for
// SpiceDB's memory datastore: ConcurrentWrite (one write transaction at a
// time; two open at once would wait for each other) and Migration (nothing
// to migrate). Excluded because the store declares Watch unsupported: the
// Watch categories.
func TestConformance(t *testing.T) {
	test.AllWithExceptions(t, test.NewTesterFactory(ErrSerialization).NewTester(tester{}), test.WithCategories(
		test.ConcurrentWriteCategory, test.MigrationCategory,
		test.WatchCategory, test.WatchSchemaCategory, test.WatchCheckpointsCategory,
	))
}
