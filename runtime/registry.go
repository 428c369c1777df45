package signalrt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// The registry of live workers (signal_worker) and of the receivers that
// workers know (signal_receiver), written by each worker at start, at every
// heartbeat and at shutdown; see migration 002.

// WorkerReceiver is one receiver of a worker's dispatch table, as the
// worker records it in its row of signal_worker (see [Workers]).
type WorkerReceiver struct {
	Signal string `json:"signal"`
	Queue  string `json:"queue"`
	// Contract is the fingerprint of the payload contract the worker
	// decodes ([Receiver].Contract); "" when unknown.
	Contract string `json:"contract"`
	// Idle is set when the worker does not run the receiver's queue
	// ([Config].OnlyQueues): it has the receiver but runs none of its
	// tasks.
	Idle bool `json:"idle,omitempty"`
	// Limit is the receiver's limit in this worker ([Receiver].Limit, or
	// Config.Limits); nil when it has none.
	Limit *Limit `json:"limit,omitempty"`
}

// liveTTL is how long a worker's row counts as live without a heartbeat:
// three leases, in which nine heartbeats (one every Lease/3) were missed.
func (w *Worker) liveTTL() time.Duration { return 3 * w.cfg.Lease }

// register writes the worker's row and the receivers it knows. Run calls it
// before it claims anything.
func (w *Worker) register(ctx context.Context) error {
	entries := make(map[string]WorkerReceiver, len(w.receivers))
	for k, r := range w.receivers {
		e := WorkerReceiver{Signal: r.Signal, Queue: queueOrDefault(r.Queue), Contract: r.Contract, Idle: slices.Contains(w.idle, k)}
		if l, ok := w.limits[k]; ok {
			e.Limit = &l
		}
		entries[k] = e
	}
	recv, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	slots := 0
	for _, q := range w.queues {
		slots += q.slots
	}
	err = queries.RegisterWorker(ctx, w.db, dbsqlc.RegisterWorkerParams{
		Name: w.cfg.Name, Host: host, Pid: int32(os.Getpid()), Queues: w.queueNames(),
		Concurrency: int32(slots), Receivers: string(recv), TtlSeconds: w.liveTTL().Seconds(),
	})
	if err != nil {
		if refusedSyncCommit(err) {
			return fmt.Errorf("registering in signal_worker: %w (the server, likely PgBouncer, refuses the startup parameters of the worker's bookkeeping connections, synchronous_commit, plan_cache_mode and jit: set Config.SynchronousCommit, which sends none of them, or add them to PgBouncer's ignore_startup_parameters)", err)
		}
		return fmt.Errorf("registering in signal_worker: %w", migrateHint(err))
	}
	return w.seeReceivers(ctx)
}

// refusedSyncCommit reports whether err is a connection refused because of
// the startup parameters of the bookkeeping pool (synchronous_commit,
// plan_cache_mode, jit), as PgBouncer refuses startup parameters it does not
// know ("unsupported startup parameter", SQLSTATE 08P01).
func refusedSyncCommit(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "08P01" &&
		(strings.Contains(pgErr.Message, "synchronous_commit") || strings.Contains(pgErr.Message, "plan_cache_mode") || strings.Contains(pgErr.Message, "jit"))
}

// seeReceivers records, in signal_receiver, that this worker can run its
// receivers now: the memory that decides when a task of a key that no
// worker knows is an orphan (see Config.OrphanGrace). The receivers whose
// queue it does not run are not recorded.
func (w *Worker) seeReceivers(ctx context.Context) error {
	p := dbsqlc.SeeReceiversParams{}
	for _, k := range w.keys { // sorted: every worker locks rows in one order
		if slices.Contains(w.idle, k) {
			continue
		}
		r := w.receivers[k]
		p.Keys = append(p.Keys, k)
		p.Contracts = append(p.Contracts, r.Contract)
		p.Signals = append(p.Signals, r.Signal)
		p.Queues = append(p.Queues, queueOrDefault(r.Queue))
	}
	if len(p.Keys) == 0 {
		return nil
	}
	return queries.SeeReceivers(ctx, w.db, p)
}

