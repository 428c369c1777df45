package signalrt

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// TaskQuery selects tasks for [SearchTasks] and the bulk actions
// ([RetryMatching], [DiscardMatching], [CancelMatching]). Empty fields
// match everything.
type TaskQuery struct {
	State    TaskState `json:"state,omitempty"`
	Queue    string    `json:"queue,omitempty"`
	Signal   string    `json:"signal,omitempty"`
	Receiver string    `json:"receiver,omitempty"` // the whole key
	// MinID and MaxID bound the task ids, inclusive; 0 leaves a side open.
	MinID int64 `json:"min_id,omitempty"`
	MaxID int64 `json:"max_id,omitempty"`
	// CreatedAfter and CreatedBefore bound the creation time: at or after,
	// and before; the zero time leaves a side open.
	CreatedAfter  time.Time `json:"created_after,omitzero"`
	CreatedBefore time.Time `json:"created_before,omitzero"`
	// ErrorContains matches tasks with a failed attempt whose error
	// message contains the text, ignoring case.
	ErrorContains string `json:"error_contains,omitempty"`
	// BeforeID pages [SearchTasks], which lists newest first: only ids
	// below it are listed. Pass [TaskPage].Next; 0 starts at the newest
	// task.
	BeforeID int64 `json:"before_id,omitempty"`
	// Limit is the most tasks SearchTasks returns: default 50, at most
	// MaxSearchLimit.
	Limit int `json:"limit,omitempty"`
	// Scan is the most tasks SearchTasks reads for one page, newest
	// first, to find those that match: default DefaultSearchScan, at most
	// MaxSearchScan. It bounds the cost of a filter that matches little.
	Scan int `json:"scan,omitempty"`
}

// Bounds of TaskQuery.
const (
	MaxSearchLimit    = 1000
	DefaultSearchScan = 10_000
	MaxSearchScan     = 1_000_000
)

// Validate reports the first field of q that has no valid value, with the
// values it allows.
func (q TaskQuery) Validate() error {
	if q.State != "" && !q.State.Valid() {
		return fmt.Errorf("unknown state %q; valid states are %s", q.State, statesText(States))
	}
	if q.Limit < 0 || q.Limit > MaxSearchLimit {
		return fmt.Errorf("limit %d; want 1 to %d (0: the default, 50)", q.Limit, MaxSearchLimit)
	}
	if q.Scan < 0 || q.Scan > MaxSearchScan {
		return fmt.Errorf("scan %d; want 1 to %d (0: the default, %d)", q.Scan, MaxSearchScan, DefaultSearchScan)
	}
	for _, v := range []struct {
		name string
		id   int64
	}{{"min id", q.MinID}, {"max id", q.MaxID}, {"before id", q.BeforeID}} {
		if v.id < 0 {
			return fmt.Errorf("%s %d; want a task id, 1 or more (0: no bound)", v.name, v.id)
		}
	}
	if q.MaxID != 0 && q.MinID > q.MaxID {
		return fmt.Errorf("min id %d is above max id %d", q.MinID, q.MaxID)
	}
	return nil
}

// idBounds returns the exclusive id bounds (after, before) of q.
func (q TaskQuery) idBounds() (after, before int64) {
	after, before = q.MinID-1, int64(math.MaxInt64)
	if q.MaxID > 0 {
		before = q.MaxID + 1
	}
	if q.BeforeID > 0 && q.BeforeID < before {
		before = q.BeforeID
	}
	return max(after, 0), before
}

func nonZeroTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func nonEmpty[S ~string](s S) *string {
	if s == "" {
		return nil
	}
	v := string(s)
	return &v
}

// TaskPage is one page of [SearchTasks].
type TaskPage struct {
	Tasks []Task `json:"tasks"`
	// Next is the TaskQuery.BeforeID of the next page; 0 when the search
	// reached the oldest task of the query's id range.
	Next int64 `json:"next"`
	// Scanned is how many tasks the search read for this page. When it
	// reached the query's Scan before filling the page, Partial is set:
	// older tasks were not searched, and Next continues from there.
	Scanned int  `json:"scanned"`
	Partial bool `json:"partial"`
}

// SearchTasks returns a page of the tasks that match q, newest first,
// without their payloads and error histories (see [Task]; [GetTask] reads
// a task whole). It reads at most q.Scan tasks (the newest below
// q.BeforeID), so that a filter that matches little costs that many rows
// and never the whole table; a page that the bound cut short says so
// (Partial), and its Next continues the search.
func SearchTasks(ctx context.Context, db Executor, q TaskQuery) (TaskPage, error) {
	if err := q.Validate(); err != nil {
		return TaskPage{}, err
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	if q.Scan == 0 {
		q.Scan = DefaultSearchScan
	}
	q.Scan = max(q.Scan, q.Limit)
	after, before := q.idBounds()
	rows, err := queries.SearchTasks(ctx, planned(db), dbsqlc.SearchTasksParams{
		BeforeID: before, MinID: after + 1, Scan: int32(q.Scan),
		State: nonEmpty(q.State), Queue: nonEmpty(q.Queue), Signal: nonEmpty(q.Signal), Receiver: nonEmpty(q.Receiver),
		CreatedAfter: nonZeroTime(q.CreatedAfter), CreatedBefore: nonZeroTime(q.CreatedBefore),
		ErrorContains: nonEmpty(q.ErrorContains), Max: int32(q.Limit),
	})
	if err != nil {
		return TaskPage{}, fmt.Errorf("searching tasks: %w", migrateHint(err))
	}
	page := TaskPage{Tasks: make([]Task, len(rows))}
	for i, r := range rows {
		t := Task{
			ID: r.ID, Signal: r.Signal, Receiver: r.Receiver, Queue: r.Queue, State: TaskState(r.State),
			Attempt: int(r.Attempt), MaxAttempts: int(r.MaxAttempts), Priority: int(r.Priority),
			RunAt: r.RunAt, CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt,
			LastError: r.LastError, ErrorCount: int(r.ErrorCount),
		}
		if r.Damaged {
			t.Damaged = damagedHistory
		}
		page.Tasks[i] = t
	}
	if len(rows) == q.Limit {
		page.Next, page.Scanned = rows[len(rows)-1].ID, -1
	}
	if len(rows) < q.Limit || page.Next == 0 {
		w, err := queries.SearchWindow(ctx, planned(db), dbsqlc.SearchWindowParams{BeforeID: before, MinID: after + 1, Scan: int32(q.Scan)})
		if err != nil {
			return TaskPage{}, fmt.Errorf("searching tasks: %w", err)
		}
		page.Scanned = int(w.Scanned)
		if int(w.Scanned) == q.Scan && w.Lowest > after+1 {
			page.Next, page.Partial = w.Lowest, true
		}
	}
	if page.Scanned < 0 {
		page.Scanned = 0 // a full page: not counted
	}
	return page, nil
}
