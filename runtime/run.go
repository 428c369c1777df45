package runtime

import (
	"context"
	"fmt"
	"runtime/debug"
)

// PanicError is the failure recorded when a receiver panics: the panic value
// and the goroutine's stack at the panic.
type PanicError struct {
	Value any
	Stack []byte
}

// Error returns the panic value followed by the stack.
func (e *PanicError) Error() string {
	return fmt.Sprintf("panic: %v\n\n%s", e.Value, e.Stack)
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