// heartbeatRegistry refreshes the worker's row (writing it again if it was
// deleted meanwhile, as a long-unreachable worker's is) and its receivers.
func (w *Worker) heartbeatRegistry(ctx context.Context) error {
	n, err := queries.HeartbeatWorker(ctx, w.db, dbsqlc.HeartbeatWorkerParams{Name: w.cfg.Name, TtlSeconds: w.liveTTL().Seconds()})
	if err != nil {
		return err
	}
	if n == 0 {
		return w.register(ctx)
	}
	return w.seeReceivers(ctx)
}

// unregister deletes the worker's row at graceful shutdown. Its receivers
// stay in signal_receiver: they were known until now.
func (w *Worker) unregister() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := queries.UnregisterWorker(ctx, w.db, w.cfg.Name); err != nil {
		w.log.Warn("removing the worker from signal_worker failed; its row expires by itself", "err", err)
	}
}

// statCounts are the outcomes of one queue and receiver since the last
// flush, added to atomically by the executors.
type statCounts struct{ succeeded, failed, dead atomic.Int64 }

// stats counts outcomes in memory; flush adds them to signal_stat (the
// throughput history of the ops views) every statsEvery and at shutdown.
// The counters of every queue and receiver of the table exist from the
// start, so counting takes no lock: 100 executors share them.
type stats struct {
	queues []string                          // sorted
	keys   []string                          // sorted
	counts map[string]map[string]*statCounts // queue -> receiver key -> counts; read-only
}

func newStats(queues, keys []string) stats {
	s := stats{queues: queues, keys: keys, counts: map[string]map[string]*statCounts{}}
	for _, q := range queues {
		s.counts[q] = map[string]*statCounts{}
		for _, k := range keys {
			s.counts[q][k] = &statCounts{}
		}
	}
	return s
}

// statsEvery is how often a worker adds its counters to signal_stat.
const statsEvery = 2 * time.Second

func (s *stats) add(queue, receiver string, r result) {
	c := s.counts[queue][receiver]
	if c == nil {
		return // not a key of the table: claims never return one
	}
	switch {
	case r.err == nil:
		c.succeeded.Add(1)
	case r.dead:
		c.dead.Add(1)
	default:
		c.failed.Add(1)
	}
}

// flush adds the counters to signal_stat in one statement, in one order of
// rows for all workers. On failure the counts are put back for the next
// flush.
func (s *stats) flush(ctx context.Context, w *Worker) {
	var p dbsqlc.AddStatsParams
	var taken []*statCounts
	for _, q := range s.queues {
		for _, k := range s.keys {
			c := s.counts[q][k]
			ok, failed, dead := c.succeeded.Swap(0), c.failed.Swap(0), c.dead.Swap(0)
			if ok == 0 && failed == 0 && dead == 0 {
				continue
			}
			p.Queues, p.Receivers = append(p.Queues, q), append(p.Receivers, k)
			p.Succeeded, p.Failed, p.Dead = append(p.Succeeded, ok), append(p.Failed, failed), append(p.Dead, dead)
			taken = append(taken, c)
		}
	}
	if len(taken) == 0 {
		return
	}
	if err := queries.AddStats(ctx, w.db, p); err != nil {
		w.log.Warn("adding throughput counters failed; keeping them for the next try", "err", err)
		for i, c := range taken {
			c.succeeded.Add(p.Succeeded[i])
			c.failed.Add(p.Failed[i])
			c.dead.Add(p.Dead[i])
		}
	}
}

// run flushes the counters every statsEvery until ctx is done.
func (s *stats) run(ctx context.Context, w *Worker) {
	t := time.NewTicker(statsEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.flush(ctx, w)
		}
	}
}

// decline gives a task whose payload this worker cannot decode back to a
// live worker of another version, one whose dispatch table has the task's
// receiver with another payload contract that has not declined it yet. It
// reports whether there was such a worker; if not, the caller records the
// failure (the task ends dead, as a permanent error does). A worker whose
// receiver has no contract (a hand-written table) never declines: it could
// not tell the versions apart.
func (w *Worker) decline(ctx context.Context, t *task, decodeErr error) bool {
	contract := w.receivers[t.Receiver].Contract
	if contract == "" {
		return false
	}
	msg := fmt.Sprintf("%v; left for a live worker with another payload contract (this worker's is %s)", decodeErr, contract)
	n, err := queries.DeclineTask(ctx, w.db, dbsqlc.DeclineTaskParams{
		ID: t.ID, Attempt: t.Attempt, Worker: w.cfg.Name, Contract: contract, Error: msg,
	})
	if err != nil {
		w.log.Error("declining a task failed; recording the failure instead", "task", t.ID, "err", err)
		return false
	}
	if n > 0 {
		w.recorded() // the task no longer runs: room under a concurrency limit
		w.log.Warn("payload does not decode; left the task for a worker of another version", "task", t.ID, "signal", t.Signal, "receiver", t.Receiver, "err", decodeErr)
	}
	return n > 0
}

