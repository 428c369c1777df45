package signalrt

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// RunStats counts the attempts made by [RunUntilIdle].
type RunStats struct {
	// Succeeded counts tasks whose receiver returned nil.
	Succeeded int
	// Retried counts failed attempts whose task will run again later, and
	// snoozes ([Snooze]).
	Retried int
	// Dead counts tasks that ended dead.
	Dead int
}

// RunUntilIdle runs every due task in pool's database, one at a time in the
// calling goroutine, until no task is due, and reports what happened. It
// first fans out the sends made in [BeginFunc] into their tasks. It is
// meant for tests against a real database: send, commit, call RunUntilIdle,
// then assert on what the receivers did. Tasks of every queue are run,
// except those of paused queues; tasks whose key table lacks are left
// available, as a worker leaves them (see [Config].OrphanGrace). Retries
// are scheduled with the default backoff, so a failed task is not due again
// within the call; use [Worker.RunUntilIdle] with a Config to change that.
func RunUntilIdle(ctx context.Context, pool *pgxpool.Pool, table Table) (RunStats, error) {
	w, err := NewWorker(pool, table, Config{})
	if err != nil {
		return RunStats{}, err
	}
	return w.RunUntilIdle(ctx)
}

// RunUntilIdle is the package's [RunUntilIdle] with this worker's table and
// configuration (its backoff, timeout and name; its queue settings are not
// used: every queue is run; nor are receivers' Limits: it runs one task at
// a time). Results are recorded one by one, not batched.
func (w *Worker) RunUntilIdle(ctx context.Context) (RunStats, error) {
	var st RunStats
	for {
		// Sends made in BeginFunc become tasks first.
		for {
			n, err := w.fanOutOnce(ctx, w.db, map[int64]time.Time{})
			if err != nil {
				return st, fmt.Errorf("run until idle: fanning out sends: %w", err)
			}
			if n < fanOutBatch {
				break
			}
		}
		queues, err := queries.DueQueues(ctx, w.db)
		if err != nil {
			return st, fmt.Errorf("run until idle: %w", err)
		}
		if len(queues) == 0 {
			return st, nil
		}
		claimed := 0
		for _, qn := range queues {
			p := w.claimParams(qn, 100, nil)
			p.Receivers = w.keys // limited receivers too: one task at a time, limits aside
			rows, err := queries.ClaimTasks(ctx, indexOnly{w.db}, p)
			if err != nil {
				return st, fmt.Errorf("run until idle: claiming: %w", err)
			}
			claimed += len(rows)
			for _, row := range rows {
				t := &task{ClaimTasksRow: row, queue: qn, claimed: time.Now()}
				res := w.run(ctx, t)
				switch {
				case res.err == nil:
					err = w.finish(ctx, []int64{t.ID})
					st.Succeeded++
				case res.snooze:
					w.recordSnooze(ctx, t, res.delay)
					st.Retried++
				case res.dead:
					w.recordFailure(ctx, t, res)
					st.Dead++
				default:
					w.recordFailure(ctx, t, res)
					st.Retried++
				}
				if err != nil {
					return st, fmt.Errorf("run until idle: recording task %d: %w", t.ID, err)
				}
			}
		}
		if claimed == 0 {
			// What is due is not for this table: receivers it lacks,
			// payloads it declined, or paused queues.
			return st, nil
		}
	}
}
