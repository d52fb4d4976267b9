package server

import (
	"time"

	"github.com/pbxportal/pbxportal/ent"
)

// validCursor reports whether s decodes to a cursor of the shape this server
// issues: a node id and, for an ordered connection, a scalar order value.
// Anything else would reach the store as a malformed predicate.
func validCursor(s string) bool {
	var c ent.Cursor
	if err := c.UnmarshalGQL(s); err != nil {
		return false
	}
	switch c.Value.(type) {
	case nil, string, bool, time.Time, float32, float64,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return true
	}
	return false
}