// sweepBatch bounds the rows one sweep statement changes.
const sweepBatch = 1000

// sweep does the maintenance of rolling deploys: it moves tasks whose
// receiver moved to another queue, and ends the tasks that no worker has
// been able to run for Config.OrphanGrace (see KillOrphans).
func (w *Worker) sweep(ctx context.Context) {
	if err := w.moveTasks(ctx); err != nil && ctx.Err() == nil {
		w.log.Error("moving tasks of receivers that changed queue failed", "err", err)
	}
	grace := w.cfg.OrphanGrace
	for ctx.Err() == nil {
		rows, err := queries.KillOrphans(ctx, indexOnly{w.db}, dbsqlc.KillOrphansParams{
			Worker: w.cfg.Name, GraceSeconds: grace.Seconds(), Grace: grace.String(), Max: sweepBatch,
		})
		if err != nil {
			if ctx.Err() == nil {
				w.log.Error("ending orphaned tasks failed", "err", err)
			}
			return
		}
		for _, r := range rows {
			reason := "unknown receiver"
			if r.Undecodable {
				reason = "payload does not decode"
			}
			w.log.Error("task dead: no worker could run it during the orphan grace period", "task", r.ID, "signal", r.Signal,
				"receiver", r.Receiver, "queue", r.Queue, "reason", reason, "grace", grace)
		}
		if len(rows) < sweepBatch {
			return
		}
	}
}

// moveTasks moves the available tasks of a queue whose live workers do not
// know their receiver key to the queue where a live worker that knows the
// key runs it now: a receiver moved to another queue by a deploy leaves no
// task behind on its old queue. The newest worker decides where a key
// lives.
func (w *Worker) moveTasks(ctx context.Context) error {
	live, err := queries.LiveWorkers(ctx, w.db)
	if err != nil {
		return err
	}
	served := map[string]map[string]bool{} // queue -> keys its live workers know
	home := map[string]string{}            // key -> the queue it runs on now
	for _, lw := range live {              // newest first
		var recv map[string]WorkerReceiver
		if err := json.Unmarshal(lw.Receivers, &recv); err != nil {
			return fmt.Errorf("worker %s: receivers: %w", lw.Name, err)
		}
		for _, q := range lw.Queues {
			if served[q] == nil {
				served[q] = map[string]bool{}
			}
			for k := range recv {
				served[q][k] = true
			}
		}
		for k, e := range recv {
			if _, ok := home[k]; !ok && slices.Contains(lw.Queues, e.Queue) {
				home[k] = e.Queue
			}
		}
	}
	if len(home) == 0 {
		return nil
	}
	queues, err := queries.QueuesWithAvailable(ctx, w.db)
	if err != nil {
		return err
	}
	for _, from := range queues {
		byTarget := map[string][]string{}
		for k, to := range home {
			if to != from && !served[from][k] {
				byTarget[to] = append(byTarget[to], k)
			}
		}
		for to, keys := range byTarget {
			sort.Strings(keys)
			for ctx.Err() == nil {
				n, err := queries.MoveTasks(ctx, indexOnly{w.db}, dbsqlc.MoveTasksParams{FromQueue: from, ToQueue: to, Keys: keys, Max: sweepBatch})
				if err != nil {
					return err
				}
				if n > 0 {
					w.log.Info("moved tasks of receivers that now run on another queue", "from", from, "to", to, "tasks", n, "receivers", strings.Join(keys, ","))
					if q := w.byName[to]; q != nil {
						signal(q.wake)
					}
				}
				if n < sweepBatch {
					break
				}
			}
		}
	}
	return nil
}
