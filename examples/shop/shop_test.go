package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	signalrt "github.com/reliablesignals/signals/runtime"

	"github.com/reliablesignals/signals/examples/shop/mail"
	"github.com/reliablesignals/signals/examples/shop/shipping"
	"github.com/reliablesignals/signals/internal/pgtest"
)

// These tests need a PostgreSQL server: DATABASE_URL, or
// postgres://postgres@127.0.0.1:5432/test. They fail, never skip, when
// none answers. Each works in a schema of its own.

// TestGeneratedCodeIsFresh runs the package's //go:generate command with
// -check: the committed generated code must be what signalgen produces now.
func TestGeneratedCodeIsFresh(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "//go:generate go run "
	var args []string
	for line := range strings.Lines(string(src)) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
			args = strings.Fields(rest)
		}
	}
	if len(args) == 0 {
		t.Fatalf("main.go has no %q line", prefix)
	}
	// go run PKG -check FLAGS... PATTERNS...
	args = append([]string{"run", args[0], "-check"}, args[1:]...)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(t), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s\nThe generated code is stale: run go generate ./examples/shop and commit the result.",
			strings.Join(args, " "), err, out)
	}
}

// TestCrashRecovery is the end-to-end test. It builds the demo binary,
// starts a worker process, places 1,000 orders (every 10th rolls back) while
// it works, kills the worker with SIGKILL in the middle of its work, starts
// another one, and checks what the receivers did, in the task table and in
// the shop's own tables.
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	const (
		nOrders       = 1000
		rollbackEvery = 10
		lease         = 2 * time.Second // the killed worker's tasks run again after it
	)
	schema, url := pgtest.Schema(t)
	bin := buildShop(t)
	env := append(os.Environ(), "DATABASE_URL="+pgtest.URL())
	shop(t, bin, env, "migrate", "-schema", schema)
	pool := pgtest.PoolFor(t, url)
	ctx := t.Context()

	workerArgs := func(name string) []string {
		return []string{"worker", "-schema", schema, "-name", name, "-lease", lease.String(),
			"-concurrency", "4", "-backoff", "100ms", "-poll", "200ms", "-retention", "24h"}
	}
	w1 := start(t, bin, env, workerArgs("w1")...)

	type placed struct {
		committed, rolledBack []int64
		err                   error
	}
	placing := make(chan placed, 1)
	go func() {
		c, r, err := placeOrders(ctx, pool, nOrders, rollbackEvery, 4)
		placing <- placed{c, r, err}
	}()

	// Kill w1 while it is busy: tasks done, tasks running (claimed, or run
	// and not yet recorded), and more waiting.
	waitFor(t, 2*time.Minute, "worker w1 to be in the middle of its work", func() (bool, string) {
		c := stateCounts(t, pool)
		return c[signalrt.StateSucceeded] >= 300 && c[signalrt.StateRunning] > 0 &&
			c[signalrt.StateAvailable] >= 100, fmt.Sprint(c)
	})
	w1.kill(t)
	inFlight := tasksOf(t, pool, signalrt.StateRunning, "w1")
	if len(inFlight) == 0 {
		t.Fatalf("no task was running when w1 was killed; the test did not test a crash\n%s", w1.output())
	}
	t.Logf("killed w1 with %d tasks in flight (%d of them had already committed their work and will run again); state counts %v",
		len(inFlight), alreadyDone(t, pool, inFlight), stateCounts(t, pool))
	w2 := start(t, bin, env, workerArgs("w2")...)

	var p placed
	select {
	case p = <-placing:
	case <-time.After(3 * time.Minute):
		t.Fatal("placing 1,000 orders did not finish within 3 minutes")
	}
	if p.err != nil {
		t.Fatalf("placing orders: %v", p.err)
	}
	if got, want := len(p.rolledBack), nOrders/rollbackEvery; got != want {
		t.Fatalf("%d orders rolled back, want %d", got, want)
	}
	waitFor(t, 3*time.Minute, "every task to finish (none waiting or running)", func() (bool, string) {
		c := stateCounts(t, pool)
		return c[signalrt.StateAvailable] == 0 && c[signalrt.StateRunning] == 0, fmt.Sprint(c)
	})
	w2.stop(t)

	verify(t, pool, p.committed, p.rolledBack)
}

