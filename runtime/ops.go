package signalrt

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// The admin API: what signalctl and the dashboard show and do. Every
// function takes an Executor (a pool, a connection or a transaction) and
// runs one statement, or bounded batches of one.

// StateCounts counts tasks by state. Succeeded counts only the succeeded
// tasks that Config.Retention keeps (they are deleted as they succeed by
// default); [Throughput] says how many succeeded.
type StateCounts struct {
	Available int64 `json:"available"`
	Running   int64 `json:"running"`
	Dead      int64 `json:"dead"`
	Succeeded int64 `json:"succeeded"`
}

func (c *StateCounts) add(state TaskState, n int64) {
	switch state {
	case StateAvailable:
		c.Available += n
	case StateRunning:
		c.Running += n
	case StateDead:
		c.Dead += n
	case StateSucceeded:
		c.Succeeded += n
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
		return nil, fmt.Errorf("counting tasks: %w", migrateHint(err))
	}
	lags, err := queries.QueueLags(ctx, planned(db))
	if err != nil {
		return nil, fmt.Errorf("measuring queue lags: %w", migrateHint(err))
	}
	paused, err := queries.PausedQueues(ctx, planned(db))
	if err != nil {
		return nil, fmt.Errorf("listing paused queues: %w", migrateHint(err))
	}
	pending, err := queries.PendingSends(ctx, planned(db))
	if err != nil {
		return nil, fmt.Errorf("counting sends not fanned out: %w", migrateHint(err))
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
		get(c.Queue).add(TaskState(c.State), c.N)
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
		r.add(TaskState(c.State), c.N)
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
		return time.Time{}, nil, fmt.Errorf("reading throughput: %w", migrateHint(err))
	}
	rows, err := queries.Throughput(ctx, planned(db), since)
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("reading throughput: %w", migrateHint(err))
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
		return nil, fmt.Errorf("listing workers: %w", migrateHint(err))
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
		return nil, fmt.Errorf("reading queue gauges: %w", migrateHint(err))
	}
	out := make([]QueueGauge, len(rows))
	for i, r := range rows {
		out[i] = QueueGauge{Queue: r.Queue, Available: r.Available, Lag: time.Duration(r.LagSeconds * float64(time.Second))}
	}
	return out, nil
}

// KnownReceiver is a receiver key that some worker has been able to run.
type KnownReceiver struct {
	Key    string    `json:"key"`
	Signal string    `json:"signal"`
	Queue  string    `json:"queue"`
	SeenAt time.Time `json:"seen_at"` // when a worker that runs it last said so
}

// KnownReceivers returns the receiver keys that workers have been able to
// run, by key: the live workers' and those of workers gone within a day
// past Config.OrphanGrace.
func KnownReceivers(ctx context.Context, db Executor) ([]KnownReceiver, error) {
	rows, err := queries.KnownReceivers(ctx, planned(db))
	if err != nil {
		return nil, fmt.Errorf("listing known receivers: %w", migrateHint(err))
	}
	out := make([]KnownReceiver, len(rows))
	for i, r := range rows {
		out[i] = KnownReceiver(r)
	}
	return out, nil
}
