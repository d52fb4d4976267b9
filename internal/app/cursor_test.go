package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/pbxportal/pbxportal/ent/user"
)

// TestEveryConnectionRefusesForeignCursors: for every connection, in its
// default order and in each order field, a cursor this server could not
// have issued for it (an order value of another kind, of no kind, past
// int64; a value under the default order, none under an order field) is
// BAD_USER_INPUT naming the
// argument, and never reaches the store; one it issued is taken. The
// connections and order fields are read from the schema, so a new one is
// covered.
func TestEveryConnectionRefusesForeignCursors(t *testing.T) {
	onEachStore(t, testEveryConnectionRefusesForeignCursors)
}

func testEveryConnectionRefusesForeignCursors(t *testing.T, p *portal) {
	addTies(p) // every connection has rows
	bob := p.app.Client.User.Query().Where(user.Username("bob@acme.example")).OnlyIDX(context.Background())
	conns := connections(t, p.introspect(), map[string]int{"User": bob})
	values := []any{
		nil, "Tie", "", true, int64(-5), int64(30), uint64(math.MaxUint64), 1.5, math.NaN(), math.Inf(1),
		time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC), []any{1}, map[string]any{"a": 1},
	}
	type crafted struct {
		name, cursor string
		value        any
		badID        bool
	}
	var cursors []crafted
	for _, id := range []any{int64(1), int64(-1)} {
		for _, v := range values {
			cursors = append(cursors, crafted{fmt.Sprintf("id %v, value %T %v", id, v, v), encodeCursor(t, map[string]any{"i": id, "v": v}), v, false})
		}
	}
	for _, id := range []any{"x", uint64(math.MaxUint64), 1.5} {
		cursors = append(cursors, crafted{fmt.Sprintf("id %T %v", id, id), encodeCursor(t, map[string]any{"i": id}), nil, true})
	}
	support := p.tokenFor("support@provider.example")
	refused, tried := 0, 0
	for _, c := range conns {
		for _, order := range append([]string{""}, c.orderFields...) {
			orderBy := ""
			if order != "" {
				orderBy = fmt.Sprintf(", orderBy: {field: %s, direction: ASC}", order)
			}
			// The cursor the connection issues is taken, both ways.
			var out struct {
				C struct{ PageInfo struct{ EndCursor *string } }
				N struct {
					C struct{ PageInfo struct{ EndCursor *string } }
				}
			}
			if err := json.Unmarshal(p.mustDo(support, c.query("first: 1"+orderBy, "pageInfo { endCursor } edges { cursor }"), nil), &out); err != nil {
				t.Fatal(err)
			}
			own := out.C.PageInfo.EndCursor
			if c.owner != "Query" {
				own = out.N.C.PageInfo.EndCursor
			}
			if own == nil {
				t.Fatalf("%s.%s %s: no cursor on the first page", c.owner, c.field, order)
			}
			// The kind of value this order's cursors carry: a crafted
			// cursor with a value of another kind must be refused.
			var decoded struct {
				V any `msgpack:"v"`
			}
			raw, err := base64.RawStdEncoding.DecodeString(*own)
			if err != nil || msgpack.Unmarshal(raw, &decoded) != nil {
				t.Fatalf("%s.%s %s: cursor %q does not decode", c.owner, c.field, order, *own)
			}
			want := valueFamily(decoded.V)
			for _, way := range []struct{ arg, page string }{{"after", "first: 2"}, {"before", "last: 2"}} {
				name := fmt.Sprintf("%s.%s(%s, orderBy %q)", c.owner, c.field, way.arg, order)
				q := c.query(fmt.Sprintf("%s, %s: %q%s", way.page, way.arg, *own, orderBy), "totalCount edges { cursor }")
				if r := p.do(support, q, nil); len(r.Errors) > 0 {
					t.Errorf("%s with its own cursor: %+v", name, r.Errors)
				}
				for _, cur := range cursors {
					tried++
					q := c.query(fmt.Sprintf("%s, %s: %q%s", way.page, way.arg, cur.cursor, orderBy), "totalCount edges { cursor }")
					r := p.do(support, q, nil)
					for _, e := range r.Errors {
						if e.code() != "BAD_USER_INPUT" || e.Extensions["field"] != way.arg {
							t.Errorf("%s with a cursor of %s: error %q %q (field %v), want none or BAD_USER_INPUT naming %s",
								name, cur.name, e.code(), e.Message, e.Extensions["field"], way.arg)
						}
					}
					if len(r.Errors) > 0 {
						refused++
					}
					got := valueFamily(cur.value)
					// No order field of the schema may be NULL, so a cursor
					// without a value is foreign under every one of them.
					foreign := cur.badID || got == "other" || got != want
					if foreign && len(r.Errors) == 0 {
						t.Errorf("%s with a cursor of %s, whose order values are %s: taken, want BAD_USER_INPUT", name, cur.name, want)
					}
				}
			}
		}
	}
	if refused == 0 || refused == tried {
		t.Fatalf("%d of %d crafted cursors refused: the test tells nothing", refused, tried)
	}
}

// valueFamily is what a database compares an order value as: nil, string,
// bool, integer, float, time, or other (no order value is).
func valueFamily(v any) string {
	switch v := v.(type) {
	case nil:
		return "nil"
	case string:
		return "string"
	case bool:
		return "bool"
	case time.Time:
		return "time"
	case float32, float64:
		return "float"
	case int8, int16, int32, int64, uint8, uint16, uint32:
		return "integer"
	case uint64:
		if v <= math.MaxInt64 {
			return "integer"
		}
	}
	return "other"
}

// encodeCursor encodes v as a connection cursor is: msgpack, then base64
// without padding.
func encodeCursor(t *testing.T, v any) string {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawStdEncoding.EncodeToString(b)
}