// verify checks the end state of TestCrashRecovery.
func verify(t *testing.T, pool *pgxpool.Pool, committed, rolledBack []int64) {
	t.Helper()
	ctx := t.Context()
	tasks, err := allTasks(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	emails := map[int64]string{}
	rows, err := pool.Query(ctx, `SELECT id, email FROM orders`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var email string
		if err := rows.Scan(&id, &email); err != nil {
			t.Fatal(err)
		}
		emails[id] = email
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(emails) != len(committed) {
		t.Errorf("orders table has %d orders; %d were committed", len(emails), len(committed))
	}
	rolled := map[int64]bool{}
	for _, id := range rolledBack {
		rolled[id] = true
	}

	// Every committed order's receivers each ran exactly once to the end
	// (one task each: a rerun after the crash sent no signal twice), and no
	// task exists for another order.
	type orderReceiver struct {
		order    int64
		receiver string
	}
	byOR := map[orderReceiver][]signalrt.Task{}
	for _, tk := range tasks {
		id := orderOf(tk)
		switch {
		case rolled[id]:
			t.Errorf("task %d (%s) is for order %d, which rolled back", tk.ID, short(tk.Receiver), id)
		case emails[id] == "":
			t.Errorf("task %d (%s) is for order %d, which does not exist", tk.ID, short(tk.Receiver), id)
		}
		if tk.State != signalrt.StateSucceeded && tk.State != signalrt.StateDead {
			t.Errorf("task %d (%s, order %d) is %s; every task should have finished", tk.ID, short(tk.Receiver), id, tk.State)
		}
		k := orderReceiver{id, tk.Receiver}
		byOR[k] = append(byOR[k], tk)
	}
	cols := columns()
	if want := len(committed) * len(cols); len(tasks) != want {
		t.Errorf("%d tasks; want %d (%d committed orders × %d receivers)", len(tasks), want, len(committed), len(cols))
	}
	var transient, crashed, dead int
	for _, id := range committed {
		undeliverable := strings.HasSuffix(emails[id], mail.UndeliverableDomain)
		for _, c := range cols {
			ts := byOR[orderReceiver{id, c.key}]
			if len(ts) != 1 {
				t.Errorf("order %d, %s: %d tasks, want 1", id, short(c.key), len(ts))
				continue
			}
			tk := ts[0]
			for _, e := range tk.Errors {
				if strings.Contains(e.Error, "lease expired: worker w1") {
					crashed++
				}
			}
			wantDead := undeliverable && strings.HasPrefix(short(c.key), "mail.")
			switch {
			case wantDead:
				// The permanent failure: dead at once, with its error.
				dead++
				if tk.State != signalrt.StateDead || !strings.Contains(lastError(tk), "550 no such domain") || tk.Attempt >= tk.MaxAttempts {
					t.Errorf("order %d, %s: state %s after attempt %d of %d, last error %q; want dead by a permanent error (550 no such domain) before its last attempt",
						id, short(c.key), tk.State, tk.Attempt, tk.MaxAttempts, lastError(tk))
				}
			case tk.State != signalrt.StateSucceeded:
				t.Errorf("order %d, %s: %s after attempt %d; want succeeded (errors: %v)", id, short(c.key), tk.State, tk.Attempt, tk.Errors)
			case short(c.key) == "shipping.ReserveStock" && id%shipping.StocktakeEvery == 0:
				// The transient failure: its first attempt failed (unless the
				// crash took that attempt), a later one succeeded.
				if tk.Attempt < 2 || len(tk.Errors) == 0 {
					t.Errorf("order %d, ReserveStock: succeeded on attempt %d with errors %v; want a failed first attempt and a retry", id, tk.Attempt, tk.Errors)
					continue
				}
				first := tk.Errors[0].Error
				if first == shipping.ErrStocktake.Error() {
					transient++
				} else if !strings.Contains(first, "lease expired") {
					t.Errorf("order %d, ReserveStock: first attempt failed with %q; want %q", id, first, shipping.ErrStocktake)
				}
			}
		}
	}
	if transient == 0 {
		t.Errorf("no ReserveStock task was retried to success after the stocktake failure")
	}
	if dead == 0 {
		t.Errorf("no order had an undeliverable address; the permanent failure was not tested")
	}
	if crashed == 0 {
		t.Errorf("no task records that worker w1 died under it; the killed worker's tasks were not rescued")
	}
	t.Logf("%d tasks: %d retried to success after the stocktake failure, %d dead by a permanent error, %d rescued after the crash",
		len(tasks), transient, dead, crashed)

	// The receivers' effects, in the shop's own tables.
	good := 0
	for _, id := range committed {
		if !strings.HasSuffix(emails[id], mail.UndeliverableDomain) {
			good++
		}
	}
	for _, c := range []struct {
		what string
		sql  string
		want int
	}{
		{"orders not marked paid and shipped", `SELECT count(*) FROM orders WHERE paid_at IS NULL OR shipped_at IS NULL OR tracking_number IS NULL`, 0},
		{"payments", `SELECT count(*) FROM payment`, len(committed)},
		{"orders without a payment of their total", `SELECT count(*) FROM orders o LEFT JOIN payment p ON p.order_id = o.id WHERE p.order_id IS NULL OR p.amount_cents <> o.total_cents`, 0},
		{"order lines not reserved", `SELECT count(*) FROM (SELECT order_id, sku, qty FROM order_line EXCEPT SELECT order_id, sku, qty FROM reservation) x`, 0},
		{"reservations of no order line", `SELECT count(*) FROM (SELECT order_id, sku, qty FROM reservation EXCEPT SELECT order_id, sku, qty FROM order_line) x`, 0},
		{"SKUs whose stock taken differs from their reservations (taken twice?)", `SELECT count(*) FROM stock s WHERE s.received - s.on_hand <> (SELECT coalesce(sum(qty), 0) FROM reservation r WHERE r.sku = s.sku)`, 0},
		{"shipments with the order's tracking number", `SELECT count(*) FROM shipment s JOIN orders o ON o.id = s.order_id AND o.tracking_number = s.tracking_number`, len(committed)},
		{"shipments", `SELECT count(*) FROM shipment`, len(committed)},
		{"mails sent", `SELECT count(*) FROM mail_sent`, 3 * good},
		{"orders with a deliverable address and all three mails", `SELECT count(*) FROM (SELECT order_id FROM mail_sent GROUP BY order_id HAVING count(*) = 3) x`, good},
		{"mails to undeliverable addresses", `SELECT count(*) FROM mail_sent WHERE recipient LIKE '%` + mail.UndeliverableDomain + `'`, 0},
		{"rows of the receivers for orders that do not exist", `SELECT
			(SELECT count(*) FROM payment WHERE order_id NOT IN (SELECT id FROM orders)) +
			(SELECT count(*) FROM reservation WHERE order_id NOT IN (SELECT id FROM orders)) +
			(SELECT count(*) FROM shipment WHERE order_id NOT IN (SELECT id FROM orders)) +
			(SELECT count(*) FROM mail_sent WHERE order_id NOT IN (SELECT id FROM orders))`, 0},
	} {
		var got int
		if err := pool.QueryRow(ctx, c.sql).Scan(&got); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if got != c.want {
			t.Errorf("%s: %d, want %d", c.what, got, c.want)
		}
	}
}

// TestDemo runs the default mode, the whole demo, in a schema of its own,
// and checks that it tells the story.
func TestDemo(t *testing.T) {
	t.Parallel()
	schema, _ := pgtest.Schema(t)
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	code := run(ctx, []string{"-schema", schema}, testEnv(pgtest.URL()), &stdout, &stderr)
	out := stdout.String()
	if code != 0 {
		t.Fatalf("exit status %d\nstderr:\n%s\nstdout:\n%s", code, stderr.String(), out)
	}
	for _, want := range []string{
		"18 committed: their 36 tasks",
		"2 rolled back (orders 10 and 20)",
		"Tasks: 126 in all, 123 succeeded (2 of them after a retry), 3 dead, 0 waiting, 0 running.",
		"  7      gus@example.com   ok       ok       ok    ok/2   ok       ok       ok",
		"  10     (rolled back)     -        -        -     -      -        -        -",
		"  12     zed@shop.invalid  ok       DEAD     ok    ok     DEAD     ok       DEAD",
		"shipping.ReserveStock for order 14: attempt 1 failed: " + shipping.ErrStocktake.Error() + "; attempt 2 succeeded",
		"mail.Mailer.SendReceipt for order 12: mail: zed@shop.invalid rejected by the mail server: 550 no such domain (attempt 1 of 5, a permanent error: not retried)",
		"Tasks for an order that does not exist: 0.",
		"orders 18 (paid 18, shipped 18), payments 18, shipments 18, mails sent 51",
		"(equal: no reservation was taken twice)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

// TestCommandLine checks exit statuses and messages that need no database,
// and the message when no server answers.
func TestCommandLine(t *testing.T) {
	t.Parallel()
	unreachable := "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5"
	for _, tc := range []struct {
		name   string
		args   []string
		url    string
		code   int
		stderr []string
	}{
		{"unknown mode", []string{"bogus"}, "", 2, []string{`unknown mode "bogus"; valid modes are check, demo, migrate, place, status, worker`}},
		{"unknown flag", []string{"place", "-bogus"}, "", 2, []string{"flag provided but not defined: -bogus", "usage: shop place"}},
		{"bad schema", []string{"status", "-schema", "Shop-Demo"}, "", 2, []string{`-schema "Shop-Demo": want a lowercase identifier`}},
		{"demo drops public", []string{"-schema", "public"}, "", 2, []string{"choose another one"}},
		{"help", []string{"-h"}, "", 0, []string{"usage: shop [mode] [flags]", "Flags of the demo:"}},
		{"no server", []string{"status"}, unreachable, 1, []string{
			"cannot connect to PostgreSQL at postgres://postgres@127.0.0.1:1/test",
			"Start PostgreSQL there, or set DATABASE_URL",
		}},
		{"password hidden", []string{"migrate"}, "postgres://ann:secret@127.0.0.1:1/test?connect_timeout=5", 1, []string{"ann:xxxxx@127.0.0.1:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			code := run(ctx, tc.args, testEnv(tc.url), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit status %d, want %d", code, tc.code)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			if strings.Contains(stderr.String(), "secret") {
				t.Errorf("stderr shows the password:\n%s", stderr.String())
			}
		})
	}
}

// testEnv returns a getenv whose DATABASE_URL is url.
func testEnv(url string) func(string) string {
	return func(k string) string {
		if k == "DATABASE_URL" {
			return url
		}
		return ""
	}
}

// goTool returns the go command.
func goTool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	return path
}

// buildShop builds the demo binary (with -race when the test runs with it).
func buildShop(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "shop")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, goTool(t), append(args, ".")...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// shop runs the demo binary to completion and fails the test unless it
// succeeds.
func shop(t *testing.T, bin string, env []string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("shop %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// proc is a running child process and its combined output.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan error
	mu   sync.Mutex
	out  bytes.Buffer
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// wrote reports whether the process's output contains s.
func (p *proc) wrote(s string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Contains(p.out.Bytes(), []byte(s))
}

// output returns the last lines the process wrote.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(p.out.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > 40 {
		lines = append([]string{"..."}, lines[len(lines)-40:]...)
	}
	return fmt.Sprintf("--- output of %s:\n%s", p.name, strings.Join(lines, "\n"))
}

// start starts the demo binary. It is killed when the test ends, if it
// still runs then.
func start(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: "shop " + strings.Join(args, " "), cmd: exec.Command(bin, args...), done: make(chan error, 1)}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", p.name, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
			t.Logf("killed %s at the end of the test\n%s", p.name, p.output())
		}
	})
	return p
}

