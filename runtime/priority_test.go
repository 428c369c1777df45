package signalrt_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
)

// TestPriorityOrder checks the claim order through the claim cursor: a
// worker of one slot claims one task at a time, each claim after the last
// (see ClaimTasks), so the tasks must run exactly in the order (priority
// descending, run_at, id), across the priorities above, at and below 0.
func TestPriorityOrder(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	// Priorities -2..2, run_at spread over the last hour with duplicates
	// (equal run_at: id decides).
	const n = 600
	pgtest.Exec(t, pool, `INSERT INTO signal_task (signal, receiver, payload, priority, run_at)
		SELECT 'test', 'p', jsonb_build_object('n', g), (g * 7) % 5 - 2,
		       date_trunc('second', now()) - make_interval(secs => (g * 13) % 50)
		FROM generate_series(1, $1::integer) AS g`, n)
	rows, err := pool.Query(context.Background(), `SELECT (payload->>'n')::int FROM signal_task ORDER BY priority DESC, run_at, id`)
	if err != nil {
		t.Fatal(err)
	}
	var want []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		want = append(want, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []int
	table := signalrt.Table{{Key: "p", Queue: signalrt.DefaultQueue, Handle: signalrt.Typed(func(ctx context.Context, p num) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, p.N)
		return nil
	})}}
	cfg := fastConfig()
	cfg.Concurrency = 1
	startWorker(t, pool, table, cfg)
	waitFor(t, "all tasks to run", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == n
	})
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("task %d of %d: ran n=%d, want n=%d (order: priority descending, run_at, id)", i, n, got[i], want[i])
			}
		}
	}
}

// TestPriorityOvertakesBacklog checks that tasks sent with a higher
// priority while a worker works through a backlog of 2,000 due tasks of
// priority 0 run before the rest of the backlog: the worker's claim cursor
// is past them, so it must look at the head of the queue again (see
// cursorWakeRescan).
func TestPriorityOvertakesBacklog(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	const backlog = 2000
	insertTasks(t, pool, "low", 1, backlog)
	var lowRan atomic.Int64
	var mu sync.Mutex
	var lowWhenHigh []int64 // low tasks run when each high task ran
	var highOrder []int
	table := signalrt.Table{
		{Key: "low", Queue: signalrt.DefaultQueue, Handle: func(context.Context, []byte) error {
			time.Sleep(2 * time.Millisecond) // 2,000 tasks, 4 at a time: 1s at least
			lowRan.Add(1)
			return nil
		}},
		{Key: "high", Queue: signalrt.DefaultQueue, Handle: signalrt.Typed(func(ctx context.Context, p num) error {
			mu.Lock()
			defer mu.Unlock()
			lowWhenHigh = append(lowWhenHigh, lowRan.Load())
			highOrder = append(highOrder, p.N)
			return nil
		})},
	}
	cfg := fastConfig()
	cfg.Concurrency = 4
	startWorker(t, pool, table, cfg)
	waitFor(t, "the worker to work on the backlog", func() bool { return lowRan.Load() >= 200 })
	sentAt := lowRan.Load()
	// Priority 1 from the route, and 2 from the send option.
	send(t, pool, []signalrt.Route{{Receiver: "high", Priority: 1}}, 1)
	send(t, pool, []signalrt.Route{{Receiver: "high", Priority: 1}}, 2, signalrt.Priority(2))
	waitFor(t, "the high tasks to run", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(highOrder) == 2
	})
	mu.Lock()
	defer mu.Unlock()
	t.Logf("sent after %d low tasks ran; the high tasks ran after %v", sentAt, lowWhenHigh)
	for _, n := range lowWhenHigh {
		if n >= backlog/2 {
			t.Fatalf("a high task ran after %d of %d low tasks (sent after %d): it waited behind the backlog", n, backlog, sentAt)
		}
	}
	// Which of the two ran first is not checked here: the worker may claim
	// the first before the second is sent, and tasks claimed together run
	// on 4 slots at once. The order of priorities within a claim is
	// checked with one slot by the exact-order test above.
}

// TestPrioritySendOption checks where a task's priority comes from: the
// route, or the Priority send option for all of the send's tasks; and that
// a priority out of range fails the send and enqueues nothing.
func TestPrioritySendOption(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	ctx := context.Background()
	rs := []signalrt.Route{{Receiver: "a", Priority: 5}, {Receiver: "b"}, {Receiver: "c", Priority: -3}}
	send(t, pool, rs, 1)
	send(t, pool, rs, 2, signalrt.Priority(9))
	send(t, pool, rs, 3, signalrt.Priority(0))
	got := map[string]int{}
	rows, err := pool.Query(ctx, `SELECT receiver || (payload->>'n'), priority FROM signal_task`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		var p int
		if err := rows.Scan(&k, &p); err != nil {
			t.Fatal(err)
		}
		got[k] = p
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"a1": 5, "b1": 0, "c1": -3, "a2": 9, "b2": 9, "c2": 9, "a3": 0, "b3": 0, "c3": 0}
	if b, _ := json.Marshal(got); !maps.Equal(got, want) {
		t.Fatalf("priorities %s, want %v", b, want)
	}
	// The admin API shows them, in all three of its task queries.
	listed, err := listTasks(t, pool, signalrt.TaskQuery{Receiver: "c"})
	if err != nil {
		t.Fatal(err)
	}
	foundPage, err := signalrt.SearchTasks(ctx, pool, signalrt.TaskQuery{Receiver: "c"})
	found := foundPage.Tasks
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range [][]signalrt.Task{listed, found} {
		seen := map[int]bool{}
		for _, task := range ts {
			seen[task.Priority] = true
			one, err := signalrt.GetTask(ctx, pool, task.ID)
			if err != nil || one.Priority != task.Priority {
				t.Errorf("GetTask(%d): priority %d, %v; want %d", task.ID, one.Priority, err, task.Priority)
			}
		}
		if want := map[int]bool{-3: true, 9: true, 0: true}; !maps.Equal(seen, want) {
			t.Errorf("priorities of receiver c's tasks in the admin API: %v, want %v", seen, want)
		}
	}

	for _, tc := range []struct {
		rs   []signalrt.Route
		opts []signalrt.SendOption
		msg  string
	}{
		{rs, []signalrt.SendOption{signalrt.Priority(101)}, "priority 101 is out of range [-100, 100]"},
		{rs, []signalrt.SendOption{signalrt.Priority(-101)}, "priority -101 is out of range [-100, 100]"},
		{[]signalrt.Route{{Receiver: "d", Priority: 1000}}, nil, "route d: priority 1000 is out of range [-100, 100]"},
	} {
		err := signalrt.Send(ctx, pool, "test", tc.rs, num{N: 4}, tc.opts...)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Send: error %v, want one that says %q", err, tc.msg)
		}
	}
	// A priority in range overrides a route's that is out of range.
	if err := signalrt.Send(ctx, pool, "test", []signalrt.Route{{Receiver: "e", Priority: 1000}}, num{N: 5}, signalrt.Priority(100)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM signal_task WHERE (payload->>'n')::int >= 4`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d tasks of the sends that failed or of the last, want 1 (the last)", n)
	}
}
