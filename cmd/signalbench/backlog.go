package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// runBacklog is the backlog workload: o.backlogN no-op tasks inserted up
// front (in batches of a million), the table's and its indexes' size per
// task, then one worker of 100 slots drains them; it reports the rate over
// the first and the last tenth of the drain, and the whole.
func runBacklog(ctx context.Context, o *options) (line, error) {
	var l line
	err := withScratch(ctx, o, "backlog", func(s *scratch) error {
		n := o.backlogN
		start := time.Now()
		pool, err := s.migrated(ctx)
		if err != nil {
			return err
		}
		defer pool.Close()
		const batch = 1_000_000
		for done := 0; done < n; done += batch {
			k := min(batch, n-done)
			if _, err := pool.Exec(ctx, `INSERT INTO signal_task (signal, receiver, payload)
				SELECT 'noop', $1, json_build_object('n', i) FROM generate_series(1, $2::int) AS i`, noopKey, k); err != nil {
				return fmt.Errorf("inserting tasks: %w", err)
			}
			progress(o, "backlog: %d of %d tasks inserted (%.0fs)", done+k, n, time.Since(start).Seconds())
		}
		if _, err := pool.Exec(ctx, "VACUUM ANALYZE signal_task"); err != nil {
			return err
		}
		var table, indexes int64
		if err := pool.QueryRow(ctx, "SELECT pg_table_size('signal_task'), pg_indexes_size('signal_task')").Scan(&table, &indexes); err != nil {
			return err
		}
		progress(o, "backlog: %d tasks, table %d MiB, indexes %d MiB; draining", n, table>>20, indexes>>20)
		res, err := drainTimed(ctx, pool, n)
		if err != nil {
			return err
		}
		var tableAfter, indexesAfter int64
		if err := pool.QueryRow(ctx, "SELECT pg_table_size('signal_task'), pg_indexes_size('signal_task')").Scan(&tableAfter, &indexesAfter); err != nil {
			return err
		}
		l = newLine("backlog")
		l.add("tasks", n)
		l.add("table_bytes_per_task", float64(table)/float64(n))
		l.add("index_bytes_per_task", float64(indexes)/float64(n))
		l.add("seconds", res.total)
		l.add("tasks_per_s", float64(n)/res.total.Seconds())
		l.add("first_tenth_tasks_per_s", float64(n/10)/res.first.Seconds())
		l.add("last_tenth_tasks_per_s", float64(n/10)/res.last.Seconds())
		l.add("table_mib_after", float64(tableAfter)/(1<<20))
		l.add("index_mib_after", float64(indexesAfter)/(1<<20))
		return nil
	})
	return l, err
}

type timedDrain struct{ total, first, last time.Duration }

// drainTimed runs a worker of 100 slots until n tasks ran, and times the
// first and the last tenth.
func drainTimed(ctx context.Context, pool *pgxpool.Pool, n int) (timedDrain, error) {
	var res timedDrain
	var ran atomic.Int64
	tenth := int64(n / 10)
	marks := make(chan time.Time, 3)
	table := signalrt.Table{{Key: noopKey, Signal: "noop", Queue: signalrt.DefaultQueue, Handle: func(context.Context, []byte) error {
		switch ran.Add(1) {
		case tenth, int64(n) - tenth, int64(n):
			marks <- time.Now()
		}
		return nil
	}}}
	w, err := signalrt.NewWorker(pool, table, signalrt.Config{Concurrency: 100, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return res, err
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- w.Run(wctx) }()
	var at [3]time.Time
	for i := range at {
		select {
		case at[i] = <-marks:
		case err := <-done:
			return res, fmt.Errorf("worker stopped after %d of %d tasks: %v", ran.Load(), n, err)
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	stop()
	<-done
	res.first, res.last, res.total = at[0].Sub(start), at[2].Sub(at[1]), at[2].Sub(start)
	return res, nil
}
