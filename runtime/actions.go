package signalrt

import (
	"context"
	"fmt"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// Action is an operation of the admin API on tasks. Each one changes tasks
// of some states only ([Action.States]) and leaves the others alone:
// signalctl and the dashboard offer an action for those states only.
type Action string

// The actions on tasks.
const (
	ActionRetry   Action = "retry"   // Retry, RetryMatching
	ActionDiscard Action = "discard" // Discard, DiscardMatching
	ActionCancel  Action = "cancel"  // Cancel, CancelMatching
	ActionRunNow  Action = "run-now" // RunNow
)

// Actions lists the actions on tasks.
var Actions = []Action{ActionRetry, ActionDiscard, ActionCancel, ActionRunNow}

// States returns the states of the tasks that a changes: retry, dead and
// available (waiting) tasks; discard, dead ones; cancel, available and
// running ones; run-now, available ones that wait (delayed, or backing
// off before a retry).
func (a Action) States() []TaskState {
	switch a {
	case ActionRetry:
		return []TaskState{StateDead, StateAvailable}
	case ActionDiscard:
		return []TaskState{StateDead}
	case ActionCancel:
		return []TaskState{StateAvailable, StateRunning}
	case ActionRunNow:
		return []TaskState{StateAvailable}
	}
	return nil
}

// Applies reports whether a changes a task in state s.
func (a Action) Applies(s TaskState) bool {
	for _, st := range a.States() {
		if st == s {
			return true
		}
	}
	return false
}

// check reports a query whose State a does not change.
func (a Action) check(q TaskQuery) error {
	if err := q.Validate(); err != nil {
		return err
	}
	if q.State != "" && !a.Applies(q.State) {
		return fmt.Errorf("%s: state %q; %s changes only tasks that are %s", a, q.State, a, statesText(a.States()))
	}
	return nil
}

// Retry makes the given dead (or waiting) tasks available now, with a fresh
// set of attempts, and wakes the workers of their queues; their error
// history is kept. Use it after deploying a fix for a receiver, or a binary
// that knows a receiver key. It returns how many tasks it changed; running
// and succeeded tasks are left alone. A dead task sent with a unique key
// ([Unique]) is left dead while another task of its receiver and key is
// pending or a newer one is dead, so that the key keeps one pending task.
func Retry(ctx context.Context, db Executor, ids ...int64) (int64, error) {
	rows, err := queries.RetryTasks(ctx, planned(db), ids)
	if err != nil {
		return 0, fmt.Errorf("retrying tasks: %w", migrateHint(err))
	}
	return int64(len(rows)), nil
}

// actionBatch bounds the rows one statement of RetryMatching or
// DiscardMatching changes.
const actionBatch = 1000

// RetryMatching retries, like [Retry], every dead or waiting task that
// matches q (its State, if set, must be dead or available), in batches of
// 1000, and returns how many it changed. Tasks created while it works are
// not retried.
func RetryMatching(ctx context.Context, db Executor, q TaskQuery) (int64, error) {
	if err := ActionRetry.check(q); err != nil {
		return 0, err
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
		return 0, 0, fmt.Errorf("finding the newest task: %w", migrateHint(err))
	}
	return after, min(before, newest+1), nil
}

// Discard deletes the given tasks that are dead, and returns how many it
// deleted; tasks in other states are left alone.
func Discard(ctx context.Context, db Executor, ids ...int64) (int64, error) {
	rows, err := queries.DiscardTasks(ctx, planned(db), ids)
	if err != nil {
		return 0, fmt.Errorf("discarding tasks: %w", migrateHint(err))
	}
	return int64(len(rows)), nil
}

// DiscardMatching deletes every dead task that matches q (its State, if
// set, must be dead), in batches of 1000, and returns how many it deleted.
func DiscardMatching(ctx context.Context, db Executor, q TaskQuery) (int64, error) {
	if err := ActionDiscard.check(q); err != nil {
		return 0, err
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
		return 0, fmt.Errorf("running tasks now: %w", migrateHint(err))
	}
	return int64(len(rows)), nil
}

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
		return 0, fmt.Errorf("cancelling tasks: %w", migrateHint(err))
	}
	return int64(len(rows)), nil
}

// CancelMatching cancels (see [Cancel]) the available and running tasks
// that match q, and returns how many. Tasks created after the call started
// are left alone. q.State may be empty, "available" or "running".
func CancelMatching(ctx context.Context, db Executor, q TaskQuery) (int64, error) {
	if err := ActionCancel.check(q); err != nil {
		return 0, err
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
