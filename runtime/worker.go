package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// Defaults of [Config].
const (
	DefaultConcurrency   = 100
	DefaultPollInterval  = time.Second
	DefaultHotPoll       = 10 * time.Millisecond
	DefaultHotWindow     = time.Second
	DefaultLease         = 30 * time.Second
	DefaultTimeout       = 5 * time.Minute
	DefaultShutdownGrace = 10 * time.Second
)

// QueueConfig configures one queue of a worker.
type QueueConfig struct {
	// Concurrency is how many of the queue's tasks run at once in this
	// process; 0 means Config.Concurrency.
	Concurrency int
}

// Config configures a [Worker]. The zero value is ready to use: every field
// has a default.
type Config struct {
	// Queues lists the queues this worker runs, with their settings. When
	// nil, the worker runs every queue that a receiver of its table uses.
	Queues map[string]QueueConfig
	// Concurrency is the number of tasks that run at once per queue, for
	// queues that set none (default 100).
	Concurrency int
	// PollInterval is how often an idle queue is polled when no NOTIFY
	// arrives (default 1s).
	PollInterval time.Duration
	// HotPoll and HotWindow: for HotWindow after a queue last had work or a
	// wake-up (default 1s), it is polled every HotPoll (default 10ms), which
	// picks up sends whose NOTIFY the sender's limiter folded into an
	// earlier one (see [SetNotifyInterval]).
	HotPoll   time.Duration
	HotWindow time.Duration
	// PollOnly turns off LISTEN/NOTIFY: the worker only polls. Use it
	// behind PgBouncer in transaction mode, where LISTEN does not work.
	PollOnly bool
	// Lease is how long a claimed task belongs to this worker without a
	// heartbeat (default 30s). The worker extends the leases of running
	// tasks every Lease/3; a task whose lease runs out (its worker died) is
	// made available again.
	Lease time.Duration
	// Timeout bounds one attempt of a receiver whose route sets no timeout
	// (default 5m). The receiver's context is cancelled at the deadline.
	Timeout time.Duration
	// ShutdownGrace is how long in-flight receivers may run after Run's
	// context is cancelled (default 10s). Tasks still running then have
	// their context cancelled and are given back for another worker.
	ShutdownGrace time.Duration
	// Retention is how long succeeded tasks are kept, as state succeeded,
	// before they are deleted in batches. 0, the default, deletes a task as
	// soon as it succeeds (in the batched statement that would otherwise
	// mark it), which is the fastest way to finish tasks; a negative value
	// keeps them forever. Dead tasks are kept either way: see DeadRetention.
	Retention time.Duration
	// DeadRetention is how long dead tasks are kept. 0, the default, keeps
	// them until someone retries or deletes them.
	DeadRetention time.Duration
	// Backoff returns the delay before retry number attempt (1 for the
	// first retry). The default doubles from 1s up to 1h, with jitter.
	Backoff func(attempt int) time.Duration
	// Logger receives the worker's structured logs (default slog.Default()).
	Logger *slog.Logger
	// Name identifies this worker in task rows and logs (default
	// host:pid:random).
	Name string
	// SynchronousCommit makes the worker's own bookkeeping (claims,
	// results, lease extensions) commit with the server's
	// synchronous_commit setting. The worker runs its bookkeeping on a
	// small pool of its own, copied from the given pool's configuration;
	// by default its connections set synchronous_commit=off: a commit then
	// does not wait for the WAL flush, and a PostgreSQL crash can forget
	// the last fraction of a second of bookkeeping, which at worst runs a
	// task again (the at-least-once promise holds; a sender's transaction
	// is never affected). Set it when the server must not see the
	// synchronous_commit startup parameter, as behind PgBouncer, which
	// refuses it unless told to ignore it.
	SynchronousCommit bool
}

