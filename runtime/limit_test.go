package signalrt_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
)

// limitTable is the table of a child worker in mode "limited": childKey,
// limited to 3 at once in all workers, which counts how many of its calls
// overlap, in the database, and takes 30 ms.
func limitTable(mode string, pool *pgxpool.Pool) signalrt.Table {
	if mode != "limited" {
		return nil
	}
	pid := os.Getpid()
	return signalrt.Table{{Key: childKey, Signal: "test", Limit: signalrt.Limit{Concurrency: 3}, Handle: signalrt.Typed(func(ctx context.Context, p num) error {
		ctx = context.WithoutCancel(ctx)
		if _, err := pool.Exec(ctx, "UPDATE gauge SET running = running + 1, peak = greatest(peak, running + 1)"); err != nil {
			return err
		}
		time.Sleep(30 * time.Millisecond)
		if _, err := pool.Exec(ctx, "UPDATE gauge SET running = running - 1"); err != nil {
			return err
		}
		_, err := pool.Exec(ctx, "INSERT INTO ran (n, attempt, pid) VALUES ($1, 1, $2)", p.N, pid)
		return err
	})}}
}

// TestConcurrencyLimitAcrossProcesses runs 4 worker processes of one slot
// each on a receiver limited to 3 at once: reaching 3 overlapping calls
// takes three processes, and without the limit the four would overlap.
// At no time do more than 3 overlap, and 3 do.
func TestConcurrencyLimitAcrossProcesses(t *testing.T) {
	pool, url := processSetup(t)
	pgtest.Exec(t, pool, "CREATE TABLE gauge (running integer NOT NULL, peak integer NOT NULL)")
	pgtest.Exec(t, pool, "INSERT INTO gauge VALUES (0, 0)")
	var children []*child
	for i := range 4 {
		children = append(children, startChild(t, url, "limited", "limited-"+string(rune('a'+i)), time.Minute, childConcEnv+"=1"))
	}
	waitProcesses(t, "the worker processes to start", children, func() bool {
		return queryInt(t, pool, "SELECT count(*) FROM ready") == len(children)
	})
	const tasks = 60
	err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		for i := range tasks {
			if err := signalrt.Send(context.Background(), tx, "test", []signalrt.Route{{Receiver: childKey}}, num{N: i}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitProcesses(t, "every task to run", children, func() bool {
		return queryInt(t, pool, "SELECT count(*) FROM ran") == tasks
	})
	peak := queryInt(t, pool, "SELECT peak FROM gauge")
	pids := queryInt(t, pool, "SELECT count(DISTINCT pid) FROM ran")
	t.Logf("peak concurrency %d; %d processes ran tasks", peak, pids)
	if peak != 3 {
		t.Errorf("peak concurrency %d; want 3 (the limit, reached by three processes of one slot)", peak)
	}
	for _, c := range children {
		c.stop(t)
	}
}

// TestRateLimit runs two workers on a receiver limited to 20 starts per
// second (burst 1) with a backlog, for 10 seconds: the starts are within
// 10% of 200.
func TestRateLimit(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	pgtest.Exec(t, pool, "CREATE TABLE starts (at timestamptz NOT NULL DEFAULT clock_timestamp())")
	table := signalrt.Table{{Key: "metered", Signal: "test", Limit: signalrt.Limit{Rate: 20, Burst: 1}, Handle: signalrt.Typed(func(ctx context.Context, _ num) error {
		_, err := pool.Exec(context.WithoutCancel(ctx), "INSERT INTO starts DEFAULT VALUES")
		return err
	})}}
	pgtest.Exec(t, pool, `INSERT INTO signal_task (signal, receiver, payload) SELECT 'test', 'metered', '{"n":1}' FROM generate_series(1, 400)`)
	for range 2 {
		startWorker(t, pool, table, fastConfig())
	}
	waitFor(t, "the first start", func() bool {
		var n int
		_ = pool.QueryRow(ctx, "SELECT count(*) FROM starts").Scan(&n)
		return n > 0
	})
	time.Sleep(11 * time.Second)
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM starts WHERE at < (SELECT min(at) FROM starts) + interval '10 seconds'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d starts in the first 10 seconds", n)
	if n < 180 || n > 221 {
		t.Errorf("%d starts in 10 s at 20/s; want 200 ± 10%% (180 to 220, and the burst of 1)", n)
	}
}

// TestQueueLimit limits a queue to 2 running tasks in all workers, with
// two workers of 10 slots: at most 2 of its calls overlap, and 2 do.
func TestQueueLimit(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	pgtest.Exec(t, pool, "CREATE TABLE gauge (running integer NOT NULL, peak integer NOT NULL)")
	pgtest.Exec(t, pool, "INSERT INTO gauge VALUES (0, 0)")
	var table signalrt.Table
	for _, key := range []string{"a", "b"} {
		table = append(table, signalrt.Receiver{Key: key, Signal: "test", Queue: "slow", Handle: signalrt.Typed(func(ctx context.Context, _ num) error {
			ctx = context.WithoutCancel(ctx)
			if _, err := pool.Exec(ctx, "UPDATE gauge SET running = running + 1, peak = greatest(peak, running + 1)"); err != nil {
				return err
			}
			time.Sleep(20 * time.Millisecond)
			_, err := pool.Exec(ctx, "UPDATE gauge SET running = running - 1")
			return err
		})})
	}
	for i := range 20 {
		send(t, pool, []signalrt.Route{{Receiver: "a", Queue: "slow"}, {Receiver: "b", Queue: "slow"}}, i)
	}
	cfg := fastConfig()
	cfg.Queues = []signalrt.QueueConfig{{Name: "slow", Concurrency: 10, Limit: signalrt.Limit{Concurrency: 2}}}
	for range 2 {
		startWorker(t, pool, table, cfg)
	}
	waitFor(t, "every task to succeed", func() bool {
		var n int
		_ = pool.QueryRow(ctx, "SELECT count(*) FROM signal_task WHERE state <> 'succeeded'").Scan(&n)
		return n == 0
	})
	var peak int
	if err := pool.QueryRow(ctx, "SELECT peak FROM gauge").Scan(&peak); err != nil {
		t.Fatal(err)
	}
	if peak != 2 {
		t.Errorf("peak concurrency in the queue %d; want 2 (the limit, reached)", peak)
	}
}
