package signalrt_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
)

// TestFanOutMakesTheSameTasks: a send in BeginFunc, once a worker has
// fanned it out, is the same set of tasks as the same send on a pgx.Tx:
// receivers, queues, attempts, timeouts, priorities, payload, delay and
// the hooks' headers, in route order, with the send's created_at.
func TestFanOutMakesTheSameTasks(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	t.Cleanup(signalrt.Use(signalrt.Hooks{Send: func(ctx context.Context, info *signalrt.SendInfo, next func(context.Context) error) error {
		if info.Signal == "fanouttest" {
			info.Headers = map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
		}
		return next(ctx)
	}}))
	rs := []signalrt.Route{
		{Receiver: "a.A"},
		{Receiver: "b.B", Queue: "emails", MaxAttempts: 3, Timeout: 1500 * time.Millisecond, Priority: 7},
		{Receiver: "c.C", Queue: "reports", Priority: -2},
	}
	payload := map[string]any{"note": "nul\x00byte \U0001F600", "n": 1}
	sendBoth := func(opts ...signalrt.SendOption) {
		t.Helper()
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			return signalrt.Send(ctx, tx, "fanouttest", rs, payload, opts...)
		}); err != nil {
			t.Fatal(err)
		}
		if err := signalrt.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			return signalrt.Send(ctx, tx, "fanouttest", rs, payload, opts...)
		}); err != nil {
			t.Fatal(err)
		}
	}
	sendBoth()
	sendBoth(signalrt.After(time.Hour))
	var sendCreated time.Time
	if err := pool.QueryRow(ctx, "SELECT min(created_at) FROM signal_send").Scan(&sendCreated); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // so that a task stamped at the fan-out would differ
	if _, err := signalrt.RunUntilIdle(ctx, pool, nil); err != nil {
		t.Fatal(err)
	}
	type row struct {
		Receiver, Queue, State, Payload, Headers string
		MaxAttempts                              int
		TimeoutMs                                int64
		Priority                                 int
		DelayedHours                             int
	}
	read := func(ids string) []row {
		rows, err := pool.Query(ctx, `SELECT receiver, queue, state, payload::text, coalesce(headers::text, ''), max_attempts, timeout_ms, priority,
			round(extract(epoch FROM run_at - created_at) / 3600)::int
			FROM signal_task WHERE id IN (`+ids+`) ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// Tasks 1-6 are the plain sends' (inserted at once); the batched
	// sends' tasks, 7-12, came from the fan-out, after them.
	plain, batched := read("1,2,3,4,5,6"), read("7,8,9,10,11,12")
	if len(plain) != 6 || len(batched) != 6 {
		t.Fatalf("%d plain and %d fanned-out tasks; want 6 each", len(plain), len(batched))
	}
	for i := range plain {
		if plain[i] != batched[i] {
			t.Errorf("task %d:\n plain   %+v\n fan-out %+v", i, plain[i], batched[i])
		}
	}
	if batched[1].Queue != "emails" || batched[1].Priority != 7 || batched[1].TimeoutMs != 1500 || batched[4].DelayedHours != 1 || batched[0].Headers == "" {
		t.Errorf("fanned-out tasks lost a route's settings: %+v", batched)
	}
	var created time.Time
	if err := pool.QueryRow(ctx, "SELECT created_at FROM signal_task WHERE id = 7").Scan(&created); err != nil {
		t.Fatal(err)
	}
	if !created.Equal(sendCreated) {
		t.Errorf("fanned-out task created at %v; want the send's %v", created, sendCreated)
	}
	var left int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM signal_send").Scan(&left); err != nil || left != 0 {
		t.Errorf("sends left after the fan-out: %d (%v)", left, err)
	}
}

// TestFanOutExactlyOnce: senders in BeginFunc and three workers at once;
// every send becomes its tasks once, each task runs once, and no send is
// left behind.
func TestFanOutExactlyOnce(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	rec := newRecorder()
	keys := []string{"a", "b", "c"}
	var table signalrt.Table
	for _, k := range keys {
		table = append(table, rec.handler(k, nil))
	}
	for range 3 {
		startWorker(t, pool, table, fastConfig())
	}
	const senders, each = 4, 250
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				n := s*each + i
				if err := signalrt.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					return signalrt.Send(ctx, tx, "test", routes(keys...), num{N: n})
				}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitFor(t, "every task to run", func() bool {
		for _, k := range keys {
			if rec.count(k) < senders*each {
				return false
			}
		}
		return true
	})
	time.Sleep(200 * time.Millisecond) // a task run twice would show now
	for _, k := range keys {
		rec.mu.Lock()
		seen := map[int]int{}
		for _, n := range rec.calls[k] {
			seen[n]++
		}
		rec.mu.Unlock()
		if len(seen) != senders*each {
			t.Errorf("receiver %s ran %d distinct payloads; want %d", k, len(seen), senders*each)
		}
		for n, c := range seen {
			if c != 1 {
				t.Errorf("receiver %s ran payload %d %d times", k, n, c)
			}
		}
	}
	var sends, tasks int
	if err := pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM signal_send), (SELECT count(*) FROM signal_task)").Scan(&sends, &tasks); err != nil {
		t.Fatal(err)
	}
	if sends != 0 || tasks != senders*each*len(keys) {
		t.Errorf("%d sends left and %d tasks; want 0 and %d", sends, tasks, senders*each*len(keys))
	}
}

// TestFanOutWokenByNotify: an idle worker that polls once an hour fans
// out a send made in BeginFunc and runs its task: the send's NOTIFY on
// signal_send woke it.
func TestFanOutWokenByNotify(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	rec := newRecorder()
	cfg := fastConfig()
	cfg.PollInterval, cfg.HotWindow = time.Hour, time.Millisecond
	w, _ := startWorker(t, pool, signalrt.Table{rec.handler("a", nil)}, cfg)
	waitFor(t, "the worker to register", func() bool {
		ws, err := signalrt.Workers(ctx, pool)
		if err != nil {
			t.Fatal(err)
		}
		return len(ws) == 1 && ws[0].Name == w.Name()
	})
	time.Sleep(100 * time.Millisecond) // past the hot window: only a NOTIFY wakes it now
	if err := signalrt.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return signalrt.Send(ctx, tx, "test", routes("a"), num{N: 1})
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the task to run", func() bool { return rec.count("a") == 1 })
}

// TestFanOutRefusedSend: a send whose tasks the database refuses (here a
// trigger of the user's) stays in signal_send, counted as pending, and
// does not hold up the sends after it; it becomes tasks once the database
// takes them.
func TestFanOutRefusedSend(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	pgtest.Exec(t, pool, `CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.signal = 'boom' THEN RAISE EXCEPTION 'boom refused'; END IF; RETURN NEW; END $$`)
	pgtest.Exec(t, pool, "CREATE TRIGGER refuse_boom BEFORE INSERT ON signal_task FOR EACH ROW EXECUTE FUNCTION refuse_boom()")
	sendIn := func(signal string, n int) {
		t.Helper()
		if err := signalrt.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			return signalrt.Send(ctx, tx, signal, routes("a"), num{N: n})
		}); err != nil {
			t.Fatal(err)
		}
	}
	sendIn("test", 1)
	sendIn("boom", 2)
	sendIn("test", 3)
	rec := newRecorder()
	startWorker(t, pool, signalrt.Table{rec.handler("a", nil)}, fastConfig())
	waitFor(t, "the good sends' tasks to run", func() bool { return rec.count("a") == 2 })
	qs, err := signalrt.QueueOverview(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 1 || qs[0].Pending != 1 {
		t.Errorf("queues: %+v; want the default queue with 1 pending task", qs)
	}
	for range 3 { // still refused on later rounds, and still there
		sendIn("test", 4)
	}
	waitFor(t, "later sends' tasks to run", func() bool { return rec.count("a") == 5 })
	var left string
	if err := pool.QueryRow(ctx, "SELECT string_agg(signal, ',') FROM signal_send").Scan(&left); err != nil || left != "boom" {
		t.Errorf("sends left: %q (%v); want the refused one", left, err)
	}
	pgtest.Exec(t, pool, "DROP TRIGGER refuse_boom ON signal_task")
	if _, err := signalrt.RunUntilIdle(ctx, pool, nil); err != nil {
		t.Fatal(err)
	}
	if n := tasksOf(t, pool, "a"); n != 6 {
		t.Errorf("%d tasks of a; want 6, the refused send's among them", n)
	}
}

// TestPendingSendsInTheViews: the tasks of BeginFunc sends that no worker
// has fanned out count in QueueOverview (Pending) and QueueGauges
// (available), and their lag shows once they are due.
func TestPendingSendsInTheViews(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	rs := []signalrt.Route{{Receiver: "a"}, {Receiver: "b", Queue: "emails"}}
	if err := signalrt.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := signalrt.Send(ctx, tx, "test", rs, num{N: 1}); err != nil {
			return err
		}
		return signalrt.Send(ctx, tx, "test", rs[1:], num{N: 2}, signalrt.After(time.Hour))
	}); err != nil {
		t.Fatal(err)
	}
	send(t, pool, routes("c"), 3) // a task, for comparison
	time.Sleep(50 * time.Millisecond)
	gs, err := signalrt.QueueGauges(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 || gs[0].Queue != signalrt.DefaultQueue || gs[0].Available != 2 || gs[1].Queue != "emails" || gs[1].Available != 2 {
		t.Fatalf("gauges %+v; want default 2 available (a task and a pending one), emails 2 (pending, one delayed)", gs)
	}
	for _, g := range gs {
		if g.Lag < 50*time.Millisecond || g.Lag > time.Hour {
			t.Errorf("queue %s: lag %v; want the age of its due pending task, at least 50ms", g.Queue, g.Lag)
		}
	}
	qs, err := signalrt.QueueOverview(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 2 || qs[0].Pending != 1 || qs[0].Available != 1 || qs[1].Pending != 2 || qs[1].Available != 0 || qs[1].Lag < 50*time.Millisecond {
		t.Errorf("overview %+v; want default 1 pending and 1 available, emails 2 pending with a lag", qs)
	}
}
