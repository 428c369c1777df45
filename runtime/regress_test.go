package signalrt_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
)

// TestGracefulShutdownLeavesNoTaskRunning stops a busy worker again and
// again, so that the stop often lands while it is claiming. A claim cut short
// by the shutdown must not leave tasks claimed (running, leased to the
// stopped worker) that nobody runs or gives back: they would wait for their
// lease to run out and then count a failed attempt ("lease expired") that
// never ran; with attempts=1 such a task ends dead without ever running.
func TestGracefulShutdownLeavesNoTaskRunning(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	const rounds = 15
	insertTasks(t, pool, "noop", 1, 50_000)
	var ran atomic.Int64
	table := signalrt.Table{{Key: "noop", Signal: "test", Queue: signalrt.DefaultQueue, Handle: func(context.Context, []byte) error {
		ran.Add(1)
		return nil
	}}}
	cfg := fastConfig()
	cfg.Concurrency = 10 // many small claims
	cfg.Retention = time.Hour
	for round := range rounds {
		from := ran.Load()
		w, stop := startWorker(t, pool, table, cfg)
		waitFor(t, "the worker to run tasks", func() bool { return ran.Load() >= from+200 })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		left, err := listTasks(t, pool, signalrt.TaskQuery{State: signalrt.StateRunning})
		if err != nil {
			t.Fatal(err)
		}
		if len(left) > 0 {
			t.Fatalf("round %d: after worker %s stopped gracefully, %d tasks are still running, leased to it (first: task %d, attempt %d); "+
				"want every claimed task run or given back", round, w.Name(), len(left), left[0].ID, left[0].Attempt)
		}
	}
}

// TestBusyPoolDoesNotCostReceiversTheirLease runs receivers that hold every
// connection of the pool they were given (a long query each) for several
// leases. The worker must still extend their leases: if its heartbeat waits
// for a connection of that pool, the leases run out, another worker rescues
// the tasks and runs them a second time while the first runs still go on.
func TestBusyPoolDoesNotCostReceiversTheirLease(t *testing.T) {
	t.Parallel()
	for _, sync := range []bool{false, true} {
		t.Run(fmt.Sprintf("SynchronousCommit=%v", sync), func(t *testing.T) {
			t.Parallel()
			testBusyPool(t, sync)
		})
	}
}

func testBusyPool(t *testing.T, synchronousCommit bool) {
	_, url := pgtest.Schema(t)
	other := pgtest.PoolFor(t, url) // migrated; the sender's and the rescuer's
	ctx := context.Background()
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	pc.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	var busyRuns, rescuedRuns atomic.Int32
	busy := signalrt.Table{{Key: "long", Signal: "test", Queue: signalrt.DefaultQueue, Handle: func(ctx context.Context, _ []byte) error {
		busyRuns.Add(1)
		_, err := pool.Exec(ctx, "SELECT pg_sleep(10)") // 2.5 leases, on one of the pool's 2 connections
		return err
	}}}
	rescuer := signalrt.Table{{Key: "long", Signal: "test", Queue: signalrt.DefaultQueue, Handle: func(context.Context, []byte) error {
		rescuedRuns.Add(1)
		return nil
	}}}
	send(t, other, routes("long", "long"), 1)
	cfg := fastConfig()
	// Long enough that a heartbeat delayed by a loaded machine (commits
	// that wait for the WAL flush while other tests write) does not lose
	// it; short enough that the receivers outlive it.
	cfg.Lease = 4 * time.Second
	cfg.Retention = time.Hour
	cfg.SynchronousCommit = synchronousCommit
	startWorker(t, pool, busy, cfg)
	waitFor(t, "both receivers to start", func() bool { return busyRuns.Load() == 2 })
	// A second worker, on a pool of its own, rescues expired leases.
	startWorker(t, other, rescuer, cfg)
	waitFor(t, "both tasks to succeed", func() bool { return states(t, other)[signalrt.StateSucceeded] == 2 })
	if b, r := busyRuns.Load(), rescuedRuns.Load(); b != 2 || r != 0 {
		ts, _ := listTasks(t, other, signalrt.TaskQuery{})
		t.Fatalf("receivers ran %d times in the busy worker and %d times in the rescuer, want 2 and 0: "+
			"the busy worker's leases ran out while its receivers ran (tasks %+v)", b, r, ts)
	}
}
