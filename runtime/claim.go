package signalrt

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
	// wake is signalled by NOTIFY (and rescue); freed when a slot frees up;
	// recorded when this worker has recorded results, which may free room
	// under a concurrency limit (see limitedReceiver.held).
	wake, freed, recorded chan struct{}

	// executors counts the queue's executor goroutines that Run waits for;
	// workCtx is the context receivers run in.
	executors *sync.WaitGroup
	workCtx   context.Context

	mu       sync.Mutex
	inflight map[int64]*task // claimed and not finished: queued or running
	// abandoned counts receivers that were abandoned and still run; at
	// maxAbandoned the queue stops claiming.
	abandoned, maxAbandoned int

	// limited are the queue's receivers with a Limit, claimed one by one
	// (see claimLimited); the queue's claim takes the others, under
	// queueLimit when the queue has one (QueueConfig.Limit).
	limited    []*limitedReceiver
	queueLimit *limitedReceiver

	// ahead is how many tasks the queue may claim beyond its free slots
	// while its attempts are quick (see Config.NoPrefetch); runAvg is the
	// moving average of its attempts' durations, under mu (0: none yet).
	ahead  int
	runAvg time.Duration
}

// Claiming ahead (see Config.NoPrefetch): a queue claims up to
// prefetchFactor times its slots ahead, and at most claimBatch tasks in
// all, while its attempts average under prefetchBelow.
const (
	prefetchFactor = 3
	claimBatch     = 200
	prefetchBelow  = time.Millisecond
)

// aheadNow returns how many tasks the queue may claim beyond its free slots
// now: q.ahead while its recent attempts are quick, else 0. Called under
// q.mu.
func (q *queueRunner) aheadNow() int {
	if q.ahead == 0 || q.runAvg == 0 || q.runAvg >= prefetchBelow {
		return 0
	}
	return q.ahead
}

