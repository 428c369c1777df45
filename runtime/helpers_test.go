package signalrt_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reliablesignals/signals/internal/pgtest"
	signalrt "github.com/reliablesignals/signals/runtime"
)

// num is the payload of the test signals.
type num struct {
	N int `json:"n"`
}

// recorder counts, per receiver key, the payloads it was called with.
type recorder struct {
	mu    sync.Mutex
	calls map[string][]int
}

func newRecorder() *recorder { return &recorder{calls: map[string][]int{}} }

func (r *recorder) record(key string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[key] = append(r.calls[key], n)
}

func (r *recorder) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls[key])
}

// handler returns a receiver that records its call and then returns what
// fn returns (fn may be nil).
func (r *recorder) handler(key string, fn func(ctx context.Context, p num) error) signalrt.Receiver {
	return signalrt.Receiver{Key: key, Signal: "test", Queue: signalrt.DefaultQueue, Handle: signalrt.Typed(func(ctx context.Context, p num) error {
		r.record(key, p.N)
		if fn == nil {
			return nil
		}
		return fn(ctx, p)
	})}
}

func routes(keys ...string) []signalrt.Route {
	rs := make([]signalrt.Route, len(keys))
	for i, k := range keys {
		rs[i] = signalrt.Route{Receiver: k}
	}
	return rs
}

// send sends one signal with the given routes in its own committed transaction.
func send(t testing.TB, pool *pgxpool.Pool, rs []signalrt.Route, n int, opts ...signalrt.SendOption) {
	t.Helper()
	err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		return signalrt.Send(context.Background(), tx, "test", rs, num{N: n}, opts...)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// quiet is a logger that drops everything; set testing.Verbose logs with -v.
func quiet() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(&testWriter{}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{}

func (testWriter) Write(p []byte) (int, error) { fmt.Print(string(p)); return len(p), nil }

// fastConfig retries at once and polls often, so tests do not wait, and
// keeps succeeded tasks so that tests can look at them.
func fastConfig() signalrt.Config {
	return signalrt.Config{
		Backoff:      func(int) time.Duration { return 10 * time.Millisecond },
		PollInterval: 50 * time.Millisecond,
		Retention:    time.Hour,
		Logger:       quiet(),
	}
}

// startWorker runs a worker until the test ends or stop is called; stop
// returns Run's error.
func startWorker(t testing.TB, pool *pgxpool.Pool, table signalrt.Table, cfg signalrt.Config) (w *signalrt.Worker, stop func() error) {
	t.Helper()
	w, err := signalrt.NewWorker(pool, table, signalrt.WithTestEvents(cfg, func(string) { wake(runtimeEvents) }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return w, stop
}

// runtimeEvents is signalled by every worker that startWorker started, at
// each of its events (a claim, a recorded result, its registration).
var runtimeEvents = make(chan struct{}, 1)

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// waitFor checks cond whenever a worker of the tests reports an event, and
// at least every 50 ms (for what no event reports: a child process, a
// receiver's own channel), failing the test after a generous deadline (a
// correctness bound, not a timing assertion).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		case <-runtimeEvents:
		case <-tick.C:
		}
	}
}

// states returns the number of tasks per state.
func states(t testing.TB, pool *pgxpool.Pool) map[signalrt.TaskState]int64 {
	t.Helper()
	queues, err := signalrt.QueueOverview(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	m := map[signalrt.TaskState]int64{}
	for _, q := range queues {
		for st, n := range map[signalrt.TaskState]int64{
			signalrt.StateAvailable: q.Available, signalrt.StateRunning: q.Running,
			signalrt.StateDead: q.Dead, signalrt.StateSucceeded: q.Succeeded,
		} {
			if n > 0 {
				m[st] += n
			}
		}
	}
	return m
}

// tasks returns every task that matches q, whole (GetTask), oldest first.
func tasks(t testing.TB, pool *pgxpool.Pool, q signalrt.TaskQuery) []signalrt.Task {
	t.Helper()
	ctx := context.Background()
	q.Limit, q.Scan = signalrt.MaxSearchLimit, signalrt.MaxSearchScan
	var all []signalrt.Task
	for {
		page, err := signalrt.SearchTasks(ctx, pool, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Tasks {
			task, err := signalrt.GetTask(ctx, pool, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, task)
		}
		if page.Next == 0 {
			break
		}
		q.BeforeID = page.Next
	}
	slices.Reverse(all)
	return all
}

// onlyTask returns the single task of receiver key.
func onlyTask(t testing.TB, pool *pgxpool.Pool, key string) signalrt.Task {
	t.Helper()
	ts := tasks(t, pool, signalrt.TaskQuery{Receiver: key})
	if len(ts) != 1 {
		t.Fatalf("receiver %s has %d tasks, want 1", key, len(ts))
	}
	return ts[0]
}

func setup(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return pgtest.Pool(t)
}

var errBoom = errors.New("boom")

// listTasks is tasks, with an error for the call sites that check one.
func listTasks(t testing.TB, pool *pgxpool.Pool, q signalrt.TaskQuery) ([]signalrt.Task, error) {
	t.Helper()
	return tasks(t, pool, q), nil
}
