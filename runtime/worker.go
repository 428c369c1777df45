package signalrt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// Worker runs the tasks of its dispatch table's receivers. Many workers, in
// one process or in many, can share one database: each task is claimed by
// one of them at a time.
type Worker struct {
	pool      *pgxpool.Pool // the pool given to NewWorker
	db        database      // the bookkeeping's: pool, or Run's own pool while it runs
	cfg       Config
	log       *slog.Logger
	receivers map[string]Receiver
	keys      []string         // the table's receiver keys, sorted
	claimKeys []string         // the keys without a Limit, which the queues' claims take
	idle      []string         // the keys whose queue this worker does not run (Config.OnlyQueues), sorted
	limits    map[string]Limit // the keys with a Limit, and theirs
	contracts []string         // the table's payload contracts, sorted, without ""
	queues    []*queueRunner
	byName    map[string]*queueRunner
	// sendsWake wakes the fan-out (fanOutLoop) on a NOTIFY on signal_send.
	sendsWake chan struct{}
	done      *completer
	stats     stats
	health    string // what reportHealth last recorded
	running   atomic.Bool
	// claims and emptyClaims count the claim statements and those that
	// found nothing (see ClaimCounts).
	claims, emptyClaims atomic.Int64
}

// ClaimCounts returns how many claim statements the worker has run and how
// many of them found no task. Empty claims are polls of an idle queue, or,
// with a backlog, tasks that other workers took first: a measure of
// contention between worker processes.
func (w *Worker) ClaimCounts() (claims, empty int64) {
	return w.claims.Load(), w.emptyClaims.Load()
}

