package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// The admin API: what signalctl and the dashboard show and do. Every
// function takes an Executor (a pool, a connection or a transaction) and
// runs one statement, or bounded batches of one.

// States lists the task states, in their lifecycle order.
var States = []string{StateAvailable, StateRunning, StateSucceeded, StateDead}

// TaskQuery selects tasks for [SearchTasks], [RetryMatching] and
// [DiscardMatching]. Empty fields match everything.
type TaskQuery struct {
	State    string // one of States
	Queue    string
	Signal   string
	Receiver string
	// MinID and MaxID bound the task ids, inclusive; 0 leaves a side open.
	MinID, MaxID int64
	// CreatedAfter and CreatedBefore bound the creation time: at or after,
	// and before; the zero time leaves a side open.
	CreatedAfter, CreatedBefore time.Time
	// ErrorContains matches tasks whose error history contains the text,
	// ignoring case.
	ErrorContains string
	// Before pages [SearchTasks], which lists newest first: only ids below
	// Before are listed. Pass the last id of the previous page; 0 starts at
	// the newest task.
	Before int64
	// Limit is the most tasks SearchTasks returns: default 50, at most
	// MaxSearchLimit.
	Limit int
}

// MaxSearchLimit is the largest TaskQuery.Limit.
const MaxSearchLimit = 1000

// Validate reports the first field of q that has no valid value, with the
// values it allows.
func (q TaskQuery) Validate() error {
	if q.State != "" && !isState(q.State) {
		return fmt.Errorf("unknown state %q; valid states are %s", q.State, strings.Join(States, ", "))
	}
	if q.Limit < 0 || q.Limit > MaxSearchLimit {
		return fmt.Errorf("limit %d; want 1 to %d (0: the default, 50)", q.Limit, MaxSearchLimit)
	}
	for _, v := range []struct {
		name string
		id   int64
	}{{"min id", q.MinID}, {"max id", q.MaxID}, {"before", q.Before}} {
		if v.id < 0 {
			return fmt.Errorf("%s %d; want a task id, 1 or more (0: no bound)", v.name, v.id)
		}
	}
	if q.MaxID != 0 && q.MinID > q.MaxID {
		return fmt.Errorf("min id %d is above max id %d", q.MinID, q.MaxID)
	}
	return nil
}

func isState(s string) bool {
	for _, st := range States {
		if s == st {
			return true
		}
	}
	return false
}

// idBounds returns the exclusive id bounds (after, before) of q.
func (q TaskQuery) idBounds() (after, before int64) {
	after, before = q.MinID-1, int64(math.MaxInt64)
	if q.MaxID > 0 {
		before = q.MaxID + 1
	}
	if q.Before > 0 && q.Before < before {
		before = q.Before
	}
	return max(after, 0), before
}

func nonZeroTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// SearchTasks returns the tasks that match q, newest first.
func SearchTasks(ctx context.Context, db Executor, q TaskQuery) ([]Task, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	after, before := q.idBounds()
	rows, err := queries.SearchTasks(ctx, planned(db), dbsqlc.SearchTasksParams{
		BeforeID: before, MinID: after + 1,
		State: nonEmpty(q.State), Queue: nonEmpty(q.Queue), Signal: nonEmpty(q.Signal), Receiver: nonEmpty(q.Receiver),
		CreatedAfter: nonZeroTime(q.CreatedAfter), CreatedBefore: nonZeroTime(q.CreatedBefore),
		ErrorContains: nonEmpty(q.ErrorContains), Max: int32(q.Limit),
	})
	if err != nil {
		return nil, fmt.Errorf("searching tasks: %w", err)
	}
	tasks := make([]Task, 0, len(rows))
	for _, r := range rows {
		t, err := toTask(dbsqlc.ListTasksRow(r))
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, t)
	}
	return tasks, nil
}

// StateCounts counts tasks by state. Succeeded tasks are not counted by
// the ops views (they are deleted as they succeed unless Config.Retention
// keeps them); [Throughput] says how many succeeded.
type StateCounts struct {
	Available int64 `json:"available"`
	Running   int64 `json:"running"`
	Dead      int64 `json:"dead"`
}

func (c *StateCounts) add(state string, n int64) {
	switch state {
	case StateAvailable:
		c.Available += n
	case StateRunning:
		c.Running += n
	case StateDead:
		c.Dead += n
	}
}

