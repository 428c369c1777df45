package signalrt

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
)

// GeneratedCodeVersion1 is referenced by code that signalgen generates
// (`const _ = signalrt.GeneratedCodeVersion1`). When the runtime changes in a
// way that old generated code cannot follow, the constant is renamed, and
// stale generated code stops compiling with an error that names it: re-run
// go generate.
const GeneratedCodeVersion1 = true

// Handler runs one receiver for one task: it decodes the JSON payload and
// calls the receiver. Generated dispatch tables build handlers with [Typed].
type Handler func(ctx context.Context, payload []byte) error

// Receiver is one entry of a dispatch table: a receiver key, the signal it
// listens to, the queue its tasks run on, and the handler that runs it.
type Receiver struct {
	// Key is the stable receiver key stored in each task row.
	Key string
	// Signal is the name of the signal the receiver listens to.
	Signal string
	// Queue is the queue the receiver's tasks are sent to.
	Queue string
	// Handle decodes a payload and calls the receiver.
	Handle Handler
	// Contract is the fingerprint of the payload contract that Handle
	// decodes: a hash of the JSON shape of the signal's payload, as
	// signalgen computes it and records it in the module's contract file.
	// Workers publish it in the registry of live workers, so that during a
	// rolling deploy a worker that cannot decode a task's payload can leave
	// it to a live worker of another version that can. Empty means unknown.
	Contract string
	// Limit bounds how the receiver's tasks start, across all workers (the
	// concurrency=, rate= and burst= options of its directive); the zero
	// Limit limits nothing. Config.Limits overrides it.
	Limit Limit
	// Decode decodes a payload as Handle does, without calling the
	// receiver: [CheckTasks] uses it to find queued tasks that this binary
	// could not run. Generated tables set it with [DecodeAs]; nil means
	// the receiver's payloads are not checked.
	Decode func(payload []byte) error
	// Unbound is set by generated tables on a method receiver whose
	// instance the table was built without (a nil pointer given to the
	// generated Table function), and names that parameter. [NewWorker] and
	// [WithInline] refuse such a receiver instead of calling a method on
	// nil; [CheckTasks], which calls no receiver, accepts it.
	Unbound string
}

// unbound returns the error of a table whose receiver r has no instance.
func (r Receiver) unbound() error {
	return fmt.Errorf("receiver %s: %s is nil: pass the instance its method runs on when you build the dispatch table "+
		"(only CheckTasks, which calls no receiver, accepts a table with nil instances)", r.Key, r.Unbound)
}

// Table is a static dispatch table from receiver keys to handlers, as built
// by a generated dispatch package. A worker claims only the tasks of the
// receivers in its table. A task whose key no live worker's table has
// waits for one, as during a rolling deploy; once it has been due for
// [Config].OrphanGrace with no such worker, it ends dead as "unknown
// receiver", to be retried after a deploy that knows the key.
type Table []Receiver

// lookup returns the table as a map from key to receiver. It reports a
// duplicate or empty key, and a receiver without a handler, as an error.
func (t Table) lookup() (map[string]Receiver, error) {
	m := make(map[string]Receiver, len(t))
	for _, r := range t {
		if r.Key == "" {
			return nil, fmt.Errorf("signal %q: receiver with an empty key", r.Signal)
		}
		if r.Handle == nil {
			return nil, fmt.Errorf("receiver %q: no handler", r.Key)
		}
		if _, dup := m[r.Key]; dup {
			return nil, fmt.Errorf("receiver %q appears twice in the dispatch table", r.Key)
		}
		m[r.Key] = r
	}
	return m, nil
}

// queues returns the sorted set of queues the table's receivers use.
func (t Table) queues() []string {
	seen := map[string]bool{}
	var qs []string
	for _, r := range t {
		q := queueOrDefault(r.Queue)
		if !seen[q] {
			seen[q] = true
			qs = append(qs, q)
		}
	}
	sort.Strings(qs)
	return qs
}

// DecodeAs decodes payload into a P as [Typed] does, and discards it.
// Generated dispatch tables set [Receiver.Decode] to DecodeAs of the
// type the receiver decodes.
func DecodeAs[P any](payload []byte) error {
	var p P
	if err := json.Unmarshal(payload, &p); err != nil {
		return fmt.Errorf("payload does not decode into %T: %w", p, err)
	}
	return nil
}

// Typed returns a [Handler] that decodes the task payload as JSON into a P
// and calls fn with it. A payload that does not decode into P is a
// [Permanent] [DecodeError]: retrying cannot fix it. During a rolling
// deploy the worker then leaves the task to a live worker of another
// version whose payload contract differs (see [Config].OrphanGrace);
// otherwise the task ends dead with the decoding error and can be retried
// after a deploy.
//
// Generated dispatch tables use it to bind each receiver:
//
//	signalrt.Typed(func(ctx context.Context, p payments.PaymentProcessCompletedPayload) error {
//		return shipping.ReserveStock(ctx, p.OrderID, p.Lines)
//	})
func Typed[P any](fn func(ctx context.Context, p P) error) Handler {
	return func(ctx context.Context, payload []byte) error {
		var p P
		if err := json.Unmarshal(payload, &p); err != nil {
			return Permanent(&DecodeError{Type: fmt.Sprintf("%T", p), Err: err})
		}
		return fn(ctx, p)
	}
}
