package signalrt

// The runtime's errors: the sentinels callers test with errors.Is, and
// the error types they test with errors.As.

import (
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrTaskNotFound is the error, wrapped, of [GetTask] for an id that no
// task has: it never existed, or it was deleted (succeeded tasks are
// deleted at once unless Config.Retention keeps them; Cancel and Discard
// delete too). Test for it with errors.Is.
var ErrTaskNotFound = errors.New("no such task")

// ErrCancelled is the cause ([context.Cause]) of a receiver's context when
// its task was cancelled with [Cancel] or [CancelMatching] while it ran, or
// when the task stopped being this worker's (its lease ran out and another
// worker took it up).
var ErrCancelled = errors.New("task cancelled")

// ErrPayloadTooLarge is the error of a send whose encoded payload is over
// the limit of [SetMaxPayloadBytes].
var ErrPayloadTooLarge = errors.New("payload too large")

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

// DecodeError is the error of a handler built by [Typed] whose task payload
// does not decode into the receiver's payload type. It is returned wrapped
// in a [PermanentError].
type DecodeError struct {
	// Type is the Go type the payload was decoded into.
	Type string
	// Err is encoding/json's error.
	Err error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("payload does not decode into %s: %v", e.Type, e.Err)
}

// Unwrap returns encoding/json's error.
func (e *DecodeError) Unwrap() error { return e.Err }

// migrateHint adds what to do to an error that says the runtime's tables
// do not exist (SQLSTATE 42P01): the schema was not migrated, or the
// connection's search_path does not reach it.
func migrateHint(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" {
		return fmt.Errorf("%w: the runtime's tables are missing; run signalrt.Migrate (or signalctl migrate) on this database, "+
			"and check that the connection's search_path names the schema that holds them", err)
	}
	return err
}

// PermanentError marks a receiver error that retrying cannot fix. A task whose
// receiver returns one ends dead at once, with the error kept in its history.
// Create one with [Permanent].
type PermanentError struct {
	Err error
}

// Error returns the wrapped error's message.
func (e *PermanentError) Error() string {
	if e.Err == nil {
		return "permanent error"
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that the worker does not retry the task: it ends
// dead at once. Permanent(nil) returns nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err, or an error it wraps, is a [PermanentError].
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// SnoozeError asks the worker to run the task again after Delay, without
// counting the attempt and without recording an error. Create one with
// [Snooze].
type SnoozeError struct {
	Delay time.Duration
}

// Error says for how long the task was snoozed.
func (e *SnoozeError) Error() string { return fmt.Sprintf("snoozed for %s", e.Delay) }

// Snooze returns the error a receiver returns to run its task again after
// d, without counting this attempt against the task's attempts and without
// adding to its error history: for an upstream that said "try later" (a
// rate limit, a 429 with Retry-After). The attempt number stays the same,
// so a receiver that snoozes forever runs forever; bound it yourself, for
// example with the task's age. [RunUntilIdle] counts a snooze as a retry;
// in inline mode ([WithInline]) the sender gets the error.
func Snooze(d time.Duration) error {
	return &SnoozeError{Delay: max(d, 0)}
}
