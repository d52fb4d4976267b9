package server

import (
	"encoding/base64"
	"errors"
	"math"
	"reflect"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/apperr"
)

// A connection's cursor is checked twice before anything runs: alone, that
// it decodes to the shape this server issues (validCursor), and with the
// connection's orderBy, that it was issued under that order
// (cursorsFitOrder). Both run in the cost guard, over every field of the
// operation, because a connection nested in an object (a user's
// recordings) is read by its parent's query, before any resolver of its
// own. A cursor that passes only reaches the store as values of the
// column's type: anything else is a refusal from PostgreSQL, or a silently
// wrong page from SQLite.

// validCursor reports whether s decodes to a cursor of the shape this server
// issues: an integer node id and, for an ordered connection, a scalar order
// value that the database can take. Such a cursor also decodes into
// ent.Cursor, as the resolvers do.
func validCursor(s string) bool {
	c, err := decodeCursor(s)
	return err == nil && valueKind(c.ID) == kindInteger && valueKind(c.Value) != kindOther
}

// errMalformedCursor is a cursor the decoder gave up on.
var errMalformedCursor = errors.New("malformed cursor")

// decodeCursor decodes s without a type for its id, so that an id no node
// has (past int64, a string, a fraction) is seen, not converted. The
// msgpack decoder panics on some malformed input (a key given twice, the
// second decoded into the interface the first filled), and sizes a map by
// the length its header claims (80 MB and 130 ms for a 15-byte cursor
// claiming 2³² entries): both are the client's mistake like any other bad
// cursor, refused before the decoder sees them, or as an error, not a
// panic.
func decodeCursor(s string) (c entgql.Cursor[any], err error) {
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil || !msgpackWithin(b) {
		return c, errMalformedCursor
	}
	defer func() {
		if recover() != nil {
			err = errMalformedCursor
		}
	}()
	err = c.UnmarshalGQL(s)
	return c, err
}

// cursorsFitOrder returns a BAD_USER_INPUT error naming after or before
// when its cursor was issued under another order than the field's orderBy
// (the default order by id when there is none): the default order's
// cursors carry no value; an order field's carry a value of the field's
// kind.
func cursorsFitOrder(def *ast.FieldDefinition, args map[string]any) error {
	for _, name := range []string{"after", "before"} {
		s, ok := args[name].(string)
		if !ok || def.Arguments.ForName(name) == nil {
			continue
		}
		c, err := decodeCursor(s)
		if err != nil {
			continue // validCursor refuses it
		}
		want, nullable := kindNil, true
		if order := def.Arguments.ForName("orderBy"); order != nil && args["orderBy"] != nil {
			want, nullable = orderKind(order.Type, args["orderBy"])
		}
		if !fits(valueKind(c.Value), want, nullable) {
			return apperr.BadInput(name, "not a cursor of this connection in this order: pass a cursor from its pageInfo or edges, with the same orderBy")
		}
	}
	return nil
}

// fits reports whether a cursor value of kind got can have been issued
// by an order whose values are of kind want (kindNil: the default order),
// and may be missing if nullable.
func fits(got, want kind, nullable bool) bool {
	switch {
	case got == kindNil:
		return nullable // the default order, or a row without a value
	case want == kindUnknown:
		return got != kindOther
	case want == kindFloat:
		return got == kindFloat || got == kindInteger
	}
	return got == want
}

// kind is the family of an order value: what a column compares it as.
type kind int

const (
	kindNil kind = iota
	kindString
	kindInteger
	kindFloat
	kindBool
	kindTime
	kindUnknown // an order field whose kind cannot be told
	kindOther   // a value no cursor of this server holds
)

// valueKind is the kind of a decoded cursor value.
func valueKind(v any) kind {
	switch v := v.(type) {
	case nil:
		return kindNil
	case string:
		return kindString
	case bool:
		return kindBool
	case time.Time:
		return kindTime
	case float32, float64:
		return kindFloat
	case int, int8, int16, int32, int64, uint8, uint16, uint32:
		return kindInteger
	case uint64:
		if v <= math.MaxInt64 {
			return kindInteger
		}
	case uint:
		if uint64(v) <= math.MaxInt64 {
			return kindInteger
		}
	}
	return kindOther
}

// orders are the ent orders of the connections, by their GraphQL input
// type's name, which entgql gives the Go type's.
func orders() map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for _, o := range []any{
		ent.AuditEventOrder{}, ent.ButtonOrder{}, ent.CallQueueOrder{}, ent.CallRecordOrder{},
		ent.ContactOrder{}, ent.DomainOrder{}, ent.GroupOrder{}, ent.PersonalDirectoryEntryOrder{},
		ent.QueueAgentOrder{}, ent.RecordingOrder{}, ent.SiteOrder{}, ent.UserOrder{},
	} {
		m[reflect.TypeOf(o).Name()] = reflect.TypeOf(o)
	}
	return m
}

// orderKind returns the kind of the values that an orderBy argument of
// type t, given as raw ({field: ..., direction: ...}), puts in its
// cursors: ent's order field, unmarshalled from the enum value, gives the
// value of an empty node, whose type says it, and whether it may be
// missing (a pointer: a column that may be NULL). An order this cannot
// read is kindUnknown, and nullable.
func orderKind(t *ast.Type, raw any) (k kind, nullable bool) {
	obj, ok := raw.(map[string]any)
	typ, known := orders()[t.Name()]
	if !ok || !known || t.Elem != nil {
		return kindUnknown, true
	}
	field, ok := typ.FieldByName("Field")
	if !ok || field.Type.Kind() != reflect.Pointer {
		return kindUnknown, true
	}
	f := reflect.New(field.Type.Elem())
	unmarshal, ok := f.Interface().(interface{ UnmarshalGQL(any) error })
	if !ok || unmarshal.UnmarshalGQL(obj["field"]) != nil {
		return kindUnknown, true
	}
	value := f.Elem().FieldByName("Value")
	if !value.IsValid() || value.Kind() != reflect.Func || value.IsNil() || value.Type().NumIn() != 1 ||
		value.Type().In(0).Kind() != reflect.Pointer || value.Type().NumOut() != 2 {
		return kindUnknown, true
	}
	out := value.Call([]reflect.Value{reflect.New(value.Type().In(0).Elem())})
	if !out[1].IsNil() || !out[0].Elem().IsValid() {
		return kindUnknown, true
	}
	t0 := out[0].Elem().Type()
	return typeKind(t0), t0.Kind() == reflect.Pointer
}

// typeKind is the kind of an order field's values, read from their type
// (or the type it points to).
func typeKind(t reflect.Type) kind {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
		return kindTime
	case t.Kind() == reflect.String:
		return kindString
	case t.Kind() == reflect.Bool:
		return kindBool
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return kindFloat
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return kindInteger
	}
	return kindUnknown
}
