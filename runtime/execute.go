package signalrt

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// execute runs one task in the executor's context ctx, which stop
// cancels, and records its result. It reports whether the worker had
// abandoned the task's receiver meanwhile (see abandonOverdue).
//
// t.stop is stop while t is in q.inflight, under q.mu: cancelRunning, which
// finds tasks there, can cancel ctx only while t runs in it. t leaves
// q.inflight, and t.stop is cleared, before execute returns, so a cancel
// meant for t is done before the executor looks at ctx for its next task.
func (q *queueRunner) execute(ctx context.Context, stop context.CancelCauseFunc, t *task) (abandoned bool) {
	start := time.Now()
	q.mu.Lock()
	t.stop = stop
	t.started = start
	// A task cancelled between its claim and now, or given back at
	// shutdown while it waited for a slot (see releaseAll), is not started.
	_, held := q.inflight[t.ID]
	cancelled := t.cancelled || !held
	q.mu.Unlock()
	var res result
	if !cancelled {
		res = q.w.run(ctx, t)
	}
	q.mu.Lock()
	if !cancelled {
		q.ran(time.Since(start))
	}
	_, mine := q.inflight[t.ID]
	delete(q.inflight, t.ID)
	t.stop = nil
	abandoned = t.abandoned
	if abandoned {
		q.abandoned--
	}
	cancelled = t.cancelled
	q.mu.Unlock()
	signal(q.freed)
	if !mine {
		return abandoned // given back at shutdown, or abandoned; another worker runs it
	}
	if cancelled {
		return false // its row is gone (Cancel) or another worker's: nothing to record
	}
	if res.err == nil {
		q.w.done.add(t.ID)
		q.w.stats.add(t.queue, t.Receiver, res)
		return false
	}
	if res.decode != nil && q.w.decline(context.WithoutCancel(ctx), t, res.decode) {
		return false
	}
	if res.snooze {
		q.w.recordSnooze(context.WithoutCancel(ctx), t, res.delay)
		return false
	}
	q.w.stats.add(t.queue, t.Receiver, res)
	q.w.recordFailure(context.WithoutCancel(ctx), t, res)
	return false
}

// result is the outcome of one attempt.
type result struct {
	err   error
	dead  bool
	delay time.Duration
	// decode is set when the payload did not decode into the receiver's
	// type: another version of the program may still be able to run it.
	decode *DecodeError
	// snooze: the receiver asked to run again after delay (see Snooze).
	snooze bool
	// ctx is the attempt's context as the hooks gave it to the receiver
	// (nil outside an attempt): the worker logs the result with it.
	ctx context.Context
}

// timeout returns the task's timeout: its route's, or the worker's.
func (w *Worker) timeout(t *task) time.Duration {
	if t.TimeoutMs > 0 {
		return time.Duration(t.TimeoutMs) * time.Millisecond
	}
	return w.cfg.Timeout
}

// run calls the task's receiver with its timeout, and decides what its
// error means: a retry after backoff, a snooze, or a dead task.
func (w *Worker) run(ctx context.Context, t *task) result {
	rec, ok := w.receivers[t.Receiver]
	if !ok {
		// Claims take only the table's keys (see claimParams), so this
		// is a bug; the task ends dead with the reason, never lost.
		return result{dead: true, err: fmt.Errorf("unknown receiver %q (signal %s): claimed by a worker whose dispatch table has no such key", t.Receiver, t.Signal)}
	}
	timeout := w.timeout(t)
	// The context holds a pointer into t, which is allocated anyway: a
	// TaskInfo value would be boxed on every attempt.
	t.info = TaskInfo{ID: t.ID, Signal: t.Signal, Receiver: t.Receiver, Attempt: int(t.Attempt), MaxAttempts: int(t.MaxAttempts)}
	ctx = context.WithValue(ctx, taskInfoKey{}, &t.info)
	logCtx := ctx
	var err error
	if hs := w.attemptHooks(); hs != nil {
		// The hooks get the attempt as a closure, and may change its
		// context; without hooks the attempt is a direct call, so that
		// neither the closure nor what it captures is allocated.
		var hooked context.Context
		err = withAttemptHooks(ctx, hs, AttemptInfo{TaskInfo: t.info, Queue: t.queue, RunAt: t.RunAt, Headers: decodeHeaders(t.Headers)},
			func(ctx context.Context) error {
				hooked = ctx
				return attempt(ctx, rec.Handle, t.Payload, timeout)
			})
		if hooked != nil {
			logCtx = hooked
		}
	} else {
		err = attempt(ctx, rec.Handle, t.Payload, timeout)
	}
	if err == nil {
		return result{ctx: logCtx}
	}
	return w.failedOrSnoozed(t, err, logCtx)
}

// failedOrSnoozed is the result of an attempt of t that returned err: a
// snooze, or a failure (see failed). It is apart from run so that the
// target of errors.As is allocated only when an attempt fails.
func (w *Worker) failedOrSnoozed(t *task, err error, logCtx context.Context) result {
	var snooze *SnoozeError
	if errors.As(err, &snooze) {
		return result{err: err, snooze: true, delay: snooze.Delay, ctx: logCtx}
	}
	res := w.failed(t, err)
	res.ctx = logCtx
	return res
}

// attempt calls h with payload under timeout.
func attempt(ctx context.Context, h Handler, payload []byte, timeout time.Duration) error {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := runHandler(rctx, h, payload)
	if err != nil && errors.Is(rctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %s: %w", timeout, err)
	}
	return err
}

// failed is the result of a failed attempt of t: dead after a permanent
// error or on the last attempt, else a retry after backoff.
func (w *Worker) failed(t *task, err error) result {
	if IsPermanent(err) || int(t.Attempt) >= int(t.MaxAttempts) {
		res := result{err: err, dead: true}
		errors.As(err, &res.decode)
		return res
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
	logCtx := res.ctx
	if logCtx == nil {
		logCtx = ctx
	}
	if err == nil {
		w.recorded()
	}
	switch {
	case err != nil:
		log.ErrorContext(logCtx, "recording a failed attempt failed; the task runs again after its lease", "db_err", err)
	case res.dead:
		log.ErrorContext(logCtx, "task dead")
	default:
		log.WarnContext(logCtx, "task failed; will retry", "retry_in", res.delay)
	}
}

// recordSnooze makes a snoozed task available again after delay, without
// counting the attempt.
func (w *Worker) recordSnooze(ctx context.Context, t *task, delay time.Duration) {
	err := queries.SnoozeTask(ctx, w.db, dbsqlc.SnoozeTaskParams{ID: t.ID, Attempt: t.Attempt, Worker: w.cfg.Name, DelaySeconds: delay.Seconds()})
	if err != nil {
		w.log.Error("recording a snooze failed; the task runs again after its lease", "task", t.ID, "receiver", t.Receiver, "err", err)
		return
	}
	w.recorded()
	w.log.Debug("task snoozed", "task", t.ID, "receiver", t.Receiver, "for", delay)
}
