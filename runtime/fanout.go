package signalrt

import (
	"context"
	"time"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// The fan-out: a send made in BeginFunc is one signal_send row, which the
// worker turns into one task per route. Every worker does it, whatever its
// queues: the move is a few rows of SQL, and a send's tasks may be for any
// queue.

// fanOutBatch is how many sends one FanOutSends statement moves at most.
const fanOutBatch = 500

// fanOutRetry is how long a send whose fan-out failed on its own is left
// out of the batches before it is tried again (see fanOutOnce).
const fanOutRetry = time.Minute

// fanOutLoop fans out committed sends when a send notifies signal_send
// and otherwise polls, as a queue's claim loop does: every HotPoll for
// HotWindow after the last sends, else every PollInterval.
func (w *Worker) fanOutLoop(ctx context.Context) {
	hotUntil := time.Now().Add(w.cfg.HotWindow)
	timer := time.NewTimer(0)
	defer timer.Stop()
	skip := map[int64]time.Time{}
	for ctx.Err() == nil {
		n, err := w.fanOutOnce(ctx, w.db, skip)
		if err != nil && ctx.Err() == nil {
			w.log.Error("fanning out sends failed", "err", err)
			sleep(ctx, w.cfg.PollInterval)
			continue
		}
		if n == fanOutBatch {
			continue // there may be more
		}
		now := time.Now()
		if n > 0 {
			hotUntil = now.Add(w.cfg.HotWindow)
		}
		wait := w.cfg.PollInterval
		if now.Before(hotUntil) {
			wait = w.cfg.HotPoll
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-w.sendsWake:
			hotUntil = time.Now().Add(w.cfg.HotWindow)
		case <-timer.C:
		}
		timer.Stop()
	}
}

// fanOutOnce moves up to fanOutBatch sends into tasks, wakes this worker's
// queues that got due tasks (the statement notifies every worker's), and
// returns how many sends it moved.
//
// A send whose tasks cannot be inserted (a trigger of the user's that
// refuses them, say) would fail every batch it is in. When a batch fails,
// fanOutOnce moves the sends one at a time instead; one that fails alone is
// logged, stays in signal_send (it is counted by QueueOverview as
// pending), and is left out of the batches (skip) for fanOutRetry.
func (w *Worker) fanOutOnce(ctx context.Context, db database, skip map[int64]time.Time) (int, error) {
	now := time.Now()
	ids := make([]int64, 0, len(skip))
	for id, until := range skip {
		if now.After(until) {
			delete(skip, id)
			continue
		}
		ids = append(ids, id)
	}
	rows, err := queries.FanOutSends(ctx, indexOnly{db}, dbsqlc.FanOutSendsParams{Skip: ids, Max: fanOutBatch})
	if err == nil {
		return w.fannedOut(rows), nil
	}
	if ctx.Err() != nil {
		return 0, err
	}
	// One at a time, until one fails or none is left.
	moved := 0
	for range fanOutBatch {
		id, err := queries.NextSendID(ctx, indexOnly{db}, ids)
		if err != nil {
			return moved, err
		}
		if id == 0 {
			return moved, nil
		}
		rows, err := queries.FanOutSends(ctx, indexOnly{db}, dbsqlc.FanOutSendsParams{Skip: ids, Max: 1})
		if err != nil {
			if ctx.Err() != nil {
				return moved, err
			}
			w.log.Error("a send cannot be fanned out into tasks; it stays in signal_send and is tried again later",
				"send", id, "retry_in", fanOutRetry, "err", err)
			skip[id] = now.Add(fanOutRetry)
			ids = append(ids, id)
			continue
		}
		moved += w.fannedOut(rows)
	}
	return moved, nil
}

// fannedOut wakes the queues that got due tasks and returns the number of
// sends moved.
func (w *Worker) fannedOut(rows []dbsqlc.FanOutSendsRow) int {
	if len(rows) == 0 {
		return 0
	}
	for _, r := range rows {
		if q := w.byName[r.Queue]; q != nil && r.Due {
			signal(q.wake)
		}
	}
	return int(rows[0].Sends)
}
