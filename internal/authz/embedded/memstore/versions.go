package memstore

import "github.com/authzed/spicedb/pkg/datastore"

// version is one version of a small named value (a namespace, caveat,
// counter or the stored schema), with the revisions that created and
// deleted it.
type version[T any] struct {
	created, deleted uint64
	val              T
}

// versions are the versions of one value, oldest first; at most one is
// visible at any revision.
type versions[T any] []*version[T]

// at returns the version visible at rev.
func (vs versions[T]) at(rev uint64) (*version[T], bool) {
	for i := len(vs) - 1; i >= 0; i-- {
		v := vs[i]
		if v.created <= rev && rev < v.deleted {
			return v, true
		}
	}
	return nil, false
}

// prune drops the versions deleted at or before horizon and returns what
// is left and the newest deletion revision it dropped.
func (vs versions[T]) prune(horizon uint64) (versions[T], uint64) {
	var newest uint64
	kept := vs[:0]
	for _, v := range vs {
		if v.deleted <= horizon {
			newest = max(newest, v.deleted)
			continue
		}
		kept = append(kept, v)
	}
	clear(vs[len(kept):])
	return kept, newest
}

// counterValue is a registered relationship counter.
type counterValue struct {
	filter  []byte // a marshalled core.RelationshipFilter
	count   int
	updated datastore.Revision
	hasRev  bool
}

// storedSchema is the unified stored schema, marshalled, and its hash.
type storedSchema struct {
	data []byte
	hash string
}

// schemaHashAt is the stored schema's hash at rev, or "". The caller holds
// s.mu.
func (s *Store) schemaHashAt(rev uint64) string {
	if v, ok := s.schema.at(rev); ok {
		return v.val.hash
	}
	return ""
}
