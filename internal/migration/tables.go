package migration

import (
	"context"
	"slices"

	"entgo.io/ent/dialect"
	entschema "entgo.io/ent/dialect/sql/schema"

	"github.com/pbxportal/pbxportal/ent/migrate"
)

// Tables are the tables the portal's databases hold: ent/schema's, each
// foreign-key column leading an index. ent indexes the columns its schema
// names, and a many-to-many table by its primary key, whose first column
// alone leads it: call_queue_supervisors (call_queue_id, user_id) is read by
// queue, never by user, without one more. Yet both sides are read: the
// lookups that answer a viewer's own grants start from the user (the queues
// a user supervises, the groups a user belongs to), and a delete cascades
// from either side. Without an index each of these reads the whole table,
// so that a request's cost would grow with the rows of the database.
//
// On a table of entities (an "id" primary key) a container's column (any
// foreign key but the domain's) is indexed with the id after it, unless it
// leads a unique index: lists page by id, and a page of one container's
// rows (a site's queues) is then one range of an index, in order. With the
// column alone PostgreSQL may walk the primary key past every other
// container's rows instead. The domain's column is left as ent/schema has
// it: a domain-wide viewer's rows are most of the table, which the primary
// key serves.
//
// Tables adds what is missing, named <table>_by_<column>, to copies of the
// tables that need it; ent's own tables are left as they are. Both SQLite,
// migrated at start-up, and the versioned PostgreSQL migrations
// (cmd/migrategen) are made from Tables.
func Tables() []*entschema.Table {
	out := make([]*entschema.Table, len(migrate.Tables))
	for i, t := range migrate.Tables {
		out[i] = t
		var missing []*entschema.Index
		for _, fk := range t.ForeignKeys {
			c := fk.Columns[0]
			if ix := neededIndex(t, c); ix != nil {
				missing = append(missing, ix)
			}
		}
		if len(missing) == 0 {
			continue
		}
		cp := *t
		cp.Indexes = append(append([]*entschema.Index(nil), t.Indexes...), missing...)
		out[i] = &cp
	}
	return out
}

// neededIndex is the index that t needs for its foreign-key column c
// (Tables), or nil if it has one.
func neededIndex(t *entschema.Table, c *entschema.Column) *entschema.Index {
	name := t.Name + "_by_" + c.Name
	if id := entityID(t); id != nil && c.Name != "domain_id" {
		if leadsIndex(t, c, id) || leadsUniqueIndex(t, c) {
			return nil
		}
		return &entschema.Index{Name: name, Columns: []*entschema.Column{c, id}}
	}
	if leadsIndex(t, c) {
		return nil
	}
	return &entschema.Index{Name: name, Columns: []*entschema.Column{c}}
}

// entityID is t's "id" primary key, or nil for a table keyed otherwise (a
// many-to-many table).
func entityID(t *entschema.Table) *entschema.Column {
	if len(t.PrimaryKey) == 1 && t.PrimaryKey[0].Name == "id" {
		return t.PrimaryKey[0]
	}
	return nil
}

// leadsIndex says whether cols are the first columns of t's primary key or
// of one of its indexes that holds every row (not a partial one).
func leadsIndex(t *entschema.Table, cols ...*entschema.Column) bool {
	if startsWith(t.PrimaryKey, cols) {
		return true
	}
	for _, ix := range t.Indexes {
		if whole(ix) && startsWith(ix.Columns, cols) {
			return true
		}
	}
	return false
}

// leadsUniqueIndex says whether c is the first column of one of t's unique
// indexes, which orders one container's rows by its other columns.
func leadsUniqueIndex(t *entschema.Table, c *entschema.Column) bool {
	for _, ix := range t.Indexes {
		if ix.Unique && whole(ix) && startsWith(ix.Columns, []*entschema.Column{c}) {
			return true
		}
	}
	return false
}

// whole says whether ix indexes every row of its table (it is not partial).
func whole(ix *entschema.Index) bool { return ix.Annotation == nil || ix.Annotation.Where == "" }

// startsWith says whether have begins with want.
func startsWith(have, want []*entschema.Column) bool {
	return len(have) >= len(want) && slices.Equal(have[:len(want)], want)
}

// Diff writes, as one named migration of the directory that opts give
// (schema.WithDir), what brings the database of drv to Tables.
func Diff(ctx context.Context, drv dialect.Driver, name string, opts ...entschema.MigrateOption) error {
	m, err := entschema.NewMigrate(drv, opts...)
	if err != nil {
		return err
	}
	return m.NamedDiff(ctx, name, Tables()...)
}
