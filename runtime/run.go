package signalrt

import (
	"context"
	"runtime/debug"
)

// TaskInfo describes the task a receiver is running.
type TaskInfo struct {
	ID          int64
	Signal      string
	Receiver    string
	Attempt     int // 1 for the first attempt
	MaxAttempts int
}

type taskInfoKey struct{}

// TaskFromContext returns the task that the receiver called with ctx is
// running. It reports false outside a worker (for example in inline mode).
func TaskFromContext(ctx context.Context) (TaskInfo, bool) {
	t, ok := ctx.Value(taskInfoKey{}).(*TaskInfo)
	if !ok {
		return TaskInfo{}, false
	}
	return *t, true
}

// runHandler calls h, turning a panic into a *PanicError.
func runHandler(ctx context.Context, h Handler, payload []byte) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return h(ctx, payload)
}