// ran records an attempt's duration in the queue's moving average (of
// about the last 16 attempts). Called under q.mu.
func (q *queueRunner) ran(d time.Duration) {
	d = max(d, time.Nanosecond)
	if q.runAvg == 0 {
		q.runAvg = d
		return
	}
	q.runAvg += (d - q.runAvg) / 16
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

// cursorWakeRescan is how long a claim loop that works through a backlog
// keeps its cursor, at least, after a NOTIFY said that tasks were sent to
// its queue. Those tasks may have a higher priority than the cursor's, so
// that they sort before it: without this, they would wait until
// cursorRescan, behind the backlog of lower priority. Looking at the whole
// queue again steps over the index entries of the tasks claimed since the
// last VACUUM, which costs as much as it did before the cursor existed
// (see ClaimTasks): measured, about 5 ms for 50,000 such entries, against
// 0.1 ms for a claim from the cursor. At most once per cursorWakeRescan,
// and only while tasks are sent, that is at most 5% of one connection's
// time in that case, and a task of higher priority waits at most
// cursorWakeRescan behind a backlog (the tests see it run within a few
// claims). The alternative, a claim that looks at the head of every
// higher priority on every claim, would step over those priorities'
// claimed entries on every claim.
const cursorWakeRescan = 100 * time.Millisecond

// cursor is where a claim loop's last full batch ended, in the claim order
// (-priority, run_at, id).
type cursor struct {
	rank  int // -priority
	runAt time.Time
	id    int64
	since time.Time // when the loop began to use a cursor
}

// claimLoop claims as many tasks as there are free slots, whenever there
// are free slots and the queue may have due tasks; and, while the queue's
// attempts are quick, that many more as well (see Config.NoPrefetch).
//
// While claims come back full (a backlog), each claim starts after the last
// task of the previous one; once one comes back short, or after
// cursorRescan, or cursorWakeRescan after a NOTIFY, the next looks at the
// whole queue again.
func (q *queueRunner) claimLoop(ctx context.Context) {
	w := q.w
	hotUntil := time.Now().Add(w.cfg.HotWindow)
	timer := time.NewTimer(0)
	defer timer.Stop()
	var after *cursor
	woken := false // a NOTIFY came while the loop used a cursor
	for ctx.Err() == nil {
		q.mu.Lock()
		free := q.slots - len(q.inflight)
		if q.abandoned >= q.maxAbandoned {
			free = 0 // see abandonOverdue
		}
		ahead := q.aheadNow()
		q.mu.Unlock()
		if free <= 0 {
			select {
			case <-ctx.Done():
			case <-q.freed:
			}
			continue
		}
		if len(q.limited) > 0 {
			free -= q.claimLimitedAll(ctx, free)
			if free <= 0 {
				continue
			}
		}
		if len(w.claimKeys) == 0 { // every receiver is limited
			q.waitForWork(ctx, timer, w.cfg.PollInterval)
			continue
		}
		if after != nil {
			select {
			case <-q.wake:
				woken = true
			default:
			}
			used := time.Since(after.since)
			if used > cursorRescan || woken && used > cursorWakeRescan {
				after = nil
			}
		}
		if after == nil {
			woken = false
		}
		var rows []dbsqlc.ClaimTasksRow
		var err error
		if l := q.queueLimit; l != nil {
			if time.Now().Before(l.next) {
				q.waitForWork(ctx, timer, w.cfg.PollInterval)
				continue
			}
			after = nil // limited claims start from the head of the queue
			var next time.Time
			rows, next, err = q.claimLimited(ctx, l, free)
			l.next = next
		} else {
			free += ahead // only the unlimited claim claims ahead
			rows, err = q.claim(ctx, free, after)
		}
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
			q.dispatch(rows, now)
			w.event("claimed")
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
		if q.waitForWork(ctx, timer, wait) {
			hotUntil = time.Now().Add(w.cfg.HotWindow)
		}
	}
}

// waitForWork waits up to wait, or until a limited receiver may be claimed
// again, for a NOTIFY; it reports whether one came.
func (q *queueRunner) waitForWork(ctx context.Context, timer *time.Timer, wait time.Duration) (woken bool) {
	q.eachLimiter(func(l *limitedReceiver) {
		if !l.next.IsZero() {
			wait = min(wait, max(time.Until(l.next), 0))
		}
	})
	timer.Reset(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-q.wake:
		return true
	case <-q.recorded:
		q.resultsRecorded()
	case <-timer.C:
	}
	return false
}

// claimLimitedAll claims, within their limits, the tasks of the queue's
// limited receivers that are due a look, up to free in all, dispatches
// them, and returns how many it claimed.
func (q *queueRunner) claimLimitedAll(ctx context.Context, free int) int {
	claimed := 0
	now := time.Now()
	for _, l := range q.limited {
		if free-claimed <= 0 {
			break
		}
		if now.Before(l.next) {
			continue
		}
		rows, next, err := q.claimLimited(ctx, l, free-claimed)
		if err != nil {
			if ctx.Err() == nil {
				q.w.log.Error("claiming tasks failed", "queue", q.name, "receiver", l.key, "err", err)
			}
			l.next = time.Now().Add(q.w.cfg.PollInterval)
			continue
		}
		q.w.claims.Add(1)
		if len(rows) == 0 {
			q.w.emptyClaims.Add(1)
			if next.IsZero() { // nothing due: look again at the next poll or NOTIFY
				next = time.Now().Add(q.w.cfg.HotPoll)
			}
		}
		l.next = next
		q.dispatch(rows, time.Now())
		claimed += len(rows)
	}
	return claimed
}

// dispatch hands claimed rows to the queue's executors.
func (q *queueRunner) dispatch(rows []dbsqlc.ClaimTasksRow, now time.Time) {
	if len(rows) == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range rows {
		t := &task{ClaimTasksRow: rows[i], queue: q.name, claimed: now}
		q.inflight[t.ID] = t
		q.tasks <- t // never blocks: len(inflight) <= slots+ahead == cap(tasks)
	}
}

// advance returns the cursor after rows, the last claim's full batch.
func advance(c *cursor, rows []dbsqlc.ClaimTasksRow, now time.Time) *cursor {
	if c == nil {
		c = &cursor{rank: beforeRanks, since: now}
	}
	for _, r := range rows {
		rank := -int(r.Priority)
		if rank > c.rank || rank == c.rank && (r.RunAt.After(c.runAt) || r.RunAt.Equal(c.runAt) && r.ID > c.id) {
			c.rank, c.runAt, c.id = rank, r.RunAt, r.ID
		}
	}
	return c
}

// beforeRanks is a rank (-priority) before that of any task.
const beforeRanks = -MaxPriority - 1

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
	return queries.ClaimTasks(ctx, indexOnly{w.db}, w.claimParams(q.name, max, after))
}

// claimParams are the parameters of a claim of up to max tasks of queue,
// after the cursor, or from the start of the queue when it is nil: tasks of
// the receivers in the worker's table that none of its payload contracts
// has declined.
func (w *Worker) claimParams(queue string, max int, after *cursor) dbsqlc.ClaimTasksParams {
	p := dbsqlc.ClaimTasksParams{
		Queue: queue, Max: int32(max), Worker: w.cfg.Name, LeaseSeconds: w.cfg.Lease.Seconds(),
		Receivers: w.claimKeys, Contracts: w.contracts,
		AfterRank: beforeRanks, AfterRunAt: time.Time{}, // year 1: before any task
		After0RunAt: time.Time{},
	}
	if after != nil {
		p.AfterRank, p.AfterRunAt, p.AfterID = int32(after.rank), after.runAt, after.id
		if after.rank == 0 {
			p.After0RunAt, p.After0ID = after.runAt, after.id
		}
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
