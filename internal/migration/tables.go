package migration

import (
	"context"

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
// so that a request's cost would grow with the rows of the database. Tables
// adds an index on every foreign-key column that does not lead one, named
// <table>_by_<column>, to copies of the tables that need one; ent's own
// tables are left as they are. Both SQLite, migrated at start-up, and the
// versioned PostgreSQL migrations (cmd/migrategen) are made from Tables.
func Tables() []*entschema.Table {
	out := make([]*entschema.Table, len(migrate.Tables))
	for i, t := range migrate.Tables {
		out[i] = t
		var missing []*entschema.Column
		for _, fk := range t.ForeignKeys {
			if c := fk.Columns[0]; !leadsIndex(t, c) {
				missing = append(missing, c)
			}
		}
		if len(missing) == 0 {
			continue
		}
		cp := *t
		cp.Indexes = append([]*entschema.Index(nil), t.Indexes...)
		for _, c := range missing {
			cp.Indexes = append(cp.Indexes, &entschema.Index{Name: t.Name + "_by_" + c.Name, Columns: []*entschema.Column{c}})
		}
		out[i] = &cp
	}
	return out
}

// leadsIndex says whether c is the first column of t's primary key or of
// one of its indexes.
func leadsIndex(t *entschema.Table, c *entschema.Column) bool {
	if len(t.PrimaryKey) > 0 && t.PrimaryKey[0] == c {
		return true
	}
	for _, ix := range t.Indexes {
		if len(ix.Columns) > 0 && ix.Columns[0] == c {
			return true
		}
	}
	return false
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
