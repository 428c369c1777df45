package signalrt

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Hooks wrap the runtime's work, for tracing, metrics or logs: every send
// and every attempt of a receiver in this process. Install them with [Use];
// package otelsignal is one set of hooks. Each hook must call next exactly
// once, with the context it wants the work to see, and return next's error
// (it may record it; it must not drop it).
type Hooks struct {
	// Send wraps each [Send] to a database (not the inline sends of
	// [WithInline]). A hook may put entries into info.Headers before it
	// calls next: they are stored with each of the send's tasks and given
	// to every attempt (AttemptInfo.Headers), as a W3C trace context is.
	Send func(ctx context.Context, info *SendInfo, next func(context.Context) error) error
	// Attempt wraps each attempt of a receiver in a worker (and in
	// RunUntilIdle). next runs the receiver, with the receiver's timeout,
	// on the context it is given. The worker's log records about the
	// attempt's result are written with that context too, so that a
	// slog.Handler can take a trace id from it.
	Attempt func(ctx context.Context, info AttemptInfo, next func(context.Context) error) error
}

// SendInfo describes one send, for [Hooks].Send.
type SendInfo struct {
	Signal string
	// Routes are the receivers the send enqueues a task for.
	Routes []Route
	// Headers travel with the tasks (see Hooks.Send); nil when empty.
	Headers map[string]string
}

// AttemptInfo describes one attempt of a task, for [Hooks].Attempt.
type AttemptInfo struct {
	TaskInfo
	Queue string
	// RunAt is when the task became due: the attempt's start minus RunAt
	// is how long it waited in the queue.
	RunAt time.Time
	// Headers are what the send's hooks stored with the task.
	Headers map[string]string
}

// Outcome is what becomes of a task after an attempt.
type Outcome string

// The outcomes of an attempt.
const (
	OutcomeSucceeded Outcome = "succeeded" // the receiver returned nil
	OutcomeRetry     Outcome = "retry"     // failed; it runs again after a backoff
	OutcomeDead      Outcome = "dead"      // failed for good: a permanent error, or its last attempt
	OutcomeSnoozed   Outcome = "snoozed"   // the receiver returned Snooze
)

// OutcomeOf returns what becomes of the task after an attempt that returned
// err, as the worker decides it. (One case it cannot know in a hook: a
// payload that does not decode is given to a live worker of another
// version, if there is one, rather than dead.)
func OutcomeOf(info AttemptInfo, err error) Outcome {
	if err == nil {
		return OutcomeSucceeded
	}
	var snooze *SnoozeError // on the heap (errors.As): only for errors
	switch {
	case errors.As(err, &snooze):
		return OutcomeSnoozed
	case IsPermanent(err) || info.Attempt >= info.MaxAttempts:
		return OutcomeDead
	}
	return OutcomeRetry
}

// hooks are the installed hooks, read without a lock on every send and
// attempt.
var (
	hooks   atomic.Pointer[hookSet]
	hooksMu sync.Mutex
)

// Use installs hooks for every send, and every attempt of every worker, in
// this process, around those installed before (the first installed is the
// outermost), and returns a function that removes them again (tests, and
// programs that reconfigure). Generated senders have no configuration of
// their own, so a send's hooks are the process's; a worker's attempts also
// go through its [Config].Hooks, inside these. Call Use at start-up,
// before the first send.
func Use(h Hooks) (remove func()) {
	id := new(int) // identifies this installation, for remove
	hooksMu.Lock()
	set := &hookSet{}
	if old := hooks.Load(); old != nil {
		set.ids, set.hooks = append(set.ids, old.ids...), append(set.hooks, old.hooks...)
	}
	set.ids, set.hooks = append(set.ids, id), append(set.hooks, h)
	hooks.Store(set)
	hooksMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			hooksMu.Lock()
			defer hooksMu.Unlock()
			old := hooks.Load()
			if old == nil {
				return
			}
			kept := &hookSet{}
			for i, x := range old.ids {
				if x != id {
					kept.ids, kept.hooks = append(kept.ids, x), append(kept.hooks, old.hooks[i])
				}
			}
			if len(kept.hooks) == 0 {
				kept = nil
			}
			hooks.Store(kept)
		})
	}
}

// hookSet is what Use installed, in order, with the identities that
// remove them.
type hookSet struct {
	ids   []*int
	hooks []Hooks
}

// installed returns the hooks installed with Use; nil when there are
// none. It allocates nothing: sends and attempts call it.
func installed() []Hooks {
	if p := hooks.Load(); p != nil {
		return p.hooks
	}
	return nil
}

// withSendHooks runs send through the Send hooks.
func withSendHooks(ctx context.Context, hs []Hooks, info *SendInfo, send func(context.Context) error) error {
	next := send
	for i := len(hs) - 1; i >= 0; i-- {
		if h, inner := hs[i].Send, next; h != nil {
			next = func(ctx context.Context) error { return h(ctx, info, inner) }
		}
	}
	return next(ctx)
}

// withAttemptHooks runs attempt through the Attempt hooks.
func withAttemptHooks(ctx context.Context, hs []Hooks, info AttemptInfo, attempt func(context.Context) error) error {
	if len(hs) == 1 && hs[0].Attempt != nil { // the common case, without a closure per attempt
		return hs[0].Attempt(ctx, info, attempt)
	}
	next := attempt
	for i := len(hs) - 1; i >= 0; i-- {
		if h, inner := hs[i].Attempt, next; h != nil {
			next = func(ctx context.Context) error { return h(ctx, info, inner) }
		}
	}
	return next(ctx)
}

// encodeHeaders returns headers as the JSON text stored with a task; nil
// when there are none.
func encodeHeaders(h map[string]string) (*string, error) {
	if len(h) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	s := string(b)
	return &s, nil
}

// decodeHeaders returns the headers stored with a task; nil when there are
// none or they do not decode (headers are advisory: a bad one must not fail
// the task).
func decodeHeaders(b []byte) map[string]string {
	if len(b) == 0 {
		return nil
	}
	var h map[string]string
	if json.Unmarshal(b, &h) != nil {
		return nil
	}
	return h
}

// attemptHooks returns the hooks of the worker's attempts: the process's
// (Use), then the worker's own (Config.Hooks); nil when there are none.
func (w *Worker) attemptHooks() []Hooks {
	global := installed()
	switch {
	case len(w.cfg.Hooks) == 0:
		return global
	case len(global) == 0:
		return w.cfg.Hooks
	}
	return append(slices.Clone(global), w.cfg.Hooks...)
}
