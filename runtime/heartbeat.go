package runtime

import (
	"context"
	"time"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// heartbeat, every third of the lease, refreshes the worker's row in the
// registry, abandons receivers that ignore their timeout, and extends the
// leases of the other tasks that have run for a third of the lease.
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
