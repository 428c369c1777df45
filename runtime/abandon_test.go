//go:build unix

package signalrt_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// hangTable returns the table of a child in mode hang or nohang, or nil for
// other modes. Both run childKey (recording in ran) and "hang", whose
// receiver records its start in started and then, in mode hang, blocks on a
// channel that nothing closes, ignoring its context, as a receiver stuck
// in a call without a deadline does; in mode nohang it records its end in
// finished.
func hangTable(mode string, pool *pgxpool.Pool) signalrt.Table {
	if mode != "hang" && mode != "nohang" {
		return nil
	}
	pid := os.Getpid()
	record := func(ctx context.Context, table string, p num) error {
		info, _ := signalrt.TaskFromContext(ctx)
		_, err := pool.Exec(context.WithoutCancel(ctx), "INSERT INTO "+table+" (n, attempt, pid) VALUES ($1, $2, $3)", p.N, info.Attempt, pid)
		return err
	}
	never := make(chan struct{})
	return signalrt.Table{
		{Key: childKey, Signal: "test", Handle: signalrt.Typed(func(ctx context.Context, p num) error { return record(ctx, "ran", p) })},
		{Key: "hang", Signal: "test", Handle: signalrt.Typed(func(ctx context.Context, p num) error {
			if err := record(ctx, "started", p); err != nil {
				return err
			}
			if mode == "hang" {
				<-never
			}
			return record(ctx, "finished", p)
		})},
	}
}

