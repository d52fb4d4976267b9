package projection

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"entgo.io/ent/dialect/sql"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/hook"
	"github.com/pbxportal/pbxportal/ent/recording"
	"github.com/pbxportal/pbxportal/internal/authz/sqlfilter"
)

// A recording's numbers (caller, callee, account code) are stored twice: as
// dialled, and normalised (NumberDigits) in the *_number columns, which is
// what a number's SpiceDB id is made of. The normalised columns are indexed
// with the domain, so that a number right selects its recordings by index:
// the cost of the filter is the viewer's granted numbers, not the domain's
// recordings.

// numberFields pairs each raw number column of a recording with its
// normalised column.
var numberFields = [...][2]string{
	{recording.FieldCaller, recording.FieldCallerNumber},
	{recording.FieldCallee, recording.FieldCalleeNumber},
	{recording.FieldAccountCode, recording.FieldAccountCodeNumber},
}

// NumbersHook keeps a recording's normalised number columns equal to its raw
// ones: on every create, and on every update that sets a raw number. It is
// registered on every client that writes recordings (app.OpenStore).
func NumbersHook() ent.Hook {
	return hook.On(func(next ent.Mutator) ent.Mutator {
		return hook.RecordingFunc(func(ctx context.Context, m *ent.RecordingMutation) (ent.Value, error) {
			for _, f := range numberFields {
				v, ok := m.Field(f[0])
				if !ok {
					continue
				}
				raw, _ := v.(string)
				if err := m.SetField(f[1], NumberDigits(raw)); err != nil {
					return nil, fmt.Errorf("projection: set %s: %w", f[1], err)
				}
			}
			return next.Mutate(ctx, m)
		})
	}, ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne)
}

// BackfillNumbers fills the normalised number columns of the recordings
// written before they existed (NULL), in pages; a no-op once done, which
// reads no recording: the rows to fill are found by a partial index that
// holds only them (recording_numbers_missing). The pages are in no order,
// since an order by id would make SQLite walk the table in id order rather
// than the index. dialect is the database's (entgo.io/ent/dialect).
func BackfillNumbers(ctx context.Context, c *ent.Client, dialect string) (int, error) {
	const page = 1000
	done := 0
	for {
		// The predicate is the index's, term for term, so that both
		// databases prove the index covers it.
		recs, err := c.Recording.Query().Where(recording.Or(
			recording.CallerNumberIsNil(), recording.CalleeNumberIsNil(), recording.AccountCodeNumberIsNil())).
			Limit(page).
			Select(recording.FieldID, recording.FieldCaller, recording.FieldCallee, recording.FieldAccountCode).All(ctx)
		if err != nil {
			return done, fmt.Errorf("projection: read recordings to backfill: %w", err)
		}
		if len(recs) == 0 {
			return done, nil
		}
		if err := backfillPage(ctx, c, dialect, recs); err != nil {
			return done, err
		}
		done += len(recs)
	}
}

// backfillPage writes one page of normalised numbers in one transaction,
// with plain SQL: no hook runs, since nothing the projection or the audit
// cares about changes.
func backfillPage(ctx context.Context, c *ent.Client, dialect string, recs []*ent.Recording) error {
	tx, err := c.Tx(ctx)
	if err != nil {
		return fmt.Errorf("projection: backfill numbers: %w", err)
	}
	for _, r := range recs {
		q, args := sql.Dialect(dialect).Update(recording.Table).
			Set(recording.FieldCallerNumber, NumberDigits(r.Caller)).
			Set(recording.FieldCalleeNumber, NumberDigits(r.Callee)).
			Set(recording.FieldAccountCodeNumber, NumberDigits(r.AccountCode)).
			Where(sql.EQ(recording.FieldID, r.ID)).Query()
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("projection: backfill the numbers of recording %d: %w", r.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("projection: backfill numbers: %w", err)
	}
	return nil
}

// numberColumn is recording#number: the recordings whose normalised numbers
// are among the number ids (each "<domain>_<digits>"), by index.
func numberColumn() sqlfilter.Column {
	return sqlfilter.Column{Resource: TypeRecording, Relation: "number", Resolve: recordingNumbers}
}

// recordingNumbers turns number ids into the predicate: for each domain d
// and normalised column c, (domain_id = d AND c is not empty AND c IN (…)), each
// term an OR of its own so that each is served by its (domain_id, c) index.
//
// "c is not empty" changes no row (no number id has empty digits) but the plan: a
// column that is empty on nearly every row (the account code) is, to
// PostgreSQL's generic plan of the prepared statement, a test that every
// row passes, as it cannot see the value. That plan then expects a page's
// first rows at the start of the primary key and costs next to nothing, so
// after its fifth run the statement switches to it and walks the table
// (112 ms at 1M recordings, against 0.3 ms by the indexes). Written out,
// the empty value is a constant the generic plan estimates too.
func recordingNumbers(_ context.Context, ids []string) (func(*sql.Selector) *sql.Predicate, error) {
	byDomain := map[int][]string{}
	for _, id := range ids {
		d, digits, ok := strings.Cut(id, "_")
		dom, err := strconv.Atoi(d)
		if !ok || err != nil || digits == "" {
			return nil, fmt.Errorf("projection: number id %q", id)
		}
		byDomain[dom] = append(byDomain[dom], digits)
	}
	doms := make([]int, 0, len(byDomain))
	for d := range byDomain {
		doms = append(doms, d)
		slices.Sort(byDomain[d])
	}
	slices.Sort(doms)
	return func(s *sql.Selector) *sql.Predicate {
		var ps []*sql.Predicate
		for _, dom := range doms {
			for _, f := range numberFields {
				ps = append(ps, sql.And(sql.EQ(s.C(recording.FieldDomainID), dom), notEmpty(s.C(f[1])), sqlfilter.InStrings(s.C(f[1]), byDomain[dom])))
			}
		}
		switch len(ps) {
		case 0:
			return nil
		case 1:
			return ps[0]
		}
		return sql.Or(ps...)
	}, nil
}

// notEmpty: col is not the empty string, written as a constant of the statement
// rather than a parameter, so that a generic plan sees it.
func notEmpty(col string) *sql.Predicate {
	return sql.P(func(b *sql.Builder) { b.Ident(col).WriteString(" <> ''") })
}
