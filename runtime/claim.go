package runtime

import (
	"context"
	"sync"
	"time"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
)

// queueRunner claims and runs the tasks of one queue.
type queueRunner struct {
	w     *Worker
	name  string
	slots int
	tasks chan *task
	// wake is signalled by NOTIFY (and rescue); freed when a slot frees up.
	wake, freed chan struct{}

	// executors counts the queue's executor goroutines that Run waits for;
	// workCtx is the context receivers run in.
	executors *sync.WaitGroup
	workCtx   context.Context

	mu       sync.Mutex
	inflight map[int64]*task // claimed and not finished: queued or running
	// abandoned counts receivers that were abandoned and still run; at
	// maxAbandoned the queue stops claiming.
	abandoned, maxAbandoned int
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// cursorRescan is how long a claim loop that works through a backlog keeps
// its cursor (see ClaimTasks) before it looks at the whole queue again.
const cursorRescan = time.Second

// cursor is where a claim loop's last full batch ended, in the claim order.
type cursor struct {
	runAt time.Time
	id    int64
	since time.Time // when the loop began to use a cursor
}

// claimLoop claims as many tasks as there are free slots, whenever there
// are free slots and the queue may have due tasks.
//
// While claims come back full (a backlog), each claim starts after the last
// task of the previous one; once one comes back short, or after
// cursorRescan, the next looks at the whole queue again.
func (q *queueRunner) claimLoop(ctx context.Context) {
	w := q.w
	hotUntil := time.Now().Add(w.cfg.HotWindow)
	timer := time.NewTimer(0)
	defer timer.Stop()
	var after *cursor
	for ctx.Err() == nil {
		q.mu.Lock()
		free := q.slots - len(q.inflight)
		if q.abandoned >= q.maxAbandoned {
			free = 0 // see abandonOverdue
		}
		q.mu.Unlock()
		if free <= 0 {
			select {
			case <-ctx.Done():
			case <-q.freed:
			}
			continue
		}
		if after != nil && time.Since(after.since) > cursorRescan {
			after = nil
		}
		rows, err := q.claim(ctx, free, after)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Error("claiming tasks failed", "queue", q.name, "err", err)
				sleep(ctx, w.cfg.PollInterval)
			}
			continue
		}
		w.claims.Add(1)
		if len(rows) == 0 {
			w.emptyClaims.Add(1)
		}
		now := time.Now()
		if len(rows) > 0 {
			hotUntil = now.Add(w.cfg.HotWindow)
			q.mu.Lock()
			for i := range rows {
				t := &task{ClaimTasksRow: rows[i], queue: q.name, claimed: now}
				q.inflight[t.ID] = t
				q.tasks <- t // never blocks: len(inflight) <= slots == cap(tasks)
			}
			q.mu.Unlock()
		}
		if len(rows) == free {
			after = advance(after, rows, now)
			continue // there may be more
		}
		after = nil
		wait := w.cfg.PollInterval
		if now.Before(hotUntil) {
			wait = w.cfg.HotPoll
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-q.wake:
			hotUntil = time.Now().Add(w.cfg.HotWindow)
		case <-timer.C:
		}
		timer.Stop()
	}
}

// advance returns the cursor after rows, the last claim's full batch.
func advance(c *cursor, rows []dbsqlc.ClaimTasksRow, now time.Time) *cursor {
	if c == nil {
		c = &cursor{since: now}
	}
	for _, r := range rows {
		if r.RunAt.After(c.runAt) || r.RunAt.Equal(c.runAt) && r.ID > c.id {
			c.runAt, c.id = r.RunAt, r.ID
		}
	}
	return c
}

// claim claims up to max tasks, after the cursor if there is one. Shutdown
// does not cut a claim short: the server could commit a claim whose rows the
// worker never sees, which would leave them running under a lease that
// nobody extends, to come back only when it expires, with an attempt
// counted that never ran. The rows of a claim that returns are run (or
// given back) like any others.
func (q *queueRunner) claim(ctx context.Context, max int, after *cursor) ([]dbsqlc.ClaimTasksRow, error) {
	w := q.w
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.Lease)
	defer cancel()
	return queries.ClaimTasks(ctx, w.db, w.claimParams(q.name, max, after))
}

// claimParams are the parameters of a claim of up to max tasks of queue,
// after the cursor, or from the start of the queue when it is nil: tasks of
// the receivers in the worker's table that none of its payload contracts
// has declined.
func (w *Worker) claimParams(queue string, max int, after *cursor) dbsqlc.ClaimTasksParams {
	p := dbsqlc.ClaimTasksParams{
		Queue: queue, Max: int32(max), Worker: w.cfg.Name, LeaseSeconds: w.cfg.Lease.Seconds(),
		Receivers: w.keys, Contracts: w.contracts,
		AfterRunAt: time.Time{}, // year 1: before any task
	}
	if after != nil {
		p.AfterRunAt, p.AfterID = after.runAt, after.id
	}
	return p
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
