//go:build unix

package signalrt_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
)

// The tests in this file run workers in real child processes: the test
// binary re-executes itself with childModeEnv set, and TestMain runs a
// worker instead of the tests. The child's receivers record what they do in
// tables of the test's schema (see recordTables), in statements of their
// own, so the parent can check what ran without relying on the task rows.
const (
	childModeEnv  = "SIGNALS_TEST_CHILD_MODE"  // block, finish or count (see childHandler)
	childURLEnv   = "SIGNALS_TEST_CHILD_URL"   // connection string with the test's search_path
	childNameEnv  = "SIGNALS_TEST_CHILD_NAME"  // Config.Name of the child's worker
	childLeaseEnv = "SIGNALS_TEST_CHILD_LEASE" // Config.Lease of the child's worker
	childGraceEnv = "SIGNALS_TEST_CHILD_GRACE" // Config.OrphanGrace of the child's worker, if set
	childConcEnv  = "SIGNALS_TEST_CHILD_CONC"  // Config.Concurrency and Config.MaxAbandoned of the child's worker, if set: "2" or "2,4"
)

// childKey is the receiver key that child workers run.
const childKey = "job"

// processWait bounds every wait on child processes: a correctness bound on a
// shared, slow machine, not a timing assertion.
const processWait = 2 * time.Minute

// runChild is the child process: a worker that runs until SIGINT/SIGTERM
// (graceful shutdown, exit 0), until its parent goes away (stdin closes), or
// until it is killed.
func runChild(mode string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "child worker: "+format+"\n", args...)
		return 2
	}
	go func() {
		// The parent holds our stdin open; EOF means it died without
		// stopping us. Do not outlive it.
		_, _ = io.Copy(io.Discard, os.Stdin)
		fmt.Fprintln(os.Stderr, "child worker: parent went away; exiting")
		os.Exit(3)
	}()
	lease, err := time.ParseDuration(os.Getenv(childLeaseEnv))
	if err != nil {
		return fail("%s: %v", childLeaseEnv, err)
	}
	pool, err := pgxpool.New(ctx, os.Getenv(childURLEnv))
	if err != nil {
		return fail("%v", err)
	}
	defer pool.Close()
	table, err := childTable(mode, pool)
	if err != nil {
		return fail("%v", err)
	}
	var grace time.Duration
	if g := os.Getenv(childGraceEnv); g != "" {
		if grace, err = time.ParseDuration(g); err != nil {
			return fail("%s: %v", childGraceEnv, err)
		}
	}
	var conc, maxAbandoned int
	if c := os.Getenv(childConcEnv); c != "" {
		cs, ms, _ := strings.Cut(c, ",")
		if conc, err = strconv.Atoi(cs); err != nil {
			return fail("%s: %v", childConcEnv, err)
		}
		if ms != "" {
			if maxAbandoned, err = strconv.Atoi(ms); err != nil {
				return fail("%s: %v", childConcEnv, err)
			}
		}
	}
	name := os.Getenv(childNameEnv)
	cfg := signalrt.Config{
		Concurrency:  conc,
		MaxAbandoned: maxAbandoned,
		Name:         name,
		Lease:        lease,
		PollInterval: 50 * time.Millisecond,
		Retention:    time.Hour, // keep succeeded rows for the parent to inspect
		OrphanGrace:  grace,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if err := childPoolerConfig(&cfg); err != nil {
		return fail("%v", err)
	}
	w, err := signalrt.NewWorker(pool, table, cfg)
	if err != nil {
		return fail("%v", err)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO ready (name, pid) VALUES ($1, $2)", name, os.Getpid()); err != nil {
		return fail("recording readiness: %v", err)
	}
	if err := w.Run(ctx); err != nil {
		return fail("Run: %v", err)
	}
	return 0
}

// childTable returns the dispatch table of a child in mode: one receiver,
// childKey, for the modes of childHandler; a version's table for the modes
// of deployTable.
func childTable(mode string, pool *pgxpool.Pool) (signalrt.Table, error) {
	if t := deployTable(mode, pool); t != nil {
		return t, nil
	}
	if t := hangTable(mode, pool); t != nil {
		return t, nil
	}
	if t := limitTable(mode, pool); t != nil {
		return t, nil
	}
	if t := fanoutTable(mode, pool); t != nil {
		return t, nil
	}
	handle, err := childHandler(mode, pool)
	if err != nil {
		return nil, err
	}
	return signalrt.Table{{Key: childKey, Signal: "test", Queue: signalrt.DefaultQueue, Handle: handle}}, nil
}