// DefaultBackoff is the retry delay used when Config.Backoff is nil: 1s
// doubled per attempt, capped at 1h, of which a random 0-50% is taken off
// so that tasks that failed together do not retry together.
func DefaultBackoff(attempt int) time.Duration {
	d := time.Hour
	if attempt < 13 {
		d = min(time.Second<<max(attempt-1, 0), time.Hour)
	}
	return d - time.Duration(mathrand.Int64N(int64(d)/2+1))
}

func (c Config) withDefaults(table Table) Config {
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Queues == nil {
		c.Queues = map[string]QueueConfig{}
		for _, q := range table.queues() {
			c.Queues[q] = QueueConfig{}
		}
	}
	setDefault(&c.PollInterval, DefaultPollInterval)
	setDefault(&c.HotPoll, DefaultHotPoll)
	setDefault(&c.HotWindow, DefaultHotWindow)
	setDefault(&c.Lease, DefaultLease)
	setDefault(&c.Timeout, DefaultTimeout)
	setDefault(&c.ShutdownGrace, DefaultShutdownGrace)
	if c.Backoff == nil {
		c.Backoff = DefaultBackoff
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Name == "" {
		host, _ := os.Hostname()
		b := make([]byte, 3)
		_, _ = rand.Read(b)
		c.Name = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	return c
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Worker runs the tasks of its dispatch table's receivers. Many workers, in
// one process or in many, can share one database: each task is claimed by
// one of them at a time.
type Worker struct {
	pool      *pgxpool.Pool // the pool given to NewWorker
	db        *pgxpool.Pool // the pool of the bookkeeping: pool, or Run's own
	cfg       Config
	log       *slog.Logger
	receivers map[string]Receiver
	queues    []*queueRunner
	byName    map[string]*queueRunner
	done      *completer
	running   atomic.Bool
}

// NewWorker returns a worker that runs table's receivers on the tasks in
// pool's database. It checks the table (no empty or duplicate keys) and the
// configuration, and does not touch the database.
func NewWorker(pool *pgxpool.Pool, table Table, cfg Config) (*Worker, error) {
	receivers, err := table.lookup()
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults(table)
	w := &Worker{pool: pool, db: pool, cfg: cfg, log: cfg.Logger.With("worker", cfg.Name), receivers: receivers, byName: map[string]*queueRunner{}}
	names := make([]string, 0, len(cfg.Queues))
	for name := range cfg.Queues {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		qc := cfg.Queues[name]
		if qc.Concurrency < 0 {
			return nil, fmt.Errorf("queue %q: concurrency %d; want 0 (default) or more", name, qc.Concurrency)
		}
		if qc.Concurrency == 0 {
			qc.Concurrency = cfg.Concurrency
		}
		q := &queueRunner{w: w, name: name, slots: qc.Concurrency, wake: make(chan struct{}, 1), freed: make(chan struct{}, 1), inflight: map[int64]*task{}}
		w.queues = append(w.queues, q)
		w.byName[name] = q
	}
	w.done = &completer{w: w, kick: make(chan struct{}, 1)}
	return w, nil
}

// Name returns the worker's name, as stored in the rows of tasks it runs.
func (w *Worker) Name() string { return w.cfg.Name }

// task is one claimed task.
type task struct {
	dbsqlc.ClaimTasksRow
	queue   string
	claimed time.Time
}

// Run claims and runs tasks until ctx is cancelled, then shuts down
// gracefully: it stops claiming, lets in-flight receivers finish within
// Config.ShutdownGrace, cancels the rest and gives their tasks back, and
// records every result it has. It returns nil after a graceful shutdown, or
// the error that stopped it. A Worker runs once.
func (w *Worker) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("worker: Run called twice")
	}
	if len(w.queues) == 0 {
		return errors.New("worker: no queues to run: the dispatch table is empty and Config.Queues names none")
	}
	// The bookkeeping gets connections of its own: receivers that use the
	// given pool, even all of it, cannot keep the heartbeat from extending
	// their leases.
	own, err := pgxpool.NewWithConfig(context.WithoutCancel(ctx), w.bookkeepingConfig())
	if err != nil {
		return fmt.Errorf("worker: opening its connection pool: %w", err)
	}
	w.db = own
	defer func() { w.db = w.pool; own.Close() }()
	// Receivers run on workCtx, which outlives ctx by the grace period.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()

	w.log.Info("worker starting", "queues", w.queueNames(), "poll_only", w.cfg.PollOnly)
	var bg sync.WaitGroup
	bgCtx, stopBg := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBg()
	if !w.cfg.PollOnly {
		bg.Go(func() { w.listen(ctx) })
	}
	bg.Go(func() { w.done.run(bgCtx) })
	bg.Go(func() { w.heartbeat(bgCtx) })
	bg.Go(func() { w.maintain(ctx) })

	var executors, claimers sync.WaitGroup
	for _, q := range w.queues {
		q.tasks = make(chan *task, q.slots)
		for range q.slots {
			executors.Go(func() {
				for t := range q.tasks {
					q.execute(workCtx, t)
				}
			})
		}
		claimers.Go(func() { q.claimLoop(ctx) })
	}

	<-ctx.Done()
	claimers.Wait()
	for _, q := range w.queues {
		close(q.tasks)
	}
	w.log.Info("worker stopping: waiting for in-flight tasks", "in_flight", w.inFlight(), "grace", w.cfg.ShutdownGrace)
	finished := make(chan struct{})
	go func() { executors.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(w.cfg.ShutdownGrace):
		// Give the unfinished tasks back first, so that a receiver that
		// ignores its cancelled context cannot record a result for them.
		released := w.releaseAll()
		cancelWork()
		w.log.Warn("worker stopping: grace period over; gave unfinished tasks back", "released", released)
		select {
		case <-finished:
		case <-time.After(time.Second):
			w.log.Warn("worker stopping: some receivers ignore their cancelled context and are still running")
		}
	}
	stopBg()
	bg.Wait()
	// The completer's last flush ran in w.done.run; anything added after it
	// (a receiver finishing late) is flushed here.
	w.done.flushDetached(ctx)
	w.log.Info("worker stopped")
	return nil
}

// bookkeepingConfig is the configuration of the pool that Run opens for
// its claims and results: the given pool's, with synchronous_commit=off
// unless Config.SynchronousCommit, and as many connections as the claim
// loops, the completer, the heartbeat and the maintenance use at once,
// plus a few for recording failures.
func (w *Worker) bookkeepingConfig() *pgxpool.Config {
	cfg := w.pool.Config() // a copy
	if !w.cfg.SynchronousCommit {
		if cfg.ConnConfig.RuntimeParams == nil {
			cfg.ConnConfig.RuntimeParams = map[string]string{}
		}
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	}
	cfg.MaxConns = int32(len(w.queues) + 6)
	cfg.MinConns, cfg.MinIdleConns = 0, 0
	return cfg
}

func (w *Worker) queueNames() []string {
	names := make([]string, len(w.queues))
	for i, q := range w.queues {
		names[i] = q.name
	}
	return names
}

func (w *Worker) inFlight() int {
	n := 0
	for _, q := range w.queues {
		q.mu.Lock()
		n += len(q.inflight)
		q.mu.Unlock()
	}
	return n
}

// releaseAll gives every in-flight task back to the queue without counting
// the attempt, and forgets it, so its late result is not recorded.
func (w *Worker) releaseAll() int {
	var ids []int64
	for _, q := range w.queues {
		q.mu.Lock()
		for id := range q.inflight {
			ids = append(ids, id)
		}
		clear(q.inflight)
		q.mu.Unlock()
	}
	if len(ids) == 0 {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := queries.ReleaseTasks(ctx, w.db, dbsqlc.ReleaseTasksParams{Ids: ids, Worker: w.cfg.Name}); err != nil {
		w.log.Error("giving tasks back failed; they return when their lease expires", "tasks", len(ids), "err", err)
	}
	return len(ids)
}

// queueRunner claims and runs the tasks of one queue.
type queueRunner struct {
	w     *Worker
	name  string
	slots int
	tasks chan *task
	// wake is signalled by NOTIFY (and rescue); freed when a slot frees up.
	wake, freed chan struct{}

	mu       sync.Mutex
	inflight map[int64]*task // claimed and not finished: queued or running
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// cursorRescan is how long a claim loop that works through a backlog keeps
// its cursor (see ClaimTasks) before it looks at the whole queue again.
const cursorRescan = time.Second

// cursor is where a claim loop's last full batch ended, in the claim order.
type cursor struct {
	runAt time.Time
	id    int64
	since time.Time // when the loop began to use a cursor
}

// claimLoop claims as many tasks as there are free slots, whenever there
// are free slots and the queue may have due tasks.
//
// While claims come back full (a backlog), each claim starts after the last
// task of the previous one; once one comes back short, or after
// cursorRescan, the next looks at the whole queue again.
func (q *queueRunner) claimLoop(ctx context.Context) {
	w := q.w
	hotUntil := time.Now().Add(w.cfg.HotWindow)
	timer := time.NewTimer(0)
	defer timer.Stop()
	var after *cursor
	for ctx.Err() == nil {
		q.mu.Lock()
		free := q.slots - len(q.inflight)
		q.mu.Unlock()
		if free <= 0 {
			select {
			case <-ctx.Done():
			case <-q.freed:
			}
			continue
		}
		if after != nil && time.Since(after.since) > cursorRescan {
			after = nil
		}
		rows, err := q.claim(ctx, free, after)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Error("claiming tasks failed", "queue", q.name, "err", err)
				sleep(ctx, w.cfg.PollInterval)
			}
			continue
		}
		now := time.Now()
		if len(rows) > 0 {
			hotUntil = now.Add(w.cfg.HotWindow)
			q.mu.Lock()
			for i := range rows {
				t := &task{ClaimTasksRow: rows[i], queue: q.name, claimed: now}
				q.inflight[t.ID] = t
				q.tasks <- t // never blocks: len(inflight) <= slots == cap(tasks)
			}
			q.mu.Unlock()
		}
		if len(rows) == free {
			after = advance(after, rows, now)
			continue // there may be more
		}
		after = nil
		wait := w.cfg.PollInterval
		if now.Before(hotUntil) {
			wait = w.cfg.HotPoll
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-q.wake:
			hotUntil = time.Now().Add(w.cfg.HotWindow)
		case <-timer.C:
		}
		timer.Stop()
	}
}

// advance returns the cursor after rows, the last claim's full batch.
func advance(c *cursor, rows []dbsqlc.ClaimTasksRow, now time.Time) *cursor {
	if c == nil {
		c = &cursor{since: now}
	}
	for _, r := range rows {
		if r.RunAt.After(c.runAt) || r.RunAt.Equal(c.runAt) && r.ID > c.id {
			c.runAt, c.id = r.RunAt, r.ID
		}
	}
	return c
}

// claim claims up to max tasks, after the cursor if there is one. Shutdown
// does not cut a claim short: the server could commit a claim whose rows the
// worker never sees, which would leave them running under a lease that
// nobody extends, to come back only when it expires, with an attempt
// counted that never ran. The rows of a claim that returns are run (or
// given back) like any others.
func (q *queueRunner) claim(ctx context.Context, max int, after *cursor) ([]dbsqlc.ClaimTasksRow, error) {
	w := q.w
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.Lease)
	defer cancel()
	return queries.ClaimTasks(ctx, w.db, claimParams(q.name, max, w.cfg, after))
}

