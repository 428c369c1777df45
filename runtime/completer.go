package signalrt

import (
	"context"
	"sync"
	"time"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// completer records successes in batches: one UPDATE for every task that
// finished while the previous one ran.
type completer struct {
	w    *Worker
	kick chan struct{}

	mu  sync.Mutex
	ids []int64
}

func (c *completer) add(id int64) {
	c.mu.Lock()
	c.ids = append(c.ids, id)
	c.mu.Unlock()
	signal(c.kick)
}

func (c *completer) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			c.flushDetached(ctx)
			return
		case <-c.kick:
			c.flushDetached(ctx)
		}
	}
}

// flushDetached flushes on a context that shutdown does not cancel (a flush
// cut short would only have to be repeated), bounded so that an unreachable
// database cannot hold the worker forever.
func (c *completer) flushDetached(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	c.flush(ctx)
}

// flush records the pending successes. On failure it keeps them for the
// next flush; if they are never recorded, their leases expire and the tasks
// run again (at least once).
func (c *completer) flush(ctx context.Context) {
	c.mu.Lock()
	ids := c.ids
	c.ids = nil
	c.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	err := c.w.finish(ctx, ids)
	if err == nil {
		c.w.recorded()
		return
	}
	c.w.log.Error("recording succeeded tasks failed; retrying", "tasks", len(ids), "err", err)
	c.mu.Lock()
	c.ids = append(ids, c.ids...)
	c.mu.Unlock()
	if ctx.Err() == nil {
		sleep(ctx, 100*time.Millisecond)
		signal(c.kick)
	}
}

// finish records that the tasks ids succeeded: it deletes them, or marks
// them succeeded when Config.Retention keeps them.
func (w *Worker) finish(ctx context.Context, ids []int64) error {
	arg := dbsqlc.CompleteTasksParams{Ids: ids, Worker: w.cfg.Name}
	if w.cfg.Retention == 0 {
		return queries.DeleteSucceededTasks(ctx, w.db, dbsqlc.DeleteSucceededTasksParams(arg))
	}
	return queries.CompleteTasks(ctx, w.db, arg)
}
