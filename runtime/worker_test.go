package signalrt_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
)

func TestSendIsAtomicWithTheTransaction(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	pgtest.Exec(t, pool, "CREATE TABLE orders (id bigint PRIMARY KEY)")

	// Rolled back: neither the order nor any task exists.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, tx, "INSERT INTO orders VALUES (1)")
	if err := signalrt.Send(ctx, tx, "test", routes("a", "b", "c"), num{N: 1}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := states(t, pool); len(got) != 0 {
		t.Fatalf("after rollback: tasks %v, want none", got)
	}

	// Committed: one task per receiver, each with the payload.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		pgtest.Exec(t, tx, "INSERT INTO orders VALUES (2)")
		return signalrt.Send(ctx, tx, "test", []signalrt.Route{
			{Receiver: "a"}, {Receiver: "b", Queue: "other", MaxAttempts: 3, Timeout: time.Second}, {Receiver: "c"},
		}, num{N: 2})
	})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := listTasks(t, pool, signalrt.TaskQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 {
		t.Fatalf("after commit: %d tasks, want 3", len(ts))
	}
	for _, task := range ts {
		if task.State != signalrt.StateAvailable || task.Signal != "test" || string(task.Payload) != `{"n":2}` {
			t.Errorf("task %+v: want available test task with payload {\"n\":2} (as encoding/json wrote it)", task)
		}
	}
	if b := onlyTask(t, pool, "b"); b.Queue != "other" || b.MaxAttempts != 3 {
		t.Errorf("task b: queue %q max attempts %d, want other and 3", b.Queue, b.MaxAttempts)
	}
	if a := onlyTask(t, pool, "a"); a.Queue != signalrt.DefaultQueue || a.MaxAttempts != signalrt.DefaultMaxAttempts {
		t.Errorf("task a: queue %q max attempts %d, want defaults", a.Queue, a.MaxAttempts)
	}
}

