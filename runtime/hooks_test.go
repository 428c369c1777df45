package runtime_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	signalrt "github.com/reliablesignals/signals/runtime"
)

// TestHooksCarryHeadersFromSendToEveryAttempt installs hooks (process-wide,
// so they act only on their own signal, hooktest) and checks that the
// headers a Send hook sets reach each attempt of each receiver, that the
// hooks see the outcomes, and that a hook's context reaches the receiver.
func TestHooksCarryHeadersFromSendToEveryAttempt(t *testing.T) {
	pool := setup(t)
	ctx := context.Background()
	type ctxKey struct{}
	var mu sync.Mutex
	var seen []string
	signalrt.Use(signalrt.Hooks{
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
	})
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