// QueueStats describes one queue: its tasks by state, how far it lags,
// and whether it is paused.
type QueueStats struct {
	Queue string `json:"queue"`
	StateCounts
	// Lag is the age of the queue's oldest due available task: how long
	// the next task to run has waited. 0 when none is due.
	Lag time.Duration `json:"lag_ns"`
	// PausedAt is when the queue was paused; nil when it runs.
	PausedAt *time.Time `json:"paused_at,omitempty"`
	// Pending counts the tasks of sends made in [BeginFunc] that no worker
	// has fanned out into tasks yet: normally a few, for milliseconds. They
	// are not in the state counts; Lag counts them as it does available
	// tasks.
	Pending int64 `json:"pending,omitempty"`
}

// ReceiverCounts counts one receiver's tasks in one queue, by state.
type ReceiverCounts struct {
	Receiver string `json:"receiver"`
	StateCounts
}

// QueueOverview returns every queue that has available, running, dead or
// pending tasks or is paused, in name order, with exact counts, lags and pause
// state. Each count reads one partial index (from the index alone for
// available and dead tasks, once VACUUM has marked the table's pages),
// not the whole table: on 1,000,000 tasks it takes a few tens of
// milliseconds.
func QueueOverview(ctx context.Context, db Executor) ([]QueueStats, error) {
	counts, err := queries.CountByQueue(ctx, planned(db))
	if err != nil {
		return nil, fmt.Errorf("counting tasks: %w", err)
	}
	lags, err := queries.QueueLags(ctx, planned(db))
	if err != nil {
		return nil, fmt.Errorf("measuring queue lags: %w", err)
	}
	paused, err := queries.PausedQueues(ctx, planned(db))
	if err != nil {
		return nil, fmt.Errorf("listing paused queues: %w", err)
	}
	pending, err := queries.PendingSends(ctx, planned(db))
	if err != nil {
		return nil, fmt.Errorf("counting sends not fanned out: %w", err)
	}
	byName := map[string]*QueueStats{}
	get := func(name string) *QueueStats {
		q := byName[name]
		if q == nil {
			q = &QueueStats{Queue: name}
			byName[name] = q
		}
		return q
	}
	for _, c := range counts {
		get(c.Queue).add(c.State, c.N)
	}
	for _, l := range lags {
		get(l.Queue).Lag = max(l.Now.Sub(l.OldestDue), 0)
	}
	for _, p := range paused {
		at := p.PausedAt
		get(p.Name).PausedAt = &at
	}
	for _, p := range pending {
		q := get(p.Queue)
		q.Pending = p.Tasks
		q.Lag = max(q.Lag, p.Now.Sub(p.OldestDue))
	}
	out := make([]QueueStats, 0, len(byName))
	for _, q := range byName {
		out = append(out, *q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Queue < out[j].Queue })
	return out, nil
}

// QueueReceivers returns the available, running and dead tasks of one
// queue per receiver, by receiver key.
func QueueReceivers(ctx context.Context, db Executor, queue string) ([]ReceiverCounts, error) {
	counts, err := queries.CountByReceiver(ctx, planned(db), queue)
	if err != nil {
		return nil, fmt.Errorf("counting the tasks of queue %s: %w", queue, err)
	}
	byKey := map[string]*ReceiverCounts{}
	for _, c := range counts {
		r := byKey[c.Receiver]
		if r == nil {
			r = &ReceiverCounts{Receiver: c.Receiver}
			byKey[c.Receiver] = r
		}
		r.add(c.State, c.N)
	}
	out := make([]ReceiverCounts, 0, len(byKey))
	for _, r := range byKey {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Receiver < out[j].Receiver })
	return out, nil
}

// MinuteStats are the outcomes of one queue and receiver in one minute, as
// workers count them.
type MinuteStats struct {
	Minute    time.Time `json:"minute"`
	Queue     string    `json:"queue"`
	Receiver  string    `json:"receiver"`
	Succeeded int64     `json:"succeeded"`
	Failed    int64     `json:"failed"` // failed attempts that will be retried
	Dead      int64     `json:"dead"`
}

