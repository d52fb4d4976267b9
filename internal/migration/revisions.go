package migration

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/schema"
)

// RevisionsTable is the table, in the database's current schema, that
// records which migration versions have been applied.
const RevisionsTable = "pbxportal_schema_revisions"

const createRevisions = `CREATE TABLE IF NOT EXISTS ` + RevisionsTable + ` (
	version          text        NOT NULL PRIMARY KEY,
	description      text        NOT NULL,
	type             bigint      NOT NULL,
	applied          bigint      NOT NULL,
	total            bigint      NOT NULL,
	executed_at      timestamptz NOT NULL,
	execution_time   bigint      NOT NULL,
	error            text        NOT NULL DEFAULT '',
	error_stmt       text        NOT NULL DEFAULT '',
	hash             text        NOT NULL,
	partial_hashes   jsonb       NULL,
	operator_version text        NOT NULL DEFAULT ''
)`

const revisionColumns = `version, description, type, applied, total, executed_at, execution_time, error, error_stmt, hash, partial_hashes, operator_version`

// revisions is Atlas's migrate.RevisionReadWriter over RevisionsTable. A
// missing table reads as no revisions, so that checking a database never
// writes to it.
type revisions struct{ q schema.ExecQuerier }

var _ migrate.RevisionReadWriter = revisions{}

// createRevisionsTable creates RevisionsTable if it does not exist.
func createRevisionsTable(ctx context.Context, q schema.ExecQuerier) error {
	if _, err := q.ExecContext(ctx, createRevisions); err != nil {
		return fmt.Errorf("create %s: %w", RevisionsTable, err)
	}
	return nil
}

// Ident implements migrate.RevisionReadWriter.
func (revisions) Ident() *migrate.TableIdent {
	return &migrate.TableIdent{Name: RevisionsTable}
}

// exists reports whether RevisionsTable is in the current schema.
func (r revisions) exists(ctx context.Context) (bool, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, RevisionsTable)
	if err != nil {
		return false, fmt.Errorf("look for %s: %w", RevisionsTable, err)
	}
	defer rows.Close()
	var ok bool
	if rows.Next() {
		if err := rows.Scan(&ok); err != nil {
			return false, err
		}
	}
	return ok, rows.Err()
}

// ReadRevisions implements migrate.RevisionReadWriter.
func (r revisions) ReadRevisions(ctx context.Context) ([]*migrate.Revision, error) {
	if ok, err := r.exists(ctx); err != nil || !ok {
		return nil, err
	}
	return r.query(ctx, `SELECT `+revisionColumns+` FROM `+RevisionsTable+` ORDER BY version`)
}

// ReadRevision implements migrate.RevisionReadWriter.
func (r revisions) ReadRevision(ctx context.Context, version string) (*migrate.Revision, error) {
	if ok, err := r.exists(ctx); err != nil {
		return nil, err
	} else if !ok {
		return nil, migrate.ErrRevisionNotExist
	}
	revs, err := r.query(ctx, `SELECT `+revisionColumns+` FROM `+RevisionsTable+` WHERE version = $1`, version)
	if err != nil {
		return nil, err
	}
	if len(revs) == 0 {
		return nil, migrate.ErrRevisionNotExist
	}
	return revs[0], nil
}

// WriteRevision implements migrate.RevisionReadWriter.
func (r revisions) WriteRevision(ctx context.Context, rev *migrate.Revision) error {
	var partial []byte
	if rev.PartialHashes != nil {
		var err error
		if partial, err = json.Marshal(rev.PartialHashes); err != nil {
			return err
		}
	}
	_, err := r.q.ExecContext(ctx, `INSERT INTO `+RevisionsTable+` (`+revisionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (version) DO UPDATE SET
			description = EXCLUDED.description, type = EXCLUDED.type, applied = EXCLUDED.applied,
			total = EXCLUDED.total, executed_at = EXCLUDED.executed_at, execution_time = EXCLUDED.execution_time,
			error = EXCLUDED.error, error_stmt = EXCLUDED.error_stmt, hash = EXCLUDED.hash,
			partial_hashes = EXCLUDED.partial_hashes, operator_version = EXCLUDED.operator_version`,
		rev.Version, rev.Description, int64(rev.Type), rev.Applied, rev.Total, rev.ExecutedAt,
		int64(rev.ExecutionTime), rev.Error, rev.ErrorStmt, rev.Hash, partial, rev.OperatorVersion)
	if err != nil {
		return fmt.Errorf("write revision %s: %w", rev.Version, err)
	}
	return nil
}

// DeleteRevision implements migrate.RevisionReadWriter.
func (r revisions) DeleteRevision(ctx context.Context, version string) error {
	if _, err := r.q.ExecContext(ctx, `DELETE FROM `+RevisionsTable+` WHERE version = $1`, version); err != nil {
		return fmt.Errorf("delete revision %s: %w", version, err)
	}
	return nil
}

func (r revisions) query(ctx context.Context, query string, args ...any) ([]*migrate.Revision, error) {
	rows, err := r.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", RevisionsTable, err)
	}
	defer rows.Close()
	var revs []*migrate.Revision
	for rows.Next() {
		var (
			rev           migrate.Revision
			typ, execTime int64
			partial       []byte
		)
		if err := rows.Scan(&rev.Version, &rev.Description, &typ, &rev.Applied, &rev.Total, &rev.ExecutedAt,
			&execTime, &rev.Error, &rev.ErrorStmt, &rev.Hash, &partial, &rev.OperatorVersion); err != nil {
			return nil, fmt.Errorf("read %s: %w", RevisionsTable, err)
		}
		rev.Type = migrate.RevisionType(typ)
		rev.ExecutionTime = time.Duration(execTime)
		if len(partial) > 0 {
			if err := json.Unmarshal(partial, &rev.PartialHashes); err != nil {
				return nil, fmt.Errorf("read %s: partial hashes of %s: %w", RevisionsTable, rev.Version, err)
			}
		}
		revs = append(revs, &rev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", RevisionsTable, err)
	}
	return revs, nil
}