// childHandler returns the receiver a child runs in mode:
//
//   - block: record the start in started, then block until the context ends
//     (the parent kills the process meanwhile);
//   - finish: record the start in started and the end in finished;
//   - count: record the run in ran;
//   - cancel: record the start in started, block until the context ends,
//     and record in finished if it ended because the task was cancelled.
func childHandler(mode string, pool *pgxpool.Pool) (signalrt.Handler, error) {
	pid := os.Getpid()
	record := func(ctx context.Context, table string, p num) error {
		info, _ := signalrt.TaskFromContext(ctx)
		_, err := pool.Exec(ctx, "INSERT INTO "+table+" (n, attempt, pid) VALUES ($1, $2, $3)", p.N, info.Attempt, pid)
		return err
	}
	switch mode {
	case "block":
		return signalrt.Typed(func(ctx context.Context, p num) error {
			if err := record(ctx, "started", p); err != nil {
				return err
			}
			<-ctx.Done()
			return ctx.Err()
		}), nil
	case "finish":
		return signalrt.Typed(func(ctx context.Context, p num) error {
			if err := record(ctx, "started", p); err != nil {
				return err
			}
			return record(ctx, "finished", p)
		}), nil
	case "count":
		return signalrt.Typed(func(ctx context.Context, p num) error {
			return record(ctx, "ran", p)
		}), nil
	case "cancel":
		return signalrt.Typed(func(ctx context.Context, p num) error {
			if err := record(ctx, "started", p); err != nil {
				return err
			}
			<-ctx.Done()
			if errors.Is(context.Cause(ctx), signalrt.ErrCancelled) {
				return record(context.WithoutCancel(ctx), "finished", p)
			}
			return ctx.Err()
		}), nil
	}
	return nil, fmt.Errorf("unknown mode %q; valid modes are block, cancel, count, finish, v1, v2, hang, nohang, fanout", mode)
}

// processSetup returns a migrated pool on a fresh schema, its connection
// string for child processes, and the tables the children record into.
func processSetup(t *testing.T) (*pgxpool.Pool, string) {
	t.Helper()
	_, url := pgtest.Schema(t)
	pool := pgtest.PoolFor(t, url)
	for _, table := range []string{"started", "finished", "ran"} {
		pgtest.Exec(t, pool, "CREATE TABLE "+table+" (n integer NOT NULL, attempt integer NOT NULL, pid integer NOT NULL)")
	}
	pgtest.Exec(t, pool, "CREATE TABLE ready (name text NOT NULL, pid integer NOT NULL)")
	return pool, url
}

// child is a worker running in a child process.
type child struct {
	name  string
	cmd   *exec.Cmd
	stdin io.Closer
	out   *syncBuffer
	done  chan struct{} // closed when the process has exited
	err   error         // cmd.Wait's result, set before done is closed
}

// startChild starts a worker process in mode (see childHandler) on url. The
// process is killed when the test ends if it still runs, and its output is
// logged if the test failed.
func startChild(t *testing.T, url, mode, name string, lease time.Duration, env ...string) *child {
	t.Helper()
	c := &child{name: name, out: &syncBuffer{}, done: make(chan struct{})}
	// -test.run=^$ keeps a child from running tests should TestMain ever
	// fail to see its mode.
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(os.Environ(),
		childModeEnv+"="+mode, childURLEnv+"="+url, childNameEnv+"="+name, childLeaseEnv+"="+lease.String())
	c.cmd.Env = append(c.cmd.Env, env...)
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	stdin, err := c.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.stdin = stdin
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting child worker %s: %v", name, err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		if !c.exited() {
			_ = c.cmd.Process.Kill()
			<-c.done
		}
		_ = c.stdin.Close()
		if t.Failed() {
			t.Logf("output of child worker %s (%v):\n%s", c.name, c.err, c.out.String())
		}
	})
	return c
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits until the process is gone.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if c.exited() {
		t.Fatalf("child worker %s exited before it was killed: %v\n%s", c.name, c.err, c.out.String())
	}
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("killing child worker %s: %v", c.name, err)
	}
	c.wait(t)
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child worker %s ended with %v, want killed by SIGKILL", c.name, c.cmd.ProcessState)
	}
}

// stop asks for a graceful shutdown (SIGINT) and requires a clean exit.
func (c *child) stop(t *testing.T) {
	t.Helper()
	if c.exited() {
		t.Fatalf("child worker %s exited before it was stopped: %v\n%s", c.name, c.err, c.out.String())
	}
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("stopping child worker %s: %v", c.name, err)
	}
	c.wait(t)
	if c.err != nil {
		t.Fatalf("child worker %s: %v after a graceful stop, want exit status 0\n%s", c.name, c.err, c.out.String())
	}
}

func (c *child) wait(t *testing.T) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(processWait):
		t.Fatalf("child worker %s still runs %s after it was signalled\n%s", c.name, processWait, c.out.String())
	}
}

