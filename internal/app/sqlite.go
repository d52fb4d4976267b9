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

// timeChecks is the SQLite table that holds, for each table with times,
// the largest id whose times rewriteTimes has checked. It is not part of
// the ent schema: only SQLite, migrated in place, needs it.
const timeChecks = "pbxportal_time_checks"

// rewriteTimes rewrites, in the layout the connection now writes (see
// openDB), the times an older pbxportal wrote in Go's time.String layout
// ("… +0000 UTC m=+0.01"), which SQLite cannot compare with the new ones.
// It reads only the rows written since it last ran (ids above the table's
// mark in timeChecks), by the primary key: a start does not read every row
// of every table. Rows an older pbxportal wrote after a start still get
// rewritten at the next one; a row an older pbxportal updated in place
// (ids under the mark) does not.
func rewriteTimes(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+timeChecks+
		` (table_name TEXT NOT NULL PRIMARY KEY, checked_id INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	for _, t := range migrate.Tables {
		var cols []string
		for _, c := range t.Columns {
			if c.Type == field.TypeTime {
				cols = append(cols, c.Name)
			}
		}
		if len(cols) == 0 {
			continue
		}
		if err := rewriteTable(ctx, db, t.Name, cols); err != nil {
			return fmt.Errorf("migrate database: times of %s: %w", t.Name, err)
		}
	}
	return nil
}

// rewriteTable rewrites the old times of the rows of table written since
// its mark, and moves the mark to its last row.
func rewriteTable(ctx context.Context, db *sql.DB, table string, cols []string) error {
	var from, to sql.NullInt64
	switch err := db.QueryRowContext(ctx, `SELECT checked_id FROM `+timeChecks+` WHERE table_name = ?`, table).Scan(&from); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	}
	if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT max(id) FROM %q`, table)).Scan(&to); err != nil {
		return err
	}
	if !to.Valid || to.Int64 <= from.Int64 {
		return nil
	}
	for _, c := range cols {
		if err := rewriteColumn(ctx, db, table, c, from.Int64, to.Int64); err != nil {
			return fmt.Errorf("%s: %w", c, err)
		}
	}
	_, err := db.ExecContext(ctx, `INSERT INTO `+timeChecks+` (table_name, checked_id) VALUES (?, ?)
		ON CONFLICT (table_name) DO UPDATE SET checked_id = excluded.checked_id`, table, to.Int64)
	return err
}

// rewriteColumn rewrites the times of one column written in the old layout,
// whose zone follows a space, in the rows with ids in (from, to].
func rewriteColumn(ctx context.Context, db *sql.DB, table, column string, from, to int64) error {
	rows, err := db.QueryContext(ctx, oldTimes(table, column), from, to)
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

// oldTimes is the query of the rows of table with ids in (?, ?] whose
// column holds a time in the old layout.
func oldTimes(table, column string) string {
	return fmt.Sprintf(`SELECT id, %q FROM %q WHERE id > ? AND id <= ? AND %q LIKE '%% %% %%'`, column, table, column)
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