// kill kills the process with SIGKILL: no shutdown, no cleanup.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("killing %s: %v", p.name, err)
	}
	select {
	case err := <-p.done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("%s ended with %v before it was killed\n%s", p.name, err, p.output())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not die within 30s of SIGKILL", p.name)
	}
	p.done <- nil // for the cleanup
	if p.wrote("DATA RACE") {
		t.Fatalf("%s reported a data race before it was killed\n%s", p.name, p.output())
	}
}

// stop asks the process to shut down gracefully (SIGTERM) and fails the
// test unless it exits 0, within a minute, without a data race report.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("stopping %s: %v", p.name, err)
	}
	select {
	case err := <-p.done:
		p.done <- nil
		if err != nil {
			t.Fatalf("%s: %v\n%s", p.name, err, p.output())
		}
	case <-time.After(time.Minute):
		t.Fatalf("%s did not shut down within a minute of SIGTERM\n%s", p.name, p.output())
	}
	if p.wrote("DATA RACE") {
		t.Fatalf("%s reported a data race\n%s", p.name, p.output())
	}
}

// waitFor polls cond until it holds, and fails the test with cond's last
// description after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last state: %s", timeout, what, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stateCounts returns the number of tasks per state.
func stateCounts(t *testing.T, pool *pgxpool.Pool) map[signalrt.TaskState]int64 {
	t.Helper()
	queues, err := signalrt.QueueOverview(t.Context(), pool)
	if err != nil {
		t.Fatal(err)
	}
	m := map[signalrt.TaskState]int64{}
	for _, q := range queues {
		m[signalrt.StateAvailable] += q.Available
		m[signalrt.StateRunning] += q.Running
		m[signalrt.StateDead] += q.Dead
		m[signalrt.StateSucceeded] += q.Succeeded
	}
	return m
}

