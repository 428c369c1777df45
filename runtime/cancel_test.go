package signalrt_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
)

// TestCancelRunningTaskInWorkerProcess cancels a task while a worker
// process runs it: the receiver's context ends with cause ErrCancelled
// (told by NOTIFY: the worker's heartbeat, every 20 s with its one-minute
// lease, could not explain a prompt cancel), the task is gone and does not
// run again. A delayed task cancelled before it is due never runs.
func TestCancelRunningTaskInWorkerProcess(t *testing.T) {
	ctx := context.Background()
	pool, url := processSetup(t)
	c := startChild(t, url, "cancel", "canceller", time.Minute)
	waitProcesses(t, "the worker process to start", []*child{c}, func() bool {
		return queryInt(t, pool, "SELECT count(*) FROM ready") == 1
	})
	rs := []signalrt.Route{{Receiver: childKey}}
	send(t, pool, rs, 1)
	send(t, pool, rs, 2, signalrt.After(time.Hour))
	waitProcesses(t, "the receiver to start", []*child{c}, func() bool {
		return queryInt(t, pool, "SELECT count(*) FROM started WHERE n = 1") == 1
	})
	var running, delayed int64
	if err := pool.QueryRow(ctx, "SELECT id FROM signal_task WHERE payload::text = '{\"n\":1}'").Scan(&running); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, "SELECT id FROM signal_task WHERE payload::text = '{\"n\":2}'").Scan(&delayed); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if n, err := signalrt.Cancel(ctx, pool, running, delayed); err != nil || n != 2 {
		t.Fatalf("Cancel: %d, %v; want 2, nil", n, err)
	}
	waitProcesses(t, "the receiver to see its context cancelled with ErrCancelled", []*child{c}, func() bool {
		return queryInt(t, pool, "SELECT count(*) FROM finished WHERE n = 1") == 1
	})
	took := time.Since(start)
	t.Logf("the receiver saw the cancel %s after Cancel returned", took.Round(time.Millisecond))
	if took > 15*time.Second {
		t.Errorf("the cancel took %s: not the NOTIFY path (the heartbeat comes every 20 s)", took)
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM signal_task"); n != 0 {
		t.Errorf("%d tasks left after cancelling both; want 0", n)
	}
	// Nothing runs again: a poll or two later the worker has started
	// task 1 once and task 2 never.
	time.Sleep(300 * time.Millisecond)
	if n := queryInt(t, pool, "SELECT count(*) FROM started"); n != 1 {
		t.Errorf("receivers started %d times; want 1", n)
	}
	if n, err := signalrt.Cancel(ctx, pool, running); err != nil || n != 0 {
		t.Errorf("cancelling again: %d, %v; want 0, nil", n, err)
	}
	c.stop(t)
}

// TestCancelReachesAPollOnlyWorker: without LISTEN, the heartbeat finds
// that the task's row is gone and cancels the receiver.
func TestCancelReachesAPollOnlyWorker(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	started := make(chan struct{}, 1)
	cause := make(chan error, 1)
	table := signalrt.Table{{Key: "a", Signal: "test", Handle: signalrt.Typed(func(ctx context.Context, _ num) error {
		started <- struct{}{}
		<-ctx.Done()
		cause <- context.Cause(ctx)
		return ctx.Err()
	})}}
	cfg := fastConfig()
	cfg.PollOnly = true
	cfg.Lease = 900 * time.Millisecond // a heartbeat every 300 ms
	_, stop := startWorker(t, pool, table, cfg)
	send(t, pool, routes("a"), 1)
	<-started
	task := onlyTask(t, pool, "a")
	if n, err := signalrt.CancelMatching(ctx, pool, signalrt.TaskQuery{Receiver: "a", State: signalrt.StateRunning}); err != nil || n != 1 {
		t.Fatalf("CancelMatching: %d, %v; want 1, nil", n, err)
	}
	select {
	case err := <-cause:
		if !errors.Is(err, signalrt.ErrCancelled) {
			t.Errorf("the receiver's context ended with %v; want ErrCancelled", err)
		}
	case <-time.After(processWait):
		t.Fatal("the receiver of a cancelled task was never cancelled")
	}
	if _, err := signalrt.GetTask(ctx, pool, task.ID); err == nil {
		t.Error("the cancelled task still exists")
	}
	if _, err := signalrt.CancelMatching(ctx, pool, signalrt.TaskQuery{State: signalrt.StateDead}); err == nil {
		t.Error("CancelMatching of dead tasks: no error; want one saying what can be cancelled")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestCancelledTaskLeavesItsExecutorWorking cancels a running task on a
// worker with one slot, whose executor runs its tasks in a context of its
// own: the receiver of the cancelled task sees ErrCancelled, and the tasks
// that the same executor runs next start with a live context and succeed.
func TestCancelledTaskLeavesItsExecutorWorking(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	started := make(chan int, 10)
	cause := make(chan error, 1)
	results := make(chan error, 10)
	table := signalrt.Table{{Key: "a", Signal: "test", Handle: signalrt.Typed(func(ctx context.Context, p num) error {
		started <- p.N
		if p.N == 1 {
			<-ctx.Done()
			cause <- context.Cause(ctx)
			return ctx.Err()
		}
		// Later tasks: the context must be live, and stay so.
		err := ctx.Err()
		if err == nil {
			select {
			case <-ctx.Done():
				err = context.Cause(ctx)
			case <-time.After(20 * time.Millisecond):
			}
		}
		results <- err
		return err
	})}}
	cfg := fastConfig()
	cfg.Concurrency = 1
	cfg.NoPrefetch = true
	_, stop := startWorker(t, pool, table, cfg)
	send(t, pool, routes("a"), 1)
	if n := <-started; n != 1 {
		t.Fatalf("started task %d first; want 1", n)
	}
	task := onlyTask(t, pool, "a")
	if n, err := signalrt.Cancel(ctx, pool, task.ID); err != nil || n != 1 {
		t.Fatalf("Cancel: %d, %v; want 1, nil", n, err)
	}
	select {
	case err := <-cause:
		if !errors.Is(err, signalrt.ErrCancelled) {
			t.Errorf("the cancelled receiver's context ended with %v; want ErrCancelled", err)
		}
	case <-time.After(processWait):
		t.Fatal("the receiver of the cancelled task was never cancelled")
	}
	for n := 2; n <= 4; n++ {
		send(t, pool, routes("a"), n)
		select {
		case err := <-results:
			if err != nil {
				t.Errorf("task %d, run by the executor of the cancelled task, had its context ended: %v", n, err)
			}
		case <-time.After(processWait):
			t.Fatalf("task %d never ran", n)
		}
	}
	waitFor(t, "the three later tasks to succeed", func() bool {
		return states(t, pool)[signalrt.StateSucceeded] == 3
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