// claimParams are the parameters of a claim of up to max tasks of queue,
// after the cursor, or from the start of the queue when it is nil.
func claimParams(queue string, max int, cfg Config, after *cursor) dbsqlc.ClaimTasksParams {
	p := dbsqlc.ClaimTasksParams{
		Queue: queue, Max: int32(max), Worker: cfg.Name, LeaseSeconds: cfg.Lease.Seconds(),
		AfterRunAt: time.Time{}, // year 1: before any task
	}
	if after != nil {
		p.AfterRunAt, p.AfterID = after.runAt, after.id
	}
	return p
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// execute runs one task and records its result.
func (q *queueRunner) execute(ctx context.Context, t *task) {
	res := q.w.run(ctx, t)
	q.mu.Lock()
	_, mine := q.inflight[t.ID]
	delete(q.inflight, t.ID)
	q.mu.Unlock()
	signal(q.freed)
	if !mine {
		return // given back at shutdown; another worker runs it
	}
	if res.err == nil {
		q.w.done.add(t.ID)
		return
	}
	q.w.recordFailure(context.WithoutCancel(ctx), t, res)
}

// result is the outcome of one attempt.
type result struct {
	err   error
	dead  bool
	delay time.Duration
}

// run calls the task's receiver with its timeout, and decides what its
// error means: a retry after backoff, or a dead task.
func (w *Worker) run(ctx context.Context, t *task) result {
	rec, ok := w.receivers[t.Receiver]
	if !ok {
		return result{dead: true, err: fmt.Errorf("unknown receiver %q (signal %s): this worker's dispatch table has no such key; "+
			"deploy a binary whose table has it, then retry the task with Retry", t.Receiver, t.Signal)}
	}
	timeout := w.cfg.Timeout
	if t.TimeoutMs > 0 {
		timeout = time.Duration(t.TimeoutMs) * time.Millisecond
	}
	rctx, cancel := context.WithTimeout(context.WithValue(ctx, taskInfoKey{}, TaskInfo{
		ID: t.ID, Signal: t.Signal, Receiver: t.Receiver, Attempt: int(t.Attempt), MaxAttempts: int(t.MaxAttempts),
	}), timeout)
	err := runHandler(rctx, rec.Handle, t.Payload)
	if err != nil && errors.Is(rctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %s: %w", timeout, err)
	}
	cancel()
	if err == nil {
		return result{}
	}
	if IsPermanent(err) || int(t.Attempt) >= int(t.MaxAttempts) {
		return result{err: err, dead: true}
	}
	return result{err: err, delay: w.cfg.Backoff(int(t.Attempt))}
}

func (w *Worker) recordFailure(ctx context.Context, t *task, res result) {
	msg := res.err.Error()
	err := queries.FailTask(ctx, w.db, dbsqlc.FailTaskParams{
		ID: t.ID, Attempt: t.Attempt, Worker: w.cfg.Name,
		Dead: res.dead, DelaySeconds: res.delay.Seconds(), Error: msg,
	})
	log := w.log.With("task", t.ID, "signal", t.Signal, "receiver", t.Receiver, "attempt", t.Attempt, "max_attempts", t.MaxAttempts, "err", msg)
	switch {
	case err != nil:
		log.Error("recording a failed attempt failed; the task runs again after its lease", "db_err", err)
	case res.dead:
		log.Error("task dead")
	default:
		log.Warn("task failed; will retry", "retry_in", res.delay)
	}
}

// completer records successes in batches: one UPDATE for every task that
// finished while the previous one ran.
type completer struct {
	w    *Worker
	kick chan struct{}

	mu  sync.Mutex
	ids []int64
}

func (c *completer) add(id int64) {
	c.mu.Lock()
	c.ids = append(c.ids, id)
	c.mu.Unlock()
	signal(c.kick)
}

func (c *completer) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			c.flushDetached(ctx)
			return
		case <-c.kick:
			c.flushDetached(ctx)
		}
	}
}

