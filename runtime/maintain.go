package runtime

import (
	"context"
	"time"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// past their retention, in batches.
func (w *Worker) maintain(ctx context.Context) {
	every := min(w.cfg.Lease/2, time.Minute)
	const batch = 1000
	for {
		for ctx.Err() == nil {
			rows, err := queries.RescueExpired(ctx, w.db, batch)
			if err != nil {
				if ctx.Err() == nil {
					w.log.Error("rescuing expired tasks failed", "err", err)
				}
				break
			}
			for _, r := range rows {
				w.log.Warn("lease expired; task rescued", "task", r.ID, "queue", r.Queue, "state", r.State)
				if q := w.byName[r.Queue]; q != nil {
					signal(q.wake)
				}
			}
			if len(rows) < batch {
				break
			}
		}
		w.deleteFinished(ctx, "succeeded", w.cfg.Retention)
		w.deleteFinished(ctx, "dead", w.cfg.DeadRetention)
		sleep(ctx, every)
		if ctx.Err() != nil {
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
		n, err := queries.DeleteFinished(ctx, w.db, dbsqlc.DeleteFinishedParams{State: state, Before: time.Now().Add(-keep), Max: batch})
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
