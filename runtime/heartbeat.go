package signalrt

import (
	"context"
	"time"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// heartbeat, every third of the lease, refreshes the worker's row in the
// registry, abandons receivers that ignore their timeout, and extends the
// leases of the other tasks that have run for a third of the lease; it
// cancels the receivers of those whose rows are gone or another worker's.
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
		if err := w.heartbeatRegistry(ctx); err != nil && ctx.Err() == nil {
			w.log.Error("refreshing the worker's registry row failed", "err", err)
		}
		w.abandonOverdue(ctx)
		w.extendLeases(ctx, time.Now().Add(-every))
	}
}

// extendLeases extends the leases of the tasks this worker claimed before
// cutoff, and cancels the receivers of those whose rows are gone or no
// longer this worker's.
func (w *Worker) extendLeases(ctx context.Context, cutoff time.Time) {
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
		return
	}
	kept, err := queries.ExtendLeases(ctx, w.db, dbsqlc.ExtendLeasesParams{Ids: ids, Worker: w.cfg.Name, LeaseSeconds: w.cfg.Lease.Seconds()})
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("extending leases failed", "tasks", len(ids), "err", err)
		}
		return
	}
	if len(kept) < len(ids) {
		// The others were cancelled, or taken by another worker after a
		// lost lease: stop their receivers (a worker that LISTENs has
		// usually heard of the cancels already).
		w.cancelRunning(gone(ids, kept))
	}
}

// gone returns the ids that are not in kept.
func gone(ids, kept []int64) []int64 {
	in := make(map[int64]bool, len(kept))
	for _, id := range kept {
		in[id] = true
	}
	var out []int64
	for _, id := range ids {
		if !in[id] {
			out = append(out, id)
		}
	}
	return out
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
