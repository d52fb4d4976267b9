package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"entgo.io/ent/schema/field"

	"github.com/pbxportal/pbxportal/ent/migrate"
)

// The SQLite database is migrated in place at start-up (prepareSchema):
// ent creates what is missing, and these bring the data of an older
// pbxportal up to date, as the PostgreSQL migrations do.

// rewriteTimes rewrites, in the layout the connection now writes (see
// openDB), the times an older pbxportal wrote in Go's time.String layout
// ("… +0000 UTC m=+0.01"), which SQLite cannot compare with the new ones.
// It does nothing to a database already rewritten.
func rewriteTimes(ctx context.Context, db *sql.DB) error {
	for _, t := range migrate.Tables {
		for _, c := range t.Columns {
			if c.Type != field.TypeTime {
				continue
			}
			if err := rewriteColumn(ctx, db, t.Name, c.Name); err != nil {
				return fmt.Errorf("migrate database: times of %s.%s: %w", t.Name, c.Name, err)
			}
		}
	}
	return nil
}

// rewriteColumn rewrites the times of one column written in the old layout,
// whose zone follows a space.
func rewriteColumn(ctx context.Context, db *sql.DB, table, column string) error {
	rows, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT id, %q FROM %q WHERE %q LIKE '%% %% %%'`, column, table, column))
	if err != nil {
		return err
	}
	type old struct {
		id int
		at time.Time
	}
	var olds []old
	for rows.Next() {
		var o old
		if err := rows.Scan(&o.id, &o.at); err != nil {
			return errors.Join(err, rows.Close())
		}
		olds = append(olds, o)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	for _, o := range olds {
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`UPDATE %q SET %q = ? WHERE id = ?`, table, column), o.at, o.id); err != nil {
			return err
		}
	}
	return nil
}

// moveAuditEventIDs moves the audit events of a SQLite database created
// before they had a range of global ids of their own into it, and makes new
// ids follow, as the PostgreSQL migration audit_event_global_ids does. It
// does nothing to a database already moved.
func moveAuditEventIDs(ctx context.Context, db *sql.DB) error {
	start := *migrate.AuditEventsTable.Annotation.IncrementStart
	if _, err := db.ExecContext(ctx, `UPDATE audit_events SET id = id + ? WHERE id < ?`, start, 1<<32); err != nil {
		return fmt.Errorf("migrate database: audit event ids: %w", err)
	}
	if _, err := db.ExecContext(ctx, `INSERT OR REPLACE INTO sqlite_sequence (name, seq)
		SELECT 'audit_events', max(?, coalesce((SELECT max(seq) FROM sqlite_sequence WHERE name = 'audit_events'), 0),
			coalesce((SELECT max(id) FROM audit_events), 0))`, start); err != nil {
		return fmt.Errorf("migrate database: audit event ids: %w", err)
	}
	return nil
}