// tasksOf returns the ids of the tasks in state that worker ran last.
func tasksOf(t *testing.T, pool *pgxpool.Pool, state signalrt.TaskState, worker string) []int64 {
	t.Helper()
	var ids []int64
	rows, err := pool.Query(t.Context(), `SELECT id FROM signal_task WHERE state = $1 AND worker = $2 ORDER BY id`, state, worker)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return slices.Clip(ids)
}

// doneSQL tells, per receiver, whether its work for an order ($1) is in
// the shop's tables.
var doneSQL = map[string]string{
	"payments.capture":                  `SELECT EXISTS (SELECT FROM payment WHERE order_id = $1)`,
	"orders.MarkPaid":                   `SELECT EXISTS (SELECT FROM orders WHERE id = $1 AND paid_at IS NOT NULL)`,
	"orders.MarkShipped":                `SELECT EXISTS (SELECT FROM orders WHERE id = $1 AND shipped_at IS NOT NULL)`,
	"shipping.ReserveStock":             `SELECT EXISTS (SELECT FROM shipment WHERE order_id = $1)`,
	"mail.Mailer.SendOrderConfirmation": `SELECT EXISTS (SELECT FROM mail_sent WHERE order_id = $1 AND kind = 'confirmation')`,
	"mail.Mailer.SendReceipt":           `SELECT EXISTS (SELECT FROM mail_sent WHERE order_id = $1 AND kind = 'receipt')`,
	"mail.Mailer.SendShippingNotice":    `SELECT EXISTS (SELECT FROM mail_sent WHERE order_id = $1 AND kind = 'shipping')`,
}

