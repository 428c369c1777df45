package signalrt_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
)

// sendUnique sends in its own transaction and returns how many tasks it
// enqueued.
func sendUnique(t testing.TB, pool *pgxpool.Pool, rs []signalrt.Route, n int, opts ...signalrt.SendOption) int {
	t.Helper()
	var enqueued int
	err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		return signalrt.Send(context.Background(), tx, "test", rs, num{N: n}, append(opts, signalrt.Enqueued(&enqueued))...)
	})
	if err != nil {
		t.Fatal(err)
	}
	return enqueued
}

func tasksOf(t testing.TB, pool *pgxpool.Pool, receiver string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM signal_task WHERE receiver = $1", receiver).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUniqueSendsFromConcurrentTransactions(t *testing.T) {
	pool := pgtest.Pool(t)
	rs := routes("a", "b", "c")
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	start := make(chan struct{})
	for i := range 16 {
		wg.Go(func() {
			<-start
			n := sendUnique(t, pool, rs, i, signalrt.Unique("order-12"))
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	for _, k := range []string{"a", "b", "c"} {
		if n := tasksOf(t, pool, k); n != 1 {
			t.Errorf("receiver %s: %d tasks after 16 concurrent unique sends; want 1", k, n)
		}
	}
	if total != 3 {
		t.Errorf("the senders were told they enqueued %d tasks in all; want 3", total)
	}
	// Another key is another task; a plain send is never deduplicated.
	if n := sendUnique(t, pool, rs, 0, signalrt.Unique("order-13")); n != 3 {
		t.Errorf("a send with another key enqueued %d; want 3", n)
	}
	if n := sendUnique(t, pool, rs, 0); n != 3 {
		t.Errorf("a plain send enqueued %d; want 3", n)
	}
}

func TestUniqueSendPerReceiver(t *testing.T) {
	pool := pgtest.Pool(t)
	if n := sendUnique(t, pool, routes("a"), 1, signalrt.Unique("k")); n != 1 {
		t.Fatalf("first send: %d", n)
	}
	// a holds k; b does not: only b gets a task.
	if n := sendUnique(t, pool, routes("a", "b"), 2, signalrt.Unique("k")); n != 1 {
		t.Errorf("second send enqueued %d; want 1 (for b only)", n)
	}
	if a, b := tasksOf(t, pool, "a"), tasksOf(t, pool, "b"); a != 1 || b != 1 {
		t.Errorf("tasks: a %d, b %d; want 1 each", a, b)
	}
}

func TestUniqueSendRolledBackHoldsNothing(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var first int
	if err := signalrt.Send(ctx, tx, "test", routes("a"), num{N: 1}, signalrt.Unique("k"), signalrt.Enqueued(&first)); err != nil || first != 1 {
		t.Fatalf("send in the first transaction: %v, enqueued %d", err, first)
	}
	// A concurrent send of the same key waits for the first transaction
	// (the unique index), and enqueues once that one rolls back.
	done := make(chan int)
	go func() { done <- sendUnique(t, pool, routes("a"), 2, signalrt.Unique("k")) }()
	select {
	case n := <-done:
		t.Fatalf("the second send returned (%d) while the first transaction held the key", n)
	case <-time.After(200 * time.Millisecond):
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n := <-done; n != 1 {
		t.Errorf("after the rollback, the waiting send enqueued %d; want 1", n)
	}
	if n := tasksOf(t, pool, "a"); n != 1 {
		t.Errorf("%d tasks; want 1", n)
	}
}

func TestUniqueKeyFreedWhenTheTaskEndsAndRetry(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	fail := true
	table := signalrt.Table{{Key: "a", Signal: "test", Handle: signalrt.Typed(func(context.Context, num) error {
		if fail {
			return signalrt.Permanent(errors.New("boom"))
		}
		return nil
	})}}
	if n := sendUnique(t, pool, routes("a"), 1, signalrt.Unique("k")); n != 1 {
		t.Fatal(n)
	}
	if _, err := signalrt.RunUntilIdle(ctx, pool, table); err != nil {
		t.Fatal(err)
	}
	dead := onlyTask(t, pool, "a")
	if dead.State != signalrt.StateDead {
		t.Fatalf("task %+v; want dead", dead)
	}
	// A dead task does not hold its key.
	if n := sendUnique(t, pool, routes("a"), 2, signalrt.Unique("k")); n != 1 {
		t.Fatalf("send after the task died enqueued %d; want 1", n)
	}
	// Retrying the dead task while the new one is pending would make two:
	// it is skipped, without an error.
	if n, err := signalrt.Retry(ctx, pool, dead.ID); err != nil || n != 0 {
		t.Errorf("Retry of the dead task while its key is pending: %d, %v; want 0, nil", n, err)
	}
	if n, err := signalrt.RetryMatching(ctx, pool, signalrt.TaskQuery{State: signalrt.StateDead}); err != nil || n != 0 {
		t.Errorf("RetryMatching while the key is pending: %d, %v; want 0, nil", n, err)
	}
	fail = false
	if _, err := signalrt.RunUntilIdle(ctx, pool, table); err != nil {
		t.Fatal(err)
	}
	// The pending task succeeded (and was deleted): the key is free, and the
	// dead task can be retried.
	if n, err := signalrt.Retry(ctx, pool, dead.ID); err != nil || n != 1 {
		t.Errorf("Retry once the key is free: %d, %v; want 1, nil", n, err)
	}
	if n := sendUnique(t, pool, routes("a"), 3, signalrt.Unique("k")); n != 0 {
		t.Errorf("a send while the retried task is pending enqueued %d; want 0", n)
	}
}

func TestUniqueForHoldsTheKeyAfterTheTaskEnds(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	table := signalrt.Table{{Key: "a", Signal: "test", Handle: signalrt.Typed(func(context.Context, num) error { return nil })}}
	if n := sendUnique(t, pool, routes("a"), 1, signalrt.UniqueFor("k", time.Hour)); n != 1 {
		t.Fatal(n)
	}
	if _, err := signalrt.RunUntilIdle(ctx, pool, table); err != nil {
		t.Fatal(err)
	}
	if n := tasksOf(t, pool, "a"); n != 0 {
		t.Fatalf("%d tasks left after the run", n)
	}
	if n := sendUnique(t, pool, routes("a"), 2, signalrt.UniqueFor("k", time.Hour)); n != 0 {
		t.Errorf("send within the hour enqueued %d; want 0", n)
	}
	// Unique (no window) does not look at the window.
	if n := sendUnique(t, pool, routes("a"), 3, signalrt.Unique("k")); n != 1 {
		t.Errorf("Unique send enqueued %d; want 1", n)
	}
	if _, err := signalrt.RunUntilIdle(ctx, pool, table); err != nil {
		t.Fatal(err)
	}
	// Once the window has passed, the key is taken again.
	pgtest.Exec(t, pool, "UPDATE signal_unique SET until = now() - interval '1 second'")
	if n := sendUnique(t, pool, routes("a"), 4, signalrt.UniqueFor("k", time.Hour)); n != 1 {
		t.Errorf("send after the window enqueued %d; want 1", n)
	}
}