func TestFailuresStayWithTheirOwnTask(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	rec := newRecorder()
	table := signalrt.Table{
		rec.handler("ok", nil),
		rec.handler("err", func(context.Context, num) error { return errBoom }),
		rec.handler("panic", func(context.Context, num) error { panic("receiver exploded") }),
		rec.handler("slow", func(ctx context.Context, _ num) error { <-ctx.Done(); return ctx.Err() }),
	}
	send(t, pool, []signalrt.Route{
		{Receiver: "ok"}, {Receiver: "err", MaxAttempts: 1}, {Receiver: "panic", MaxAttempts: 1},
		{Receiver: "slow", MaxAttempts: 1, Timeout: 50 * time.Millisecond},
	}, 7)
	_, stop := startWorker(t, pool, table, fastConfig())
	waitFor(t, "all four tasks to finish", func() bool {
		s := states(t, pool)
		return s[signalrt.StateSucceeded] == 1 && s[signalrt.StateDead] == 3
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := onlyTask(t, pool, "ok"); got.State != signalrt.StateSucceeded || len(got.Errors) != 0 {
		t.Errorf("ok: %+v, want succeeded without errors", got)
	}
	for key, want := range map[string]string{
		"err":   "boom",
		"panic": "panic: receiver exploded",
		"slow":  "timed out after 50ms: context deadline exceeded",
	} {
		task := onlyTask(t, pool, key)
		if task.State != signalrt.StateDead || len(task.Errors) != 1 || !strings.HasPrefix(task.Errors[0].Error, want) {
			t.Errorf("%s: state %s, errors %+v; want dead with one error starting %q", key, task.State, task.Errors, want)
		}
	}
	// The panic's stack points at the receiver.
	if p := onlyTask(t, pool, "panic"); !strings.Contains(p.Errors[0].Error, "worker_test.go") {
		t.Errorf("panic error has no stack through the receiver:\n%s", p.Errors[0].Error)
	}
}

func TestRetriesBackOffThenDieWithHistory(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	rec := newRecorder()
	var delays []int
	cfg := fastConfig()
	cfg.Backoff = func(attempt int) time.Duration {
		delays = append(delays, attempt) // called from one executor at a time: one task
		return time.Duration(attempt) * 20 * time.Millisecond
	}
	table := signalrt.Table{rec.handler("flaky", func(ctx context.Context, _ num) error {
		info, _ := signalrt.TaskFromContext(ctx)
		return errors.New("attempt " + string(rune('0'+info.Attempt)) + " failed")
	})}
	send(t, pool, []signalrt.Route{{Receiver: "flaky", MaxAttempts: 4}}, 1)
	_, stop := startWorker(t, pool, table, cfg)
	waitFor(t, "the task to die", func() bool { return states(t, pool)[signalrt.StateDead] == 1 })
	stop()

	task := onlyTask(t, pool, "flaky")
	if rec.count("flaky") != 4 || task.Attempt != 4 {
		t.Fatalf("ran %d times, attempt %d; want 4 and 4", rec.count("flaky"), task.Attempt)
	}
	if len(task.Errors) != 4 {
		t.Fatalf("error history %+v, want 4 entries", task.Errors)
	}
	for i, e := range task.Errors {
		want := "attempt " + string(rune('1'+i)) + " failed"
		if e.Attempt != i+1 || e.Error != want || e.Worker == "" {
			t.Errorf("history[%d] = %+v, want attempt %d error %q", i, e, i+1, want)
		}
		if i > 0 {
			// The retry waited at least the backoff the worker asked for.
			gap := e.At.Sub(task.Errors[i-1].At)
			if min := time.Duration(i) * 20 * time.Millisecond; gap < min {
				t.Errorf("retry %d ran %s after the previous failure, before its backoff of %s", i, gap, min)
			}
		}
	}
	if len(delays) != 3 || delays[0] != 1 || delays[2] != 3 {
		t.Errorf("backoff asked for attempts %v, want [1 2 3] (none after the last)", delays)
	}
}

func TestPermanentErrorDiesAtOnce(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	rec := newRecorder()
	table := signalrt.Table{rec.handler("perm", func(context.Context, num) error {
		return signalrt.Permanent(errors.New("order 1 does not exist"))
	})}
	send(t, pool, routes("perm"), 1)
	st, err := (mustWorker(t, pool, table, fastConfig())).RunUntilIdle(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	task := onlyTask(t, pool, "perm")
	if st.Dead != 1 || rec.count("perm") != 1 || task.State != signalrt.StateDead || task.Errors[0].Error != "order 1 does not exist" {
		t.Fatalf("stats %+v, calls %d, task %+v; want one call and a dead task with the error", st, rec.count("perm"), task)
	}
}

func TestUnknownReceiverAndBadPayloadEndDeadAndCanBeRetried(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	rec := newRecorder()
	send(t, pool, routes("gone"), 1)
	// A payload that no longer decodes: n was an int, the sender sent a string.
	if err := signalrt.Send(ctx, pool, "test", routes("known"), map[string]string{"n": "seven"}); err != nil {
		t.Fatal(err)
	}
	known := signalrt.Table{rec.handler("known", nil)}
	st, err := signalrt.RunUntilIdle(ctx, pool, known)
	if err != nil {
		t.Fatal(err)
	}
	// No other worker can decode the payload: it is dead at once. The
	// unknown receiver's task waits for a worker that knows it.
	if st.Dead != 1 || st.Succeeded != 0 || rec.count("known") != 0 {
		t.Fatalf("stats %+v, calls %d; want 1 dead, receiver not called", st, rec.count("known"))
	}
	bad := onlyTask(t, pool, "known")
	if bad.State != signalrt.StateDead || !strings.Contains(bad.Errors[0].Error, "payload does not decode into signalrt_test.num") {
		t.Errorf("bad payload: %+v", bad)
	}
	if g := onlyTask(t, pool, "gone"); g.State != signalrt.StateAvailable || len(g.Errors) != 0 {
		t.Fatalf("unknown receiver after RunUntilIdle: %+v; want it left available", g)
	}

	// Once it has been due for the orphan grace period, during which no
	// worker whose table has "gone" ran, a worker's maintenance ends it dead.
	pgtest.Exec(t, pool, "UPDATE signal_task SET run_at = now() - interval '1 minute' WHERE receiver = 'gone'")
	cfg := fastConfig()
	cfg.OrphanGrace = 10 * time.Second
	_, stop := startWorker(t, pool, known, cfg)
	waitFor(t, "the orphan to end dead", func() bool { return onlyTask(t, pool, "gone").State == signalrt.StateDead })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	gone := onlyTask(t, pool, "gone")
	if len(gone.Errors) != 1 || !strings.Contains(gone.Errors[0].Error, "unknown receiver gone (signal test): no worker that has this key in its dispatch table and runs its queue ran during the last 10s") {
		t.Errorf("unknown receiver: %+v", gone)
	}

	// After a deploy that knows "gone", retrying runs it.
	if n, err := signalrt.Retry(ctx, pool, gone.ID); err != nil || n != 1 {
		t.Fatalf("Retry: %d, %v", n, err)
	}
	st, err = mustWorker(t, pool, signalrt.Table{rec.handler("gone", nil)}, fastConfig()).RunUntilIdle(ctx)
	if err != nil || st.Succeeded != 1 || rec.count("gone") != 1 {
		t.Fatalf("after retry: stats %+v, err %v, calls %d", st, err, rec.count("gone"))
	}
	if g := onlyTask(t, pool, "gone"); g.State != signalrt.StateSucceeded || len(g.Errors) != 1 {
		t.Errorf("retried task %+v: want succeeded with its old error kept", g)
	}
}

func TestDelayedTasksWait(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	rec := newRecorder()
	table := signalrt.Table{rec.handler("later", nil), rec.handler("at", nil)}
	at := time.Now().Add(2 * time.Hour).Truncate(time.Microsecond)
	send(t, pool, routes("later"), 1, signalrt.After(time.Hour))
	send(t, pool, routes("at"), 2, signalrt.At(at))
	st, err := signalrt.RunUntilIdle(ctx, pool, table)
	if err != nil || st != (signalrt.RunStats{}) {
		t.Fatalf("before the delay: stats %+v, err %v; want nothing run", st, err)
	}
	if task := onlyTask(t, pool, "later"); task.RunAt.Before(time.Now().Add(59 * time.Minute)) {
		t.Errorf("After(1h) task runs at %s", task.RunAt)
	}
	atTask := onlyTask(t, pool, "at")
	if !atTask.RunAt.Equal(at) {
		t.Errorf("At(%s) task runs at %s", at, atTask.RunAt)
	}
	// Once due, it runs: made due now rather than waited for.
	if n, err := signalrt.RunNow(ctx, pool, atTask.ID); err != nil || n != 1 {
		t.Fatalf("RunNow: %d, %v", n, err)
	}
	if st, err := signalrt.RunUntilIdle(ctx, pool, table); err != nil || st.Succeeded != 1 || rec.count("at") != 1 {
		t.Fatalf("once due: stats %+v, err %v, runs of the At task %d; want it run once", st, err, rec.count("at"))
	}
	if rec.count("later") != 0 {
		t.Fatal("the task delayed by an hour ran")
	}
}

func TestExpiredLeaseIsRescuedAndRunAgain(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	rec := newRecorder()
	send(t, pool, routes("r"), 1)
	// A worker claims the task and vanishes: claim it with a lease that
	// expires at once, as a crashed worker would leave it.
	pgtest.Exec(t, pool, "UPDATE signal_task SET state = 'running', attempt = 1, worker = 'crashed', lease_until = now() - interval '1 second'")
	cfg := fastConfig()
	cfg.Lease = 300 * time.Millisecond // rescue runs every Lease/2
	_, stop := startWorker(t, pool, signalrt.Table{rec.handler("r", nil)}, cfg)
	waitFor(t, "the rescued task to succeed", func() bool { return states(t, pool)[signalrt.StateSucceeded] == 1 })
	stop()
	task := onlyTask(t, pool, "r")
	if rec.count("r") != 1 || task.Attempt != 2 || len(task.Errors) != 1 || !strings.Contains(task.Errors[0].Error, "lease expired: worker crashed") {
		t.Fatalf("calls %d, task %+v; want one run as attempt 2 after a lease-expired error", rec.count("r"), task)
	}
	_ = ctx
}

func TestLongReceiverKeepsItsLease(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	var runs atomic.Int32
	table := signalrt.Table{{Key: "long", Queue: signalrt.DefaultQueue, Handle: func(ctx context.Context, _ []byte) error {
		runs.Add(1)
		time.Sleep(1500 * time.Millisecond) // five leases long
		return nil
	}}}
	send(t, pool, routes("long"), 1)
	cfg := fastConfig()
	cfg.Lease = 300 * time.Millisecond
	_, stop := startWorker(t, pool, table, cfg)
	// A second worker rescues anything whose lease runs out.
	_, stop2 := startWorker(t, pool, table, cfg)
	waitFor(t, "the long task to succeed", func() bool { return states(t, pool)[signalrt.StateSucceeded] == 1 })
	stop()
	stop2()
	if n := runs.Load(); n != 1 {
		t.Fatalf("the long receiver ran %d times; its lease was not extended", n)
	}
}

func TestGracefulShutdownGivesUnfinishedTasksBack(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	started := make(chan struct{}, 10)
	table := signalrt.Table{
		{Key: "quick", Queue: signalrt.DefaultQueue, Handle: func(ctx context.Context, _ []byte) error {
			started <- struct{}{}
			time.Sleep(100 * time.Millisecond) // finishes within the grace period
			return nil
		}},
		{Key: "stuck", Queue: signalrt.DefaultQueue, Handle: func(ctx context.Context, _ []byte) error {
			started <- struct{}{}
			<-ctx.Done() // runs until cancelled
			return ctx.Err()
		}},
	}
	send(t, pool, routes("quick", "stuck"), 1)
	cfg := fastConfig()
	cfg.ShutdownGrace = 500 * time.Millisecond
	_, stop := startWorker(t, pool, table, cfg)
	<-started
	<-started
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	quick, stuck := onlyTask(t, pool, "quick"), onlyTask(t, pool, "stuck")
	if quick.State != signalrt.StateSucceeded {
		t.Errorf("quick: state %s, want succeeded (it finished within the grace period)", quick.State)
	}
	if stuck.State != signalrt.StateAvailable || stuck.Attempt != 0 || len(stuck.Errors) != 0 {
		t.Errorf("stuck: %+v; want given back: available, attempt 0, no error", stuck)
	}
}

func TestNotifyWakesAnIdleWorker(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	rec := newRecorder()
	cfg := fastConfig()
	cfg.PollInterval = time.Hour // only a NOTIFY can wake it
	cfg.HotWindow = time.Nanosecond
	w, _ := startWorker(t, pool, signalrt.Table{rec.handler("r", nil)}, cfg)
	// Wait until the worker listens and has gone idle: its first claims are done.
	time.Sleep(300 * time.Millisecond)
	// Every send notifies, so that this one is not folded into another
	// test's NOTIFY (the interval is per process).
	t.Cleanup(signalrt.SetNotifyInterval(0))
	send(t, pool, routes("r"), 1)
	waitFor(t, "the notified worker to run the task", func() bool { return rec.count("r") == 1 })
	_ = w
}

func TestPollOnlyWorkerFindsTasks(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	rec := newRecorder()
	cfg := fastConfig()
	cfg.PollOnly = true
	startWorker(t, pool, signalrt.Table{rec.handler("r", nil)}, cfg)
	for i := range 50 {
		send(t, pool, routes("r"), i)
	}
	waitFor(t, "50 tasks", func() bool { return states(t, pool)[signalrt.StateSucceeded] == 50 })
}

func TestPerQueueConcurrencyLimit(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	var now, peak atomic.Int32
	h := func(ctx context.Context, _ []byte) error {
		n := now.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		now.Add(-1)
		return nil
	}
	table := signalrt.Table{{Key: "r", Queue: "narrow", Handle: h}}
	for i := range 30 {
		send(t, pool, []signalrt.Route{{Receiver: "r", Queue: "narrow"}}, i)
	}
	cfg := fastConfig()
	cfg.Queues = []signalrt.QueueConfig{{Name: "narrow", Concurrency: 3}}
	startWorker(t, pool, table, cfg)
	waitFor(t, "30 tasks", func() bool { return states(t, pool)[signalrt.StateSucceeded] == 30 })
	if p := peak.Load(); p != 3 {
		t.Fatalf("peak concurrency %d, want 3", p)
	}
}

func TestSucceededTasksAreDeletedByDefault(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	rec := newRecorder()
	send(t, pool, []signalrt.Route{{Receiver: "ok"}, {Receiver: "bad", MaxAttempts: 1}}, 1)
	table := signalrt.Table{rec.handler("ok", nil), rec.handler("bad", func(context.Context, num) error { return errBoom })}

	// RunUntilIdle and a running worker both use the default Retention.
	st, err := signalrt.RunUntilIdle(ctx, pool, table)
	if err != nil || st.Succeeded != 1 || st.Dead != 1 {
		t.Fatalf("RunUntilIdle: stats %+v, err %v; want 1 succeeded and 1 dead", st, err)
	}
	if s := states(t, pool); len(s) != 1 || s[signalrt.StateDead] != 1 {
		t.Fatalf("after RunUntilIdle: states %v; want the dead task only", s)
	}
	for i := range 20 {
		send(t, pool, routes("ok"), i)
	}
	cfg := fastConfig()
	cfg.Retention = 0
	startWorker(t, pool, table, cfg)
	waitFor(t, "the worker to finish 20 tasks", func() bool { return rec.count("ok") == 21 && states(t, pool)[signalrt.StateRunning] == 0 })
	waitFor(t, "the succeeded tasks to be deleted", func() bool {
		s := states(t, pool)
		return len(s) == 1 && s[signalrt.StateDead] == 1
	})
}

func TestRetentionDeletesOldSucceededTasks(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	rec := newRecorder()
	for i := range 3 {
		send(t, pool, routes("r"), i)
	}
	send(t, pool, []signalrt.Route{{Receiver: "bad", MaxAttempts: 1}}, 9)
	fail := rec.handler("bad", func(context.Context, num) error { return errors.New("boom") })
	if _, err := signalrt.RunUntilIdle(context.Background(), pool, signalrt.Table{rec.handler("r", nil), fail}); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, pool, "UPDATE signal_task SET finished_at = now() - interval '2 hours'")
	cfg := fastConfig()
	cfg.Retention = time.Hour
	startWorker(t, pool, signalrt.Table{rec.handler("r", nil)}, cfg)
	waitFor(t, "retention to delete succeeded tasks", func() bool { return states(t, pool)[signalrt.StateSucceeded] == 0 })
	if s := states(t, pool); s[signalrt.StateDead] != 1 {
		t.Fatalf("states %v: the dead task must be kept", s)
	}
}

func TestInlineRunsReceiversSynchronously(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	table := signalrt.Table{rec.handler("a", nil), rec.handler("b", func(context.Context, num) error { return errBoom })}
	ctx := signalrt.WithInline(context.Background(), table)
	// No database at all: db is nil.
	err := signalrt.Send(ctx, nil, "test", routes("a", "b", "c"), num{N: 5})
	if rec.count("a") != 1 || rec.count("b") != 1 {
		t.Fatalf("calls a=%d b=%d, want 1 each", rec.count("a"), rec.count("b"))
	}
	if err == nil || !strings.Contains(err.Error(), "receiver b: boom") || !strings.Contains(err.Error(), `unknown receiver "c"`) {
		t.Fatalf("err = %v; want receiver b's error and unknown receiver c", err)
	}
}

func TestMigrateIsIdempotentAndSafeConcurrently(t *testing.T) {
	t.Parallel()
	schema, url := pgtest.Schema(t) // fresh and empty: nothing migrated yet
	ctx := context.Background()
	const racers = 6
	pools := make([]*pgxpool.Pool, racers)
	for i := range pools {
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		// Connect now, so that the Migrate calls below start together.
		if err := pool.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		pools[i] = pool
	}
	start := make(chan struct{})
	errs := make(chan error, racers)
	for _, pool := range pools {
		go func() {
			<-start
			errs <- signalrt.Migrate(ctx, pool)
		}()
	}
	close(start)
	for range racers {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Migrate on a fresh schema: %v", err)
		}
	}
	// Once more on the migrated schema: nothing to do.
	if err := signalrt.Migrate(ctx, pools[0]); err != nil {
		t.Fatalf("Migrate on a migrated schema: %v", err)
	}

	ms, err := signalrt.ListMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, m := range ms {
		want = append(want, fmt.Sprintf("%d %s", m.Version, m.Name))
	}
	rows, err := pools[0].Query(ctx, "SELECT version, name FROM signal_schema_version ORDER BY version, name")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d %s", v, name))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("signal_schema_version rows (-want +got):\n%s", diff)
	}
	var tables int
	err = pools[0].QueryRow(ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = 'signal_task' AND c.relkind IN ('r', 'p')`, schema).Scan(&tables)
	if err != nil {
		t.Fatal(err)
	}
	if tables != 1 {
		t.Fatalf("schema %s has %d tables signal_task, want 1", schema, tables)
	}
	// And it is usable.
	send(t, pools[0], routes("a", "b"), 1)
	if s := states(t, pools[0]); s[signalrt.StateAvailable] != 2 {
		t.Fatalf("after a send: tasks per state %v, want 2 available", s)
	}
}

func mustWorker(t testing.TB, pool *pgxpool.Pool, table signalrt.Table, cfg signalrt.Config) *signalrt.Worker {
	t.Helper()
	w, err := signalrt.NewWorker(pool, table, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestBacklogDoesNotHideTasksBehindIt checks that a worker working through
// a backlog (claiming after its last claimed task, see ClaimTasks)
// still finds a task that becomes due behind that point: one whose run_at
// is older than the backlog's, as a long sender transaction's would be. It
// must run while the backlog is still being worked on, not after it.
func TestBacklogDoesNotHideTasksBehindIt(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	const backlog = 50_000
	insertTasks(t, pool, "backlog", 1, backlog)
	var ran, ranBeforeLate atomic.Int64
	ranBeforeLate.Store(-1)
	table := signalrt.Table{
		{Key: "backlog", Queue: signalrt.DefaultQueue, Handle: func(context.Context, []byte) error {
			time.Sleep(time.Millisecond) // 50,000 tasks, 10 at a time: 5s at least
			ran.Add(1)
			return nil
		}},
		{Key: "late", Queue: signalrt.DefaultQueue, Handle: func(context.Context, []byte) error {
			ranBeforeLate.Store(ran.Load())
			return nil
		}},
	}
	cfg := fastConfig()
	cfg.Concurrency = 10
	startWorker(t, pool, table, cfg)
	waitFor(t, "the worker to work on the backlog", func() bool { return ran.Load() > 1000 })
	send(t, pool, routes("late"), 1, signalrt.At(time.Now().Add(-time.Hour)))
	waitFor(t, "the late task to run", func() bool { return ranBeforeLate.Load() >= 0 })
	if n := ranBeforeLate.Load(); n >= backlog {
		t.Fatalf("the late task ran after the whole backlog (%d tasks): the claim cursor hid it", n)
	}
}