// NewWorker returns a worker that runs table's receivers on the tasks in
// pool's database. It checks the table (no empty or duplicate keys) and the
// configuration, and does not touch the database.
func NewWorker(pool *pgxpool.Pool, table Table, cfg Config) (*Worker, error) {
	receivers, err := table.lookup()
	if err != nil {
		return nil, err
	}
	for _, r := range table {
		if r.Unbound != "" {
			return nil, r.unbound()
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	w := &Worker{pool: pool, db: pool, cfg: cfg, log: cfg.Logger.With("worker", cfg.Name), receivers: receivers, byName: map[string]*queueRunner{}, sendsWake: make(chan struct{}, 1)}
	w.keys, w.contracts = []string{}, []string{}
	for k, r := range receivers {
		w.keys = append(w.keys, k)
		if r.Contract != "" && !slices.Contains(w.contracts, r.Contract) {
			w.contracts = append(w.contracts, r.Contract)
		}
	}
	sort.Strings(w.keys)
	sort.Strings(w.contracts)
	limits := map[string]Limit{}
	w.limits = limits
	for _, k := range w.keys {
		l := receivers[k].Limit
		if o, ok := cfg.Limits[k]; ok {
			l = o
		}
		if l.IsZero() {
			w.claimKeys = append(w.claimKeys, k)
			continue
		}
		if err := l.validate(); err != nil {
			return nil, fmt.Errorf("receiver %s: %w", k, err)
		}
		limits[k] = l
	}
	for _, name := range cfg.queueNames(table) {
		qc := cfg.queue(name)
		if qc.Concurrency == 0 {
			qc.Concurrency = cfg.Concurrency
		}
		q := &queueRunner{w: w, name: name, slots: qc.Concurrency, wake: make(chan struct{}, 1), freed: make(chan struct{}, 1), recorded: make(chan struct{}, 1), inflight: map[int64]*task{}}
		if !qc.Limit.IsZero() {
			q.queueLimit = &limitedReceiver{key: "queue:" + name, limit: qc.Limit, queue: true}
		}
		if !cfg.NoPrefetch && q.queueLimit == nil {
			q.ahead = min(prefetchFactor*q.slots, max(claimBatch-q.slots, 0))
		}
		q.maxAbandoned = cfg.MaxAbandoned
		if q.maxAbandoned <= 0 {
			q.maxAbandoned = q.slots
		}
		for _, k := range w.keys {
			if l, ok := limits[k]; ok && queueOrDefault(receivers[k].Queue) == name {
				q.limited = append(q.limited, &limitedReceiver{key: k, limit: l})
			}
		}
		w.queues = append(w.queues, q)
		w.byName[name] = q
	}
	for _, k := range w.keys {
		if w.byName[queueOrDefault(receivers[k].Queue)] == nil {
			w.idle = append(w.idle, k)
		}
	}
	w.done = &completer{w: w, kick: make(chan struct{}, 1)}
	w.stats = newStats(w.queueNames(), w.keys)
	return w, nil
}

// event tells the tests' observer, if any, of an event of the worker.
func (w *Worker) event(name string) {
	if w.cfg.testEvents != nil {
		w.cfg.testEvents(name)
	}
}

// Name returns the worker's name, as stored in the rows of tasks it runs.
func (w *Worker) Name() string { return w.cfg.Name }

// task is one claimed task.
type task struct {
	dbsqlc.ClaimTasksRow
	queue   string
	claimed time.Time
	// started is when an executor took the task (zero while it waits
	// for a slot, claimed ahead); under the queue's mutex.
	started time.Time
	// abandoned is set, under the queue's mutex, when the worker stopped
	// waiting for the task's receiver (see abandonOverdue).
	abandoned bool
	// stop cancels the attempt's context; cancelled is set when the task
	// was cancelled or is no longer this worker's (see cancelRunning).
	// Both under the queue's mutex.
	stop      context.CancelCauseFunc
	cancelled bool
	// info is what TaskFromContext returns during the attempt (see run).
	info TaskInfo
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
		return errors.New("worker: no queues to run: the dispatch table is empty and Config names no queue (Queues, OnlyQueues)")
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

	if err := w.register(ctx); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	w.event("registered")
	defer w.unregister()
	w.log.Info("worker starting", "queues", w.queueNames(), "poll_only", w.cfg.PollOnly)
	if len(w.idle) > 0 {
		w.log.Info("worker: some receivers of the table are not run here: their queues are not in Config.OnlyQueues; a worker that runs their queues must run them",
			"receivers", w.idle)
	}
	var bg sync.WaitGroup
	bgCtx, stopBg := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBg()
	if !w.cfg.PollOnly {
		bg.Go(func() { w.listen(ctx) })
	}
	// One executor goroutine per slot; see executor for how a slot whose
	// receiver was abandoned passes to a new goroutine.
	var executors, claimers sync.WaitGroup
	for _, q := range w.queues {
		q.tasks = make(chan *task, q.slots+q.ahead)
		q.executors, q.workCtx = &executors, workCtx
		executors.Add(q.slots)
		for range q.slots {
			go q.executor()
		}
	}
	bg.Go(func() { w.done.run(bgCtx) })
	bg.Go(func() { w.heartbeat(bgCtx) })
	bg.Go(func() { w.maintain(ctx) })
	bg.Go(func() { w.fanOutLoop(ctx) })
	bg.Go(func() { w.stats.run(bgCtx, w) })
	for _, q := range w.queues {
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
	flushCtx, cancelFlush := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	w.stats.flush(flushCtx, w)
	cancelFlush()
	w.log.Info("worker stopped")
	return nil
}

// bookkeepingConfig is the configuration of the pool that Run opens for
// its claims and results: the given pool's, with synchronous_commit=off
// unless Config.SynchronousCommit, and as many connections as the claim
// loops, the completer, the heartbeat, the maintenance and the fan-out use at once,
// plus a few for recording failures.
func (w *Worker) bookkeepingConfig() *pgxpool.Config {
	cfg := w.pool.Config() // a copy
	if !w.cfg.SynchronousCommit {
		if cfg.ConnConfig.RuntimeParams == nil {
			cfg.ConnConfig.RuntimeParams = map[string]string{}
		}
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
		// The claim's plan does not depend on its parameters (the queue,
		// the cursor, the keys): PostgreSQL would still plan it on every
		// call, which costs more than running it. A generic plan is made
		// once per connection. (PgBouncer, which needs SynchronousCommit,
		// refuses this startup parameter as well.)
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
		// A generic plan does not know the claim's LIMIT, so on a large
		// table its cost estimate passes jit_above_cost and every claim
		// was compiled: 28 of a claim's 48 ms with 10,000,000 tasks
		// queued (signalbench -run backlog). These are short statements.
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	cfg.MaxConns = int32(len(w.queues) + 7)
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