// Throughput returns the per-minute outcome counts of the last minutes
// minutes (the current one included), oldest first, and the first of those
// minutes, by the database's clock. Workers add their counts every couple
// of seconds and keep them for Config.StatsRetention (7 days by default).
func Throughput(ctx context.Context, db Executor, minutes int) (since time.Time, points []MinuteStats, err error) {
	if minutes < 1 {
		return time.Time{}, nil, fmt.Errorf("throughput of %d minutes; want 1 or more", minutes)
	}
	since, err = queries.MinutesAgo(ctx, planned(db), int32(minutes))
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("reading throughput: %w", err)
	}
	rows, err := queries.Throughput(ctx, planned(db), since)
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("reading throughput: %w", err)
	}
	points = make([]MinuteStats, len(rows))
	for i, r := range rows {
		points[i] = MinuteStats(r)
	}
	return since, points, nil
}

// WorkerInfo is one worker of the registry.
type WorkerInfo struct {
	Name        string   `json:"name"`
	Host        string   `json:"host"`
	PID         int      `json:"pid"`
	Queues      []string `json:"queues"`
	Concurrency int      `json:"concurrency"`
	// Receivers maps the receiver keys of the worker's dispatch table to
	// their signal, queue and payload contract.
	Receivers map[string]WorkerReceiver `json:"receivers"`
	// Unhealthy says what is wrong with the worker; "" when nothing is.
	Unhealthy   string    `json:"unhealthy,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	HeartbeatAt time.Time `json:"heartbeat_at"`
	// HeartbeatAge is how long ago the last heartbeat was, by the
	// database's clock.
	HeartbeatAge time.Duration `json:"heartbeat_age_ns"`
	// Live is false for a worker that stopped heartbeating three leases
	// ago without unregistering: it died, and its row is deleted an hour
	// later.
	Live bool `json:"live"`
}

// Workers returns the registered workers, live and gone, by name.
func Workers(ctx context.Context, db Executor) ([]WorkerInfo, error) {
	rows, err := queries.Workers(ctx, planned(db))
	if err != nil {
		return nil, fmt.Errorf("listing workers: %w", err)
	}
	out := make([]WorkerInfo, len(rows))
	for i, r := range rows {
		w := WorkerInfo{
			Name: r.Name, Host: r.Host, PID: int(r.Pid), Queues: r.Queues, Concurrency: int(r.Concurrency),
			StartedAt: r.StartedAt, HeartbeatAt: r.HeartbeatAt, Live: r.Live,
			HeartbeatAge: time.Duration(r.HeartbeatAgeSeconds * float64(time.Second)),
		}
		if r.Unhealthy != nil {
			w.Unhealthy = *r.Unhealthy
		}
		if err := json.Unmarshal(r.Receivers, &w.Receivers); err != nil {
			return nil, fmt.Errorf("worker %s: receivers: %w", r.Name, err)
		}
		out[i] = w
	}
	return out, nil
}

// PauseQueue pauses a queue: no worker, in any process, claims its tasks
// from its next claim on (within a poll interval); sends still enqueue
// them. Pausing a paused queue changes nothing.
func PauseQueue(ctx context.Context, db Executor, queue string) error {
	if queue == "" {
		return fmt.Errorf("pause: empty queue name")
	}
	if err := queries.PauseQueue(ctx, planned(db), queue); err != nil {
		return fmt.Errorf("pausing queue %s: %w", queue, err)
	}
	return nil
}

// ResumeQueue resumes a paused queue and wakes its workers. It reports
// whether the queue was paused.
func ResumeQueue(ctx context.Context, db Executor, queue string) (bool, error) {
	rows, err := queries.ResumeQueue(ctx, planned(db), queue)
	if err != nil {
		return false, fmt.Errorf("resuming queue %s: %w", queue, err)
	}
	return len(rows) > 0 && rows[0].WasPaused, nil
}

// actionBatch bounds the rows one statement of RetryMatching or
// DiscardMatching changes.
const actionBatch = 1000

// RetryMatching retries, like [Retry], every dead or waiting task that
// matches q (its State, if set, must be dead or available), in batches of
// 1000, and returns how many it changed. Tasks created while it works are
// not retried.
func RetryMatching(ctx context.Context, db Executor, q TaskQuery) (int64, error) {
	if err := q.Validate(); err != nil {
		return 0, err
	}
	if q.State != "" && q.State != StateDead && q.State != StateAvailable {
		return 0, fmt.Errorf("retry: state %q; only dead and available (waiting) tasks can be retried", q.State)
	}
	after, before, err := boundNow(ctx, db, q)
	if err != nil {
		return 0, err
	}
	var n int64
	for {
		rows, err := queries.RetryMatching(ctx, planned(db), dbsqlc.RetryMatchingParams{
			AfterID: after, BeforeID: before, State: nonEmpty(q.State), Queue: nonEmpty(q.Queue), Signal: nonEmpty(q.Signal),
			Receiver: nonEmpty(q.Receiver), ErrorContains: nonEmpty(q.ErrorContains), Max: actionBatch,
		})
		if err != nil {
			return n, fmt.Errorf("retrying tasks: %w", err)
		}
		n += int64(len(rows))
		if len(rows) < actionBatch {
			return n, nil
		}
		after = rows[len(rows)-1].ID
	}
}

// boundNow returns q's exclusive id bounds, the upper one no higher than
// the newest task now, so that a batched action does not chase new tasks.
func boundNow(ctx context.Context, db Executor, q TaskQuery) (after, before int64, err error) {
	after, before = q.idBounds()
	newest, err := queries.NewestTaskID(ctx, planned(db))
	if err != nil {
		return 0, 0, fmt.Errorf("finding the newest task: %w", err)
	}
	return after, min(before, newest+1), nil
}

// Discard deletes the given tasks that are dead, and returns how many it
// deleted; tasks in other states are left alone.
func Discard(ctx context.Context, db Executor, ids ...int64) (int64, error) {
	rows, err := queries.DiscardTasks(ctx, planned(db), ids)
	if err != nil {
		return 0, fmt.Errorf("discarding tasks: %w", err)
	}
	return int64(len(rows)), nil
}

// DiscardMatching deletes every dead task that matches q (its State, if
// set, must be dead), in batches of 1000, and returns how many it deleted.
func DiscardMatching(ctx context.Context, db Executor, q TaskQuery) (int64, error) {
	if err := q.Validate(); err != nil {
		return 0, err
	}
	if q.State != "" && q.State != StateDead {
		return 0, fmt.Errorf("discard: state %q; only dead tasks can be discarded", q.State)
	}
	after, before, err := boundNow(ctx, db, q)
	if err != nil {
		return 0, err
	}
	var n int64
	for {
		ids, err := queries.DiscardMatching(ctx, planned(db), dbsqlc.DiscardMatchingParams{
			AfterID: after, BeforeID: before, Queue: nonEmpty(q.Queue), Signal: nonEmpty(q.Signal),
			Receiver: nonEmpty(q.Receiver), ErrorContains: nonEmpty(q.ErrorContains), Max: actionBatch,
		})
		if err != nil {
			return n, fmt.Errorf("discarding tasks: %w", err)
		}
		n += int64(len(ids))
		if len(ids) < actionBatch {
			return n, nil
		}
		after = ids[len(ids)-1]
	}
}

// RunNow makes the given available tasks that wait (sent with a delay, or
// backing off before a retry) due now, wakes their workers, and returns how
// many it changed.
func RunNow(ctx context.Context, db Executor, ids ...int64) (int64, error) {
	rows, err := queries.RunTasksNow(ctx, planned(db), ids)
	if err != nil {
		return 0, fmt.Errorf("running tasks now: %w", err)
	}
	return int64(len(rows)), nil
}

// QueueGauge is a queue's available tasks and lag, for metrics.
type QueueGauge struct {
	Queue     string
	Available int64
	// Lag is the age of the oldest due available task; 0 when none is due.
	Lag time.Duration
}

// QueueGauges returns, in one statement that reads the claim index, the
// available tasks and lag of each queue that has available tasks: what a
// metrics gauge polls once per collection. The tasks of sends made in
// [BeginFunc] that no worker has fanned out yet count as available.
func QueueGauges(ctx context.Context, db Executor) ([]QueueGauge, error) {
	rows, err := queries.QueueGauges(ctx, planned(db))
	if err != nil {
		return nil, fmt.Errorf("reading queue gauges: %w", err)
	}
	out := make([]QueueGauge, len(rows))
	for i, r := range rows {
		out[i] = QueueGauge{Queue: r.Queue, Available: r.Available, Lag: time.Duration(r.LagSeconds * float64(time.Second))}
	}
	return out, nil
}