// TestReceiverThatIgnoresItsTimeoutIsAbandoned runs a worker process of 2
// slots whose "hang" receiver never returns and ignores its context. Once
// both slots hold such a receiver past its timeout plus the grace, the
// worker abandons them: their attempts fail and are retried, here by a
// second process whose receiver returns; the first process meanwhile runs
// other tasks on both slots; and it still shuts down at once, without
// waiting out its shutdown grace for the stuck goroutines.
func TestReceiverThatIgnoresItsTimeoutIsAbandoned(t *testing.T) {
	// Not parallel: child processes are heavy on a small shared machine.
	pool, url := processSetup(t)
	ctx := context.Background()
	hang := []signalrt.Route{{Receiver: "hang", Timeout: 200 * time.Millisecond}}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for n := 1; n <= 2; n++ {
			if err := signalrt.Send(ctx, tx, "test", hang, num{N: n}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stuck := startChild(t, url, "hang", "stuck", time.Second, childConcEnv+"=2,4")
	waitProcesses(t, "both slots to hold a hanging receiver", []*child{stuck}, func() bool {
		return queryInt(t, pool, "SELECT count(DISTINCT n) FROM started") == 2
	})
	// Both slots are stuck: only abandoning the receivers frees them.
	const others = 20
	insertTasks(t, pool, childKey, 1, others)
	waitProcesses(t, "the stuck process to run the other tasks", []*child{stuck}, func() bool {
		return queryInt(t, pool, "SELECT count(DISTINCT n) FROM ran") == others
	})
	// The abandoned attempts failed with an error that says why, and the
	// tasks wait for their retry. A process whose receiver returns runs
	// them (the stuck process may take them again first, and abandon them
	// again).
	healthy := startChild(t, url, "nohang", "healthy", time.Second)
	procs := []*child{stuck, healthy}
	waitProcesses(t, "the hanging tasks to finish in the healthy process", procs, func() bool {
		return queryInt(t, pool, "SELECT count(DISTINCT n) FROM finished") == 2
	})
	waitProcesses(t, "their successes to be recorded", procs, func() bool {
		return queryInt(t, pool, "SELECT count(*) FROM signal_task WHERE receiver = 'hang' AND state = 'succeeded'") == 2
	})
	ts, err := listTasks(t, pool, signalrt.TaskQuery{Receiver: "hang"})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range ts {
		if len(task.Errors) == 0 || !strings.Contains(task.Errors[0].Error, "receiver did not return within its timeout of 200ms plus 1s: abandoned") || task.Errors[0].Worker != "stuck" {
			t.Errorf("task %d: errors %+v; want the abandoned attempt of worker stuck first", task.ID, task.Errors)
		}
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM finished WHERE pid = $1", stuck.cmd.Process.Pid); n != 0 {
		t.Errorf("%d hanging receivers finished in the stuck process", n)
	}
	stuck.stop(t)
	healthy.stop(t)
	if out := stuck.out.String(); strings.Contains(out, "grace period over") {
		t.Errorf("the stuck process waited out its shutdown grace for abandoned receivers:\n%s", out)
	}
	if s := states(t, pool); len(s) != 1 || s[signalrt.StateSucceeded] != others+2 {
		t.Errorf("tasks per state %v, want all %d succeeded", s, others+2)
	}
}

// TestAbandonedReceiversAtTheCapStopTheQueue checks Config.MaxAbandoned: a
// queue whose abandoned receivers, still running, reach the cap claims
// nothing more and the worker reports itself unhealthy in the registry;
// once they return, it is healthy again and claims.
func TestAbandonedReceiversAtTheCapStopTheQueue(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	rec := newRecorder()
	release := make(chan struct{})
	stuck := rec.handler("stuck", func(ctx context.Context, p num) error {
		<-release // ignores ctx
		return nil
	})
	cfg := fastConfig()
	cfg.Name = "capped"
	cfg.Concurrency, cfg.MaxAbandoned = 2, 1
	cfg.Lease = 600 * time.Millisecond // heartbeat and abandon grace
	send(t, pool, []signalrt.Route{{Receiver: "stuck", Timeout: 100 * time.Millisecond, MaxAttempts: 1}}, 1)
	_, stop := startWorker(t, pool, signalrt.Table{stuck, rec.handler("ok", nil)}, cfg)
	waitFor(t, "the worker to report itself unhealthy", func() bool {
		return queryText(t, pool, "SELECT coalesce((SELECT unhealthy FROM signal_worker WHERE name = 'capped'), '')") ==
			"queue default: 1 abandoned receivers still running (Config.MaxAbandoned 1); not claiming"
	})
	if task := onlyTask(t, pool, "stuck"); task.State != signalrt.StateDead || len(task.Errors) != 1 || !strings.Contains(task.Errors[0].Error, "abandoned") {
		t.Errorf("abandoned task on its last attempt: %+v; want dead with the abandonment error", task)
	}
	send(t, pool, routes("ok"), 2)
	time.Sleep(300 * time.Millisecond) // 6 poll intervals; not a timing assertion
	if n := rec.count("ok"); n != 0 {
		t.Fatalf("a capped queue ran %d tasks", n)
	}
	close(release)
	waitFor(t, "the queue to claim again", func() bool { return rec.count("ok") == 1 })
	waitFor(t, "the worker to be healthy again", func() bool {
		return queryText(t, pool, "SELECT coalesce((SELECT unhealthy FROM signal_worker WHERE name = 'capped'), '')") == ""
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestSnoozeRunsAgainWithoutCountingAnAttempt checks that a receiver that
// returns Snooze runs again after the delay, on the same attempt number and
// with no error recorded.
func TestSnoozeRunsAgainWithoutCountingAnAttempt(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	rec := newRecorder()
	var attempts []int
	snoozy := rec.handler("snoozy", func(ctx context.Context, p num) error {
		info, _ := signalrt.TaskFromContext(ctx)
		attempts = append(attempts, info.Attempt)
		if len(attempts) < 3 {
			return signalrt.Snooze(20 * time.Millisecond)
		}
		return nil
	})
	send(t, pool, []signalrt.Route{{Receiver: "snoozy", MaxAttempts: 1}}, 1)
	_, stop := startWorker(t, pool, signalrt.Table{snoozy}, fastConfig())
	waitFor(t, "the task to succeed", func() bool { return onlyTask(t, pool, "snoozy").State == signalrt.StateSucceeded })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	task := onlyTask(t, pool, "snoozy")
	if rec.count("snoozy") != 3 || len(task.Errors) != 0 || task.Attempt != 1 {
		t.Errorf("calls %d, task %+v; want 3 calls, all attempt 1 (of 1), no errors", rec.count("snoozy"), task)
	}
	for _, a := range attempts {
		if a != 1 {
			t.Errorf("attempts seen %v, want all 1", attempts)
			break
		}
	}
}