// flushDetached flushes on a context that shutdown does not cancel (a flush
// cut short would only have to be repeated), bounded so that an unreachable
// database cannot hold the worker forever.
func (c *completer) flushDetached(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	c.flush(ctx)
}

// flush records the pending successes. On failure it keeps them for the
// next flush; if they are never recorded, their leases expire and the tasks
// run again (at least once).
func (c *completer) flush(ctx context.Context) {
	c.mu.Lock()
	ids := c.ids
	c.ids = nil
	c.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	err := c.w.finish(ctx, ids)
	if err == nil {
		return
	}
	c.w.log.Error("recording succeeded tasks failed; retrying", "tasks", len(ids), "err", err)
	c.mu.Lock()
	c.ids = append(ids, c.ids...)
	c.mu.Unlock()
	if ctx.Err() == nil {
		sleep(ctx, 100*time.Millisecond)
		signal(c.kick)
	}
}

// finish records that the tasks ids succeeded: it deletes them, or marks
// them succeeded when Config.Retention keeps them.
func (w *Worker) finish(ctx context.Context, ids []int64) error {
	arg := dbsqlc.CompleteTasksParams{Ids: ids, Worker: w.cfg.Name}
	if w.cfg.Retention == 0 {
		return queries.DeleteSucceededTasks(ctx, w.db, dbsqlc.DeleteSucceededTasksParams(arg))
	}
	return queries.CompleteTasks(ctx, w.db, arg)
}

