package runtime

import (
	"context"
	"errors"
	"fmt"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// ErrCancelled is the cause ([context.Cause]) of a receiver's context when
// its task was cancelled with [Cancel] or [CancelMatching] while it ran, or
// when the task stopped being this worker's (its lease ran out and another
// worker took it up).
var ErrCancelled = errors.New("task cancelled")

// Cancel deletes the given tasks that are available (due, delayed, or
// waiting to retry) or running, so that none of them runs again, and
// returns how many it deleted; dead and succeeded tasks are left alone
// (see [Discard]). A cancelled task is deleted rather than marked: it
// leaves nothing to retry, and it frees its unique key ([Unique]).
//
// A running task's worker is told on commit (NOTIFY) and cancels the
// receiver's context with cause [ErrCancelled], within milliseconds; a
// worker without LISTEN (Config.PollOnly) sees it at its next heartbeat,
// within a third of the lease. The receiver should return when its context
// ends; whatever it returns is not recorded. Work it did before that stays
// done: cancel is a request to stop, not a rollback.
func Cancel(ctx context.Context, db Executor, ids ...int64) (int64, error) {
	rows, err := queries.CancelTasks(ctx, planned(db), ids)
	if err != nil {
		return 0, fmt.Errorf("cancelling tasks: %w", err)
	}
	return int64(len(rows)), nil
}

// CancelMatching cancels (see [Cancel]) the available and running tasks
// that match q, and returns how many. Tasks created after the call started
// are left alone. q.State may be empty, "available" or "running".
func CancelMatching(ctx context.Context, db Executor, q TaskQuery) (int64, error) {
	if err := q.Validate(); err != nil {
		return 0, err
	}
	if q.State != "" && q.State != StateAvailable && q.State != StateRunning {
		return 0, fmt.Errorf("cancel: state %q; only available and running tasks can be cancelled", q.State)
	}
	after, before, err := boundNow(ctx, db, q)
	if err != nil {
		return 0, err
	}
	var n int64
	for {
		rows, err := queries.CancelMatching(ctx, planned(db), dbsqlc.CancelMatchingParams{
			AfterID: after, BeforeID: before, State: nonEmpty(q.State), Queue: nonEmpty(q.Queue), Signal: nonEmpty(q.Signal),
			Receiver: nonEmpty(q.Receiver), ErrorContains: nonEmpty(q.ErrorContains), Max: actionBatch,
		})
		if err != nil {
			return n, fmt.Errorf("cancelling tasks: %w", err)
		}
		n += int64(len(rows))
		if len(rows) < actionBatch {
			return n, nil
		}
		after = rows[len(rows)-1].ID
	}
}

// cancelRunning cancels the receivers of the given tasks, if this worker
// runs them: their rows are gone (Cancel) or another worker's.
func (w *Worker) cancelRunning(ids []int64) {
	for _, q := range w.queues {
		q.mu.Lock()
		for _, id := range ids {
			t, ok := q.inflight[id]
			if !ok || t.cancelled {
				continue
			}
			t.cancelled = true
			if t.stop != nil {
				t.stop(ErrCancelled)
			}
			w.log.Info("task cancelled while it ran; its receiver's context is cancelled", "task", id, "receiver", t.Receiver)
		}
		q.mu.Unlock()
	}
}
