package signalrt

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// executor runs the queue's tasks, one at a time, until the queue's task
// channel is closed at shutdown. Run starts one per slot and waits for them
// (q.executors). When the worker abandons a receiver that does not return
// (see abandonOverdue), the goroutine stuck in it gives up its slot: a new
// executor takes its place, and its count in q.executors, at once, and the
// stuck one exits when the receiver finally returns, without recording
// anything and without being waited for at shutdown.
//
// Each executor runs its tasks in a context of its own, a child of the
// queue's work context that cancelRunning cancels (with ErrCancelled) to
// cancel the task it runs; after that, the executor makes a new one. One
// such context per executor, instead of one per task, spares every attempt
// a context, its done channel and its map of children, and the work
// context's lock, which every executor would take twice per task.
func (q *queueRunner) executor() {
	var ctx context.Context
	var stop context.CancelCauseFunc
	defer func() {
		if stop != nil {
			stop(nil)
		}
	}()
	for {
		t, ok := q.next()
		if !ok {
			break
		}
		if ctx == nil || ctx.Err() != nil {
			// Cancelled: the previous task was cancelled while it ran
			// (see execute for why it cannot have been another's).
			if stop != nil {
				stop(nil)
			}
			ctx, stop = context.WithCancelCause(q.workCtx)
		}
		if q.execute(ctx, stop, t) {
			q.w.log.Info("an abandoned receiver returned at last; its result is ignored", "task", t.ID, "receiver", t.Receiver)
			return
		}
	}
	q.executors.Done()
}

// next waits for the executor's next task, deep enough in the stack that
// the garbage collector leaves the executor's stack as the tasks grew it.
// At each collection, the runtime halves the stack of a goroutine that uses
// less than a quarter of it; an executor waiting in a shallow frame is
// such a goroutine, so after every collection its next task grew the stack
// again, copying it (measured: 7% of a worker's CPU with OpenTelemetry on
// receivers that do nothing, whose spans call deep and make collections
// frequent). Waiting below a frame of waitFrame bytes keeps a stack of up to
// four times that from shrinking, for the cost of clearing it once per
// task.
//
//go:noinline
func (q *queueRunner) next() (*task, bool) {
	var frame [waitFrame]byte
	t, ok := <-q.tasks
	keepFrame(&frame)
	return t, ok
}

// waitFrame is the size of next's frame.
const waitFrame = 8 << 10

// keepFrame makes the compiler keep next's frame, which it would otherwise
// drop as unused.
//
//go:noinline
func keepFrame(*[waitFrame]byte) {}

// abandonOverdue abandons the receivers that have not returned within their
// timeout plus Config.AbandonGrace, which only a receiver that ignores its
// context does (a call without a deadline, cgo, a lock): each one's attempt
// is recorded as failed (retried after backoff, or dead on its last
// attempt), its lease is no longer extended, and a new executor goroutine
// takes its slot, so the queue keeps its concurrency. It runs in the
// heartbeat, before the leases are extended. It then reports the worker
// unhealthy while a queue has Config.MaxAbandoned abandoned receivers still
// running, and stops that queue's claims meanwhile (see claimLoop).
func (w *Worker) abandonOverdue(ctx context.Context) {
	var sick []string
	for _, q := range w.queues {
		var overdue []*task
		q.mu.Lock()
		for id, t := range q.inflight {
			if !t.started.IsZero() && time.Since(t.started) > w.timeout(t)+w.cfg.AbandonGrace {
				t.abandoned = true
				delete(q.inflight, id)
				q.abandoned++
				overdue = append(overdue, t)
			}
		}
		if q.abandoned >= q.maxAbandoned {
			sick = append(sick, fmt.Sprintf("queue %s: %d abandoned receivers still running (Config.MaxAbandoned %d); not claiming", q.name, q.abandoned, q.maxAbandoned))
		}
		q.mu.Unlock()
		for _, t := range overdue {
			go q.executor() // takes the stuck goroutine's slot
			signal(q.freed)
			err := fmt.Errorf("receiver did not return within its timeout of %s plus %s: abandoned (it ignores its context); its goroutine may still be running",
				w.timeout(t), w.cfg.AbandonGrace)
			res := w.failed(t, err)
			w.log.Warn("receiver abandoned after its timeout", "task", t.ID, "signal", t.Signal, "receiver", t.Receiver, "queue", q.name, "attempt", t.Attempt)
			w.stats.add(q.name, t.Receiver, res)
			w.recordFailure(ctx, t, res)
		}
	}
	w.reportHealth(ctx, strings.Join(sick, "; "))
}

// reportHealth records in the registry what is wrong with the worker ("" when
// nothing is), and logs the changes.
func (w *Worker) reportHealth(ctx context.Context, problem string) {
	if problem == w.health && problem == "" {
		return
	}
	if problem != w.health {
		if problem != "" {
			w.log.Error("worker unhealthy", "problem", problem)
		} else {
			w.log.Info("worker healthy again")
		}
	}
	w.health = problem
	var arg *string
	if problem != "" {
		arg = &problem
	}
	if err := queries.SetWorkerHealth(ctx, w.db, dbsqlc.SetWorkerHealthParams{Name: w.cfg.Name, Unhealthy: arg}); err != nil && ctx.Err() == nil {
		w.log.Error("recording the worker's health failed", "err", err)
	}
}
