package graph

import (
	"context"
	"slices"
	"time"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/callqueue"
	"github.com/pbxportal/pbxportal/ent/callrecord"
	"github.com/pbxportal/pbxportal/ent/predicate"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/graph/model"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
)

// summaryScope authorizes a call summary and returns the calls it covers: a
// queue's (view_reports), a site's users' (edit_defaults: its site managers
// and office managers), or the viewer's domain's (view_call_summary).
func (r *Resolver) summaryScope(ctx context.Context, queueID, siteID *int) (predicate.CallRecord, error) {
	switch {
	case queueID != nil:
		if _, err := r.authorize(ctx, projection.TypeQueue, *queueID, "view_reports"); err != nil {
			return nil, err
		}
		return callrecord.QueueID(*queueID), nil
	case siteID != nil:
		if _, err := r.authorize(ctx, projection.TypeSite, *siteID, "edit_defaults"); err != nil {
			return nil, err
		}
		return callrecord.HasUserWith(user.SiteID(*siteID)), nil
	}
	v, err := r.viewer(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := r.authorize(ctx, projection.TypeDomain, v.User.DomainID, "view_call_summary"); err != nil {
		return nil, err
	}
	return callrecord.DomainID(v.User.DomainID), nil
}

// tally adds up calls.
type tally struct {
	calls, answered int
	seconds         int
}

func (t *tally) add(c *ent.CallRecord) {
	t.calls++
	if c.Answered {
		t.answered++
		t.seconds += c.DurationSeconds
	}
}

func (t tally) totals() *model.CallTotals {
	out := &model.CallTotals{Calls: t.calls, Answered: t.answered, Missed: t.calls - t.answered}
	if t.answered > 0 {
		out.AverageDurationSeconds = float64(t.seconds) / float64(t.answered)
	}
	return out
}

// summarize totals the records, overall, per user and per queue. The
// average duration is over answered calls.
func summarize(ctx context.Context, c *ent.Client, from, to time.Time, records []*ent.CallRecord) (*model.CallSummary, error) {
	var all tally
	byUser, byQueue := map[int]*tally{}, map[int]*tally{}
	count := func(m map[int]*tally, id int, rec *ent.CallRecord) {
		if id == 0 {
			return
		}
		if m[id] == nil {
			m[id] = &tally{}
		}
		m[id].add(rec)
	}
	for _, rec := range records {
		all.add(rec)
		count(byUser, rec.UserID, rec)
		count(byQueue, rec.QueueID, rec)
	}
	sum := &model.CallSummary{From: from, To: to, Totals: all.totals()}
	users, err := c.User.Query().Where(user.IDIn(keys(byUser)...)).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		sum.ByUser = append(sum.ByUser, &model.UserCallTotals{User: u, Totals: byUser[u.ID].totals()})
	}
	queues, err := c.CallQueue.Query().Where(callqueue.IDIn(keys(byQueue)...)).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, q := range queues {
		sum.ByQueue = append(sum.ByQueue, &model.QueueCallTotals{Queue: q, Totals: byQueue[q.ID].totals()})
	}
	return sum, nil
}

func keys(m map[int]*tally) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
