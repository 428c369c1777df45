package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	w, err := signalrt.NewWorker(pool, table, cfg)
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

// waitFor polls cond until it holds, failing the test after a generous
// deadline (a correctness bound, not a timing assertion).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// states returns the number of tasks per state.
func states(t testing.TB, pool *pgxpool.Pool) map[string]int64 {
	t.Helper()
	counts, err := signalrt.CountTasks(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	for _, c := range counts {
		m[c.State] += c.N
	}
	return m
}

// onlyTask returns the single task of receiver key.
func onlyTask(t testing.TB, pool *pgxpool.Pool, key string) signalrt.Task {
	t.Helper()
	ts, err := signalrt.ListTasks(context.Background(), pool, signalrt.TaskFilter{Receiver: key})
	if err != nil {
		t.Fatal(err)
	}
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