// waitProcesses polls cond until it holds, failing the test after
// processWait, or at once if one of the children exits meanwhile.
func waitProcesses(t *testing.T, what string, children []*child, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(processWait)
	for !cond() {
		for _, c := range children {
			if c.exited() {
				t.Fatalf("waiting for %s: child worker %s exited: %v\n%s", what, c.name, c.err, c.out.String())
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: still not done after %s", what, processWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// queryInt runs a query that returns one integer.
func queryInt(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// TestKilledWorkerProcessLosesNothing kills a worker process with SIGKILL
// while every one of its tasks is in the middle of its receiver. Another
// worker process takes each task up once its lease runs out and runs it to
// success; each task's history shows the killed attempt as a lease that
// expired.
func TestKilledWorkerProcessLosesNothing(t *testing.T) {
	// Not parallel: child processes are heavy on a small shared machine.
	const tasks = 20
	pool, url := processSetup(t)
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for i := 1; i <= tasks; i++ {
			if err := signalrt.Send(ctx, tx, "test", routes(childKey), num{N: i}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	victim := startChild(t, url, "block", "victim", time.Second)
	waitProcesses(t, "every task to start in the victim", []*child{victim}, func() bool {
		return queryInt(t, pool, "SELECT count(DISTINCT n) FROM started") == tasks
	})
	victimPid := victim.cmd.Process.Pid
	victim.kill(t)

	// The rescuer's own lease is longer, so that a slow machine does not
	// make it lose its own (quick) attempts; it rescues every Lease/2.
	rescuer := startChild(t, url, "finish", "rescuer", 4*time.Second)
	waitProcesses(t, "every task to finish in the rescuer", []*child{rescuer}, func() bool {
		return queryInt(t, pool, "SELECT count(DISTINCT n) FROM finished") == tasks
	})
	waitProcesses(t, "the rescuer to record every success", []*child{rescuer}, func() bool {
		return states(t, pool)[signalrt.StateSucceeded] == tasks
	})
	rescuer.stop(t)

	if s := states(t, pool); len(s) != 1 || s[signalrt.StateSucceeded] != tasks {
		t.Errorf("tasks per state %v, want all %d succeeded and nothing running", s, tasks)
	}
	// Every receiver ran to the end exactly once, in the rescuer, on a
	// retry; the killed process started each and finished none.
	if n := queryInt(t, pool, "SELECT count(*) FROM finished"); n != tasks {
		t.Errorf("%d receiver runs finished, want %d (one per task)", n, tasks)
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM finished WHERE pid = $1 OR attempt < 2", victimPid); n != 0 {
		t.Errorf("%d finished runs were in the killed process or a first attempt", n)
	}
	if n := queryInt(t, pool, "SELECT count(DISTINCT n) FROM started WHERE pid = $1", victimPid); n != tasks {
		t.Errorf("the killed process started %d distinct tasks, want %d", n, tasks)
	}
	ts, err := listTasks(t, pool, signalrt.TaskQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != tasks {
		t.Fatalf("%d tasks, want %d", len(ts), tasks)
	}
	for _, task := range ts {
		// The victim holds each task for one attempt, or more if a
		// stall on this machine let its own lease run out and it
		// rescued and claimed the task again before it died.
		ok := task.State == signalrt.StateSucceeded && len(task.Errors) >= 1 && task.Attempt == len(task.Errors)+1
		for _, e := range task.Errors {
			ok = ok && e.Worker == "victim" && strings.Contains(e.Error, "lease expired")
		}
		if !ok {
			t.Errorf("task %d: state %s, attempt %d, errors %+v; want succeeded on the attempt after the killed one(s), each with a lease-expired error of worker victim",
				task.ID, task.State, task.Attempt, task.Errors)
		}
	}
}

// TestFourWorkerProcessesRunEachTaskOnce drains 20,000 tasks with 4 worker
// processes: 15,000 inserted before, 5,000 sent while they run. Each
// receiver runs exactly once, no process crashes, and no task is left.
func TestFourWorkerProcessesRunEachTaskOnce(t *testing.T) {
	// Not parallel: child processes are heavy on a small shared machine.
	const workers, bulk, sent = 4, 15000, 5000
	const total = bulk + sent
	pool, url := processSetup(t)
	ctx := context.Background()

	var children []*child
	for i := range workers {
		children = append(children, startChild(t, url, "count", fmt.Sprintf("drain-%d", i), signalrt.DefaultLease))
	}
	waitProcesses(t, "the workers to start", children, func() bool {
		return queryInt(t, pool, "SELECT count(*) FROM ready") == workers
	})

	insertTasks(t, pool, childKey, 1, bulk)
	// The rest through Send while the workers drain: 100 sends per
	// transaction.
	for first := bulk + 1; first <= total; first += 100 {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			for n := first; n < first+100; n++ {
				if err := signalrt.Send(ctx, tx, "test", routes(childKey), num{N: n}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	waitProcesses(t, "every receiver to run", children, func() bool {
		return queryInt(t, pool, "SELECT count(DISTINCT n) FROM ran") == total
	})
	waitProcesses(t, "every success to be recorded", children, func() bool {
		s := states(t, pool)
		return s[signalrt.StateAvailable] == 0 && s[signalrt.StateRunning] == 0
	})
	for _, c := range children {
		c.stop(t)
	}

	// Each receiver ran exactly once: one record per payload number.
	if n := queryInt(t, pool, "SELECT count(*) FROM ran"); n != total {
		t.Errorf("%d receiver runs recorded, want %d (one per task)", n, total)
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM (SELECT n FROM ran GROUP BY n HAVING count(*) > 1) AS twice"); n != 0 {
		t.Errorf("%d tasks ran more than once", n)
	}
	if n := queryInt(t, pool, "SELECT count(DISTINCT n) FROM ran WHERE n BETWEEN 1 AND $1", total); n != total {
		t.Errorf("%d of the payloads 1..%d ran, want all", n, total)
	}
	if s := states(t, pool); len(s) != 1 || s[signalrt.StateSucceeded] != total {
		t.Errorf("tasks per state %v, want all %d succeeded", s, total)
	}
	// No task was tried twice or failed.
	ts, err := listTasks(t, pool, signalrt.TaskQuery{})
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, task := range ts {
		if task.State != signalrt.StateSucceeded || task.Attempt != 1 || len(task.Errors) != 0 {
			if bad++; bad <= 5 {
				t.Errorf("task %d: state %s, attempt %d, errors %+v; want succeeded on the first attempt", task.ID, task.State, task.Attempt, task.Errors)
			}
		}
	}
	if len(ts) != total || bad > 0 {
		t.Errorf("%d tasks, %d not succeeded on their first attempt; want %d and 0", len(ts), bad, total)
	}
	// The work was shared.
	rows, err := pool.Query(ctx, "SELECT r.name, count(ran.*) FROM ready r LEFT JOIN ran USING (pid) GROUP BY r.name ORDER BY r.name")
	if err != nil {
		t.Fatal(err)
	}
	var share []string
	busy := 0
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		share = append(share, fmt.Sprintf("%s=%d", name, n))
		if n > 0 {
			busy++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("receiver runs per worker process: %s", strings.Join(share, " "))
	if busy < 2 {
		t.Errorf("only %d of %d worker processes ran tasks (%s)", busy, workers, strings.Join(share, " "))
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestKilledWorkersFanOutEachSendOnce makes 3,000 transactions in
// signalrt.BeginFunc, each with two sends (a signal_send row each), while
// two worker processes fan them out and run them, and SIGKILLs one of
// them every 500 transactions, starting a new one in its place. Every
// send becomes exactly its task (none lost, none fanned out twice),
// nothing is left in signal_send, and every task runs.
func TestKilledWorkersFanOutEachSendOnce(t *testing.T) {
	// Not parallel: child processes are heavy on a small shared machine.
	const txs, killEvery = 3000, 500
	pool, url := processSetup(t)
	ctx := context.Background()
	started := 0
	start := func() *child {
		started++
		return startChild(t, url, "count", fmt.Sprintf("fanout-%d", started), time.Second)
	}
	live := []*child{start(), start()}
	killed := 0
	for n := 1; n <= txs; n++ {
		// The second send's payload is the first's + txs: ran holds
		// 2*txs distinct numbers once every task ran.
		err := signalrt.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if err := signalrt.Send(ctx, tx, "test", routes(childKey), num{N: n}); err != nil {
				return err
			}
			return signalrt.Send(ctx, tx, "test", routes(childKey), num{N: n + txs})
		})
		if err != nil {
			t.Fatal(err)
		}
		if n%killEvery == 0 && n < txs {
			i := killed % 2
			live[i].kill(t)
			killed++
			live[i] = start()
		}
	}
	waitProcesses(t, "every task to run", live, func() bool {
		return queryInt(t, pool, "SELECT count(DISTINCT n) FROM ran") == 2*txs
	})
	for _, c := range live {
		c.stop(t)
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM signal_send"); n != 0 {
		t.Errorf("%d sends left in signal_send; want 0", n)
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM signal_task"); n != 2*txs {
		t.Errorf("%d tasks; want %d, one per send (a send fanned out twice or lost would show)", n, 2*txs)
	}
	if n := queryInt(t, pool, "SELECT count(*) FROM (SELECT payload::text FROM signal_task GROUP BY 1 HAVING count(*) > 1) AS twice"); n != 0 {
		t.Errorf("%d payloads have more than one task", n)
	}
	t.Logf("killed %d worker processes; %d receiver runs for %d tasks", killed, queryInt(t, pool, "SELECT count(*) FROM ran"), 2*txs)
}
