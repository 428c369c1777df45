package signalrt_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// TestHooksCarryHeadersFromSendToEveryAttempt installs hooks (process-wide,
// so they act only on their own signal, hooktest, and are removed at the
// end) and checks that the
// headers a Send hook sets reach each attempt of each receiver, that the
// hooks see the outcomes, and that a hook's context reaches the receiver.
func TestHooksCarryHeadersFromSendToEveryAttempt(t *testing.T) {
	pool := setup(t)
	ctx := context.Background()
	type ctxKey struct{}
	var mu sync.Mutex
	var seen []string
	t.Cleanup(signalrt.Use(signalrt.Hooks{
		Send: func(ctx context.Context, info *signalrt.SendInfo, next func(context.Context) error) error {
			if info.Signal == "hooktest" {
				info.Headers = map[string]string{"traceparent": "00-abc-def-01", "routes": string(rune('0' + len(info.Routes)))}
			}
			return next(ctx)
		},
		Attempt: func(ctx context.Context, info signalrt.AttemptInfo, next func(context.Context) error) error {
			if info.Signal != "hooktest" {
				return next(ctx)
			}
			err := next(context.WithValue(ctx, ctxKey{}, "from the hook"))
			mu.Lock()
			seen = append(seen, info.Receiver+" "+info.Headers["traceparent"]+" "+info.Headers["routes"]+" "+string(signalrt.OutcomeOf(info, err)))
			mu.Unlock()
			return err
		},
	}))
	var got []string
	handler := func(key string, fail bool) signalrt.Receiver {
		return signalrt.Receiver{Key: key, Signal: "hooktest", Handle: func(ctx context.Context, _ []byte) error {
			mu.Lock()
			got = append(got, key+" "+ctx.Value(ctxKey{}).(string))
			mu.Unlock()
			if fail {
				return signalrt.Permanent(errors.New("no"))
			}
			return nil
		}}
	}
	if err := signalrt.Send(ctx, pool, "hooktest", routes("h1", "h2"), num{N: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := signalrt.RunUntilIdle(ctx, pool, signalrt.Table{handler("h1", false), handler("h2", true)}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || len(got) != 2 {
		t.Fatalf("hooks saw %q, receivers %q", seen, got)
	}
	want := map[string]bool{"h1 00-abc-def-01 2 succeeded": true, "h2 00-abc-def-01 2 dead": true}
	for _, s := range seen {
		if !want[s] {
			t.Errorf("hook saw %q; want one of %v", s, want)
		}
	}
	for _, g := range got {
		if g != "h1 from the hook" && g != "h2 from the hook" {
			t.Errorf("receiver saw %q", g)
		}
	}
	// A send without headers stores NULL.
	send(t, pool, routes("plain"), 1)
	if n := queryInt(t, pool, "SELECT count(*) FROM signal_task WHERE receiver = 'plain' AND headers IS NULL"); n != 1 {
		t.Errorf("a send whose hooks set no header stored headers")
	}
}

// TestUseRemovesAndConfigHooksAreTheWorkers: the function Use returns
// removes those hooks, and a worker's Config.Hooks wrap its own attempts
// only.
func TestUseRemovesAndConfigHooksAreTheWorkers(t *testing.T) {
	pool := setup(t)
	ctx := context.Background()
	var mu sync.Mutex
	var calls []string
	hook := func(name string) signalrt.Hooks {
		return signalrt.Hooks{Attempt: func(ctx context.Context, info signalrt.AttemptInfo, next func(context.Context) error) error {
			if info.Signal == "usetest" {
				mu.Lock()
				calls = append(calls, name+" "+info.Receiver)
				mu.Unlock()
			}
			return next(ctx)
		}}
	}
	remove := signalrt.Use(hook("global"))
	table := signalrt.Table{{Key: "u1", Signal: "usetest", Handle: func(context.Context, []byte) error { return nil }}}
	cfg := signalrt.Config{Hooks: []signalrt.Hooks{hook("worker")}}
	w, err := signalrt.NewWorker(pool, table, cfg)
	if err != nil {
		t.Fatal(err)
	}
	run := func() {
		t.Helper()
		if err := signalrt.Send(ctx, pool, "usetest", routes("u1"), num{N: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.RunUntilIdle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	run()
	remove()
	remove() // a second call changes nothing
	run()
	if _, err := signalrt.RunUntilIdle(ctx, pool, table); err != nil { // no worker hooks, no global ones
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"global u1", "worker u1", "worker u1"}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Errorf("hooks called %q, want %q (global then worker; then worker alone once removed)", calls, want)
	}
}
