package memstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
	"github.com/authzed/spicedb/pkg/tuple"
)

// TestReverseQueryRuns: a reverse query walks only the run of the reverse
// index its subjects, their one relation and its resource type allow (an
// arrow's lookup from domain:1 to its sites walks the sites' rows, not
// every relationship naming domain:1), and finds exactly what a full walk
// with the filter would.
func TestReverseQueryRuns(t *testing.T) {
	ctx := context.Background()
	s, err := New(Options{GCWindow: time.Hour, Quantization: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	rev := touch(ctx, t, s, tuple.UpdateOperationTouch,
		"site:s1#domain@domain:1",
		"site:s2#domain@domain:1",
		"recording:r1#domain@domain:1",
		"user:u1#domain@domain:1",
		"site:s3#owner@domain:1",
		"site:s4#domain@domain:1#member",
		"site:s5#domain@domain:2",
	)
	ellipsis := datastore.SubjectRelationFilter{IncludeEllipsisRelation: true}
	siteDomain := &options.ResourceRelation{Namespace: "site", Relation: "domain"}
	tests := []struct {
		name     string
		subjects datastore.SubjectsFilter
		resRel   *options.ResourceRelation
		sort     options.SortOrder
		want     []string // resource ids, sorted
		wantRun  int      // key fields fixed in the first run
	}{
		{"an arrow's lookup: one subject, its ellipsis, one resource relation",
			datastore.SubjectsFilter{SubjectType: "domain", OptionalSubjectIds: []string{"1"}, RelationFilter: ellipsis},
			siteDomain, options.Unsorted, []string{"s1", "s2"}, 4},
		{"sorted by subject",
			datastore.SubjectsFilter{SubjectType: "domain", OptionalSubjectIds: []string{"1"}, RelationFilter: ellipsis},
			siteDomain, options.BySubject, []string{"s1", "s2"}, 4},
		{"several subjects",
			datastore.SubjectsFilter{SubjectType: "domain", OptionalSubjectIds: []string{"2", "1"}, RelationFilter: ellipsis},
			siteDomain, options.Unsorted, []string{"s1", "s2", "s5"}, 4},
		{"one non-ellipsis subject relation",
			datastore.SubjectsFilter{SubjectType: "domain", OptionalSubjectIds: []string{"1"}, RelationFilter: datastore.SubjectRelationFilter{NonEllipsisRelation: "member"}},
			siteDomain, options.Unsorted, []string{"s4"}, 4},
		{"the ellipsis or a relation: two runs' worth, not narrowed",
			datastore.SubjectsFilter{SubjectType: "domain", OptionalSubjectIds: []string{"1"}, RelationFilter: datastore.SubjectRelationFilter{IncludeEllipsisRelation: true, NonEllipsisRelation: "member"}},
			siteDomain, options.Unsorted, []string{"s1", "s2", "s4"}, 2},
		{"only non-ellipsis relations: not narrowed",
			datastore.SubjectsFilter{SubjectType: "domain", OptionalSubjectIds: []string{"1"}, RelationFilter: datastore.SubjectRelationFilter{OnlyNonEllipsisRelations: true}},
			siteDomain, options.Unsorted, []string{"s4"}, 2},
		{"any resource type: narrowed to the subject relation",
			datastore.SubjectsFilter{SubjectType: "domain", OptionalSubjectIds: []string{"1"}, RelationFilter: ellipsis},
			nil, options.Unsorted, []string{"r1", "s1", "s2", "s3", "u1"}, 3},
		{"a resource type nobody has",
			datastore.SubjectsFilter{SubjectType: "domain", OptionalSubjectIds: []string{"1"}, RelationFilter: ellipsis},
			&options.ResourceRelation{Namespace: "queue", Relation: "domain"}, options.Unsorted, nil, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []options.ReverseQueryOptionsOption{options.WithSortForReverse(tt.sort)}
			if tt.resRel != nil {
				opts = append(opts, options.WithResRelation(tt.resRel))
			}
			q := planReverse(tt.subjects, options.NewReverseQueryOptionsWithOptions(opts...))
			if got := q.ranges[0].n; got != tt.wantRun {
				t.Errorf("the first run fixes %d key fields, want %d", got, tt.wantRun)
			}
			it, err := s.SnapshotReader(rev).ReverseQueryRelationships(ctx, tt.subjects, opts...)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rel, err := range it {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, rel.Resource.ObjectID)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("found %v, want %v", got, tt.want)
			}
		})
	}
}
