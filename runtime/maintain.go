package signalrt

import (
	"context"
	"time"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// maintain rescues tasks with expired leases and deletes finished tasks
// past their retention, in batches. Once per sweepEvery, one worker of all
// (whichever takes the turn) also does the maintenance of rolling deploys
// (see sweep), which reads every task that has been due for the orphan
// grace, and deletes the registry rows and counters past keeping.
func (w *Worker) maintain(ctx context.Context) {
	sweepEvery := min(w.cfg.OrphanGrace/4, time.Minute)
	every := min(w.cfg.Lease/2, sweepEvery)
	for {
		mine, err := queries.TakeMaintenanceTurn(ctx, w.db, dbsqlc.TakeMaintenanceTurnParams{Name: "sweep", EverySeconds: sweepEvery.Seconds()})
		if err != nil && ctx.Err() == nil {
			w.log.Error("taking the maintenance turn failed", "err", err)
		}
		if mine {
			w.sweep(ctx)
			w.deleteOld(ctx)
		}
		w.rescueExpired(ctx)
		w.deleteFinished(ctx, "succeeded", w.cfg.Retention)
		w.deleteFinished(ctx, "dead", w.cfg.DeadRetention)
		sleep(ctx, every)
		if ctx.Err() != nil {
			return
		}
	}
}

// rescueExpired gives the tasks whose lease ran out back to their queue,
// or ends them dead when that was their last attempt, in batches.
func (w *Worker) rescueExpired(ctx context.Context) {
	const batch = 1000
	for ctx.Err() == nil {
		rows, err := queries.RescueExpired(ctx, indexOnly{w.db}, batch)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Error("rescuing expired tasks failed", "err", err)
			}
			return
		}
		for _, r := range rows {
			w.log.Warn("lease expired; task rescued", "task", r.ID, "queue", r.Queue, "state", r.State)
			if q := w.byName[r.Queue]; q != nil {
				signal(q.wake)
			}
		}
		if len(rows) < batch {
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
		n, err := queries.DeleteFinished(ctx, indexOnly{w.db}, dbsqlc.DeleteFinishedParams{State: state, Before: time.Now().Add(-keep), Max: batch})
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

// deleteOld deletes the registry rows of workers that died an hour ago,
// the receivers that no worker has known for a day past the orphan grace,
// the throughput counters past Config.StatsRetention, and the UniqueFor
// windows that have passed.
func (w *Worker) deleteOld(ctx context.Context) {
	if _, err := queries.DeleteGoneWorkers(ctx, w.db); err != nil && ctx.Err() == nil {
		w.log.Error("deleting the rows of gone workers failed", "err", err)
	}
	keep := w.cfg.OrphanGrace + 24*time.Hour
	if _, err := queries.DeleteOldReceivers(ctx, w.db, keep.Seconds()); err != nil && ctx.Err() == nil {
		w.log.Error("deleting receivers no worker knows any more failed", "err", err)
	}
	if _, err := queries.DeleteOldStats(ctx, w.db, w.cfg.StatsRetention.Seconds()); err != nil && ctx.Err() == nil {
		w.log.Error("deleting old throughput counters failed", "err", err)
	}
	if _, err := queries.DeleteExpiredUnique(ctx, w.db); err != nil && ctx.Err() == nil {
		w.log.Error("deleting expired UniqueFor windows failed", "err", err)
	}
}