// alreadyDone counts the tasks among ids whose receiver's work is already
// in the shop's tables: their receiver committed, but the worker died
// before it recorded the success. They run again, and must change nothing.
func alreadyDone(t *testing.T, pool *pgxpool.Pool, ids []int64) int {
	t.Helper()
	n := 0
	for _, id := range ids {
		tk, err := signalrt.GetTask(t.Context(), pool, id)
		if err != nil {
			t.Fatal(err)
		}
		sql, ok := doneSQL[short(tk.Receiver)]
		if !ok {
			t.Fatalf("doneSQL has no query for receiver %s", short(tk.Receiver))
		}
		var done bool
		if err := pool.QueryRow(t.Context(), sql, orderOf(tk)).Scan(&done); err != nil {
			t.Fatal(err)
		}
		if done {
			n++
		}
	}
	return n
}

// TestDemoStartsAThrowawayServer: with DATABASE_URL unset and no server at
// the default URL, the demo starts a throwaway server (PostgreSQL's server
// binaries are installed on the machines that run these tests), says so,
// runs, and stops it.
func TestDemoStartsAThrowawayServer(t *testing.T) {
	saved := defaultURL
	defaultURL = "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2"
	t.Cleanup(func() { defaultURL = saved })
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	code := run(ctx, []string{"-orders", "4"}, testEnv(""), &stdout, &stderr)
	out := stdout.String()
	if code != 0 {
		t.Fatalf("exit status %d\nstderr:\n%s\nstdout:\n%s", code, stderr.String(), out)
	}
	for _, want := range []string{"started a throwaway server for this demo", "The throwaway server stops now."} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