// heartbeat extends the leases of tasks that have run for a third of the
// lease, every third of the lease.
func (w *Worker) heartbeat(ctx context.Context) {
	every := w.cfg.Lease / 3
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cutoff := time.Now().Add(-every)
		var ids []int64
		for _, q := range w.queues {
			q.mu.Lock()
			for id, t := range q.inflight {
				if t.claimed.Before(cutoff) {
					ids = append(ids, id)
				}
			}
			q.mu.Unlock()
		}
		if len(ids) == 0 {
			continue
		}
		if err := queries.ExtendLeases(ctx, w.db, dbsqlc.ExtendLeasesParams{Ids: ids, Worker: w.cfg.Name, LeaseSeconds: w.cfg.Lease.Seconds()}); err != nil && ctx.Err() == nil {
			w.log.Error("extending leases failed", "tasks", len(ids), "err", err)
		}
	}
}

// maintain rescues tasks with expired leases and deletes finished tasks
// past their retention, in batches.
func (w *Worker) maintain(ctx context.Context) {
	every := min(w.cfg.Lease/2, time.Minute)
	const batch = 1000
	for {
		for ctx.Err() == nil {
			rows, err := queries.RescueExpired(ctx, w.db, batch)
			if err != nil {
				if ctx.Err() == nil {
					w.log.Error("rescuing expired tasks failed", "err", err)
				}
				break
			}
			for _, r := range rows {
				w.log.Warn("lease expired; task rescued", "task", r.ID, "queue", r.Queue, "state", r.State)
				if q := w.byName[r.Queue]; q != nil {
					signal(q.wake)
				}
			}
			if len(rows) < batch {
				break
			}
		}
		w.deleteFinished(ctx, "succeeded", w.cfg.Retention)
		w.deleteFinished(ctx, "dead", w.cfg.DeadRetention)
		sleep(ctx, every)
		if ctx.Err() != nil {
			return
		}
	}
}

func (w *Worker) deleteFinished(ctx context.Context, state string, keep time.Duration) {
	if keep <= 0 {
		return
	}
	const batch = 1000
	for ctx.Err() == nil {
		n, err := queries.DeleteFinished(ctx, w.db, dbsqlc.DeleteFinishedParams{State: state, Before: time.Now().Add(-keep), Max: batch})
		if err != nil {
			if ctx.Err() == nil {
				w.log.Error("deleting finished tasks failed", "state", state, "err", err)
			}
			return
		}
		if n > 0 {
			w.log.Debug("deleted finished tasks", "state", state, "n", n)
		}
		if n < batch {
			return
		}
	}
}
