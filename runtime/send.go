package signalrt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/reliablesignals/signals/runtime/internal/dbsqlc"
	"github.com/reliablesignals/signals/runtime/internal/notify"
)

// DefaultQueue is the queue of a receiver that names none.
const DefaultQueue = "default"

// DefaultMaxAttempts is the number of attempts of a receiver that sets no
// attempts= option.
const DefaultMaxAttempts = 25

// Executor runs SQL: a pgx.Tx, a *pgxpool.Pool or a *pgx.Conn. Send inside
// the caller's transaction by passing its pgx.Tx; the tasks then commit or
// roll back with it.
type Executor interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Route is one receiver of a signal as its sender knows it: by key, never by
// import. Generated senders hold one Route per receiver.
type Route struct {
	// Receiver is the receiver key; the worker's dispatch table maps it to code.
	Receiver string
	// Queue is the queue the task is put on; empty means [DefaultQueue].
	Queue string
	// MaxAttempts is how many times the receiver is tried before its task
	// ends dead; 0 means [DefaultMaxAttempts].
	MaxAttempts int
	// Timeout bounds one attempt through its context; 0 means the worker's
	// default timeout.
	Timeout time.Duration
	// Priority orders the due tasks of a queue: higher first, equal
	// priorities by due time. From [MinPriority] to [MaxPriority]; the
	// default is 0. The [Priority] send option overrides it for one send.
	Priority int
}

// MinPriority and MaxPriority bound the priority of a task ([Route.Priority],
// the [Priority] send option); the default is 0.
const (
	MinPriority = -100
	MaxPriority = 100
)

// SendOption changes how one send is enqueued.
type SendOption func(*sendOptions)

type sendOptions struct {
	runAt     time.Time     // At; zero when not given
	delay     time.Duration // After
	priority  *int          // Priority; nil when not given
	unique    *string       // Unique, UniqueFor
	uniqueFor time.Duration // UniqueFor
	enqueued  *int          // Enqueued
}

// After delays the signal's tasks: they become available to workers d after
// the start of the sending transaction, by the database's clock (now()), so
// that the clocks of the sending machines do not matter.
func After(d time.Duration) SendOption {
	return func(o *sendOptions) { o.runAt, o.delay = time.Time{}, max(d, 0) }
}

// At delays the signal's tasks until t.
func At(t time.Time) SendOption {
	return func(o *sendOptions) { o.runAt, o.delay = t, 0 }
}

// Unique deduplicates the send by key: a receiver that already has a task
// sent with the same key, available or running (waiting to retry
// included), gets no second task from this send. Each receiver of the
// signal is deduplicated on its own; the key is compared per receiver,
// across signals. Once the task has succeeded or is dead, the key is free
// again. Use the identity of what the signal is about, such as
// "order-12-paid".
//
// The database decides, with a unique index, so concurrent senders in
// separate transactions enqueue one task per receiver between them; a
// sender whose transaction rolls back holds nothing. A send that creates no
// task still succeeds: pass [Enqueued] to learn how many tasks it created.
//
// Retrying a dead task whose key is held by a pending task of the same
// receiver skips it (see [Retry]). A unique send costs a little more than
// a plain one: an insert that checks the partial unique index.
func Unique(key string) SendOption {
	return func(o *sendOptions) { o.unique, o.uniqueFor = &key, 0 }
}

// UniqueFor is [Unique] that also holds the key for d after the send that
// took it, whether or not its task has finished by then: at most one task
// per receiver and key every d (a debounce), and none while one is pending.
// The window starts at the send that created the task, by the database's
// clock.
func UniqueFor(key string, d time.Duration) SendOption {
	return func(o *sendOptions) { o.unique, o.uniqueFor = &key, max(d, 0) }
}

// Enqueued makes the send store in *n how many tasks it created: one per
// route, fewer when [Unique] or [UniqueFor] skipped receivers that have
// their key, 0 when the send returned an error. In a transaction the count
// is what the send inserted; the tasks exist once the transaction commits.
func Enqueued(n *int) SendOption {
	return func(o *sendOptions) { o.enqueued = n }
}

// Priority gives all the tasks of one send priority n, from [MinPriority]
// to [MaxPriority], instead of their routes' priorities ([Route.Priority],
// the priority= option of the receiver directive): within a queue, due
// tasks of higher priority are claimed first. Use it to put one urgent
// signal ahead of a backlog, or one bulk signal behind everything else. A
// priority out of range fails the send.
func Priority(n int) SendOption {
	return func(o *sendOptions) { o.priority = &n }
}

var queries = dbsqlc.New()

// DefaultMaxPayloadBytes is the default of [SetMaxPayloadBytes]: 1 MiB.
const DefaultMaxPayloadBytes = 1 << 20

var maxPayloadBytes atomic.Int64

func init() { maxPayloadBytes.Store(DefaultMaxPayloadBytes) }

// SetMaxPayloadBytes sets the largest payload, in bytes of JSON, that Send
// in this process accepts (default [DefaultMaxPayloadBytes]); 0 removes the
// limit. A larger payload fails the send with [ErrPayloadTooLarge] before
// anything is sent to the database, naming the signal and the size: the
// caller's transaction is left as it was. Every receiver's task stores a
// copy of the payload and every attempt loads it, so a payload is best an
// id and a few fields, not a document.
//
// It returns a function that restores the limit it replaced (for tests).
func SetMaxPayloadBytes(n int) (restore func()) {
	prev := maxPayloadBytes.Swap(int64(max(n, 0)))
	return func() { maxPayloadBytes.Store(prev) }
}

// Send enqueues one task per route for signal, carrying payload encoded as
// JSON, in one round trip on db, and asks PostgreSQL to wake the workers of
// the routes' queues (NOTIFY, delivered only when the transaction commits).
//
// Pass the caller's pgx.Tx as db to make the send atomic with the caller's
// work: if the transaction rolls back, no task exists. Send never runs a
// receiver, so a receiver's failure cannot fail the sender.
//
// The payload is stored as encoding/json writes it and delivered to each
// receiver byte for byte, whatever its strings hold (NUL and other control
// characters, any valid UTF-8). encoding/json replaces invalid UTF-8 in a
// string with U+FFFD when it encodes: the receiver gets the replacement,
// not the bytes that were sent, so carry binary data as []byte (base64).
//
// Generated senders call Send; user code calls the generated senders. Send
// with no routes is a no-op. In a context made by [WithInline], Send runs the
// receivers synchronously instead (see there).
func Send(ctx context.Context, db Executor, signal string, routes []Route, payload any, opts ...SendOption) error {
	if len(routes) == 0 {
		return nil
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("signal %s: encoding payload: %w", signal, err)
	}
	if limit := maxPayloadBytes.Load(); limit > 0 && int64(len(body)) > limit {
		return fmt.Errorf("signal %s: %w: %d bytes of JSON, over the limit of %d (signalrt.SetMaxPayloadBytes); send an id and let the receivers load the data",
			signal, ErrPayloadTooLarge, len(body), limit)
	}
	var o sendOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.enqueued != nil {
		*o.enqueued = 0
	}
	if in, ok := ctx.Value(inlineKey{}).(*inline); ok {
		if err := in.run(ctx, signal, routes, body); err != nil {
			return err
		}
		if o.enqueued != nil {
			*o.enqueued = len(routes) // run, not enqueued: Unique does not apply inline
		}
		return nil
	}
	arg := dbsqlc.InsertTasksParams{
		Signal:       signal,
		Receivers:    make([]string, len(routes)),
		Queues:       make([]string, len(routes)),
		MaxAttempts:  make([]int32, len(routes)),
		TimeoutsMs:   make([]int64, len(routes)),
		Priorities:   make([]int16, len(routes)),
		Payload:      string(body),
		DelaySeconds: o.delay.Seconds(),
	}
	if !o.runAt.IsZero() {
		arg.RunAt = &o.runAt
	}
	for i, r := range routes {
		if r.Receiver == "" {
			return fmt.Errorf("signal %s: route %d has no receiver key", signal, i)
		}
		arg.Receivers[i] = r.Receiver
		arg.Queues[i] = queueOrDefault(r.Queue)
		arg.MaxAttempts[i] = int32(max(r.MaxAttempts, 0))
		if r.MaxAttempts <= 0 {
			arg.MaxAttempts[i] = DefaultMaxAttempts
		}
		if r.Timeout < 0 {
			return fmt.Errorf("signal %s: route %s: timeout %v is negative; use 0 for the worker's default", signal, r.Receiver, r.Timeout)
		}
		arg.TimeoutsMs[i] = r.Timeout.Milliseconds()
		p := r.Priority
		if o.priority != nil {
			p = *o.priority
		}
		if p < MinPriority || p > MaxPriority {
			if o.priority != nil {
				return fmt.Errorf("signal %s: priority %d is out of range [%d, %d]", signal, p, MinPriority, MaxPriority)
			}
			return fmt.Errorf("signal %s: route %s: priority %d is out of range [%d, %d]", signal, r.Receiver, p, MinPriority, MaxPriority)
		}
		arg.Priorities[i] = int16(p)
	}
	var enqueued int
	batch, deferred := db.(*batchTx)
	if deferred && batch.ended {
		return fmt.Errorf("signal %s: sent on the transaction of a signalrt.BeginFunc that has returned: send inside fn", signal)
	}
	// In BeginFunc, a send without a unique key is one signal_send row,
	// fanned out into tasks by a worker (see BeginFunc); a unique send
	// inserts its tasks, which the unique index must see at once.
	fanOut := deferred && o.unique == nil
	// Delayed tasks are found by polling: waking workers now would not help.
	if o.delay == 0 && (o.runAt.IsZero() || !o.runAt.After(time.Now())) {
		if fanOut {
			arg.Notify = notifyLimit.Due(sendsNotifyKey)
		} else {
			arg.Notify = notifyLimit.Due(arg.Queues)
		}
	}
	var rec *recorder
	if deferred { // BeginFunc: keep the statement for the commit
		rec = &recorder{}
		db = rec
	}
	insert := func(ctx context.Context) (err error) {
		if fanOut {
			return insertSend(ctx, db, arg)
		}
		enqueued, err = insertTasks(ctx, db, arg, o)
		return err
	}
	if deferred {
		run := insert
		insert = func(ctx context.Context) error {
			if err := run(ctx); !errors.Is(err, errRecorded) {
				return err
			}
			batch.sends = append(batch.sends, deferredSend{
				signal: signal, tasks: len(routes), sql: rec.sql, args: rec.args,
				unique: o.unique != nil, enqueued: o.enqueued,
			})
			return nil
		}
	}
	if hs := installed(); hs != nil {
		info := &SendInfo{Signal: signal, Routes: routes}
		hooked := insert
		insert = func(ctx context.Context) error {
			h, err := encodeHeaders(info.Headers)
			if err != nil {
				return err
			}
			arg.Headers = h
			return hooked(ctx)
		}
		err = withSendHooks(ctx, hs, info, insert)
	} else {
		err = insert(ctx)
	}
	if err != nil {
		return fmt.Errorf("signal %s: enqueueing %d tasks: %w", signal, len(routes), migrateHint(err))
	}
	if o.enqueued != nil && !deferred {
		*o.enqueued = enqueued
	}
	return nil
}

// insertTasks runs the statement of a send on db and returns how many
// tasks it enqueued: the plain insert (without its NOTIFY part when no
// queue is due one), or with a unique key, with or without a window.
func insertTasks(ctx context.Context, db dbsqlc.DBTX, arg dbsqlc.InsertTasksParams, o sendOptions) (int, error) {
	switch {
	case o.unique != nil && o.uniqueFor > 0:
		r, err := queries.InsertUniqueForTasks(ctx, db, dbsqlc.InsertUniqueForTasksParams{
			Receivers: arg.Receivers, Queues: arg.Queues, MaxAttempts: arg.MaxAttempts, TimeoutsMs: arg.TimeoutsMs,
			Priorities: arg.Priorities, UniqueKey: *o.unique, UniqueForSeconds: o.uniqueFor.Seconds(),
			Signal: arg.Signal, Payload: arg.Payload, RunAt: arg.RunAt, DelaySeconds: arg.DelaySeconds,
			Headers: arg.Headers, Notify: arg.Notify,
		})
		return int(r.Enqueued), err
	case o.unique != nil:
		r, err := queries.InsertUniqueTasks(ctx, db, dbsqlc.InsertUniqueTasksParams{
			Signal: arg.Signal, Receivers: arg.Receivers, Queues: arg.Queues, MaxAttempts: arg.MaxAttempts,
			TimeoutsMs: arg.TimeoutsMs, Priorities: arg.Priorities, Payload: arg.Payload, RunAt: arg.RunAt,
			DelaySeconds: arg.DelaySeconds, Headers: arg.Headers, UniqueKey: *o.unique, Notify: arg.Notify,
		})
		return int(r.Enqueued), err
	case len(arg.Notify) == 0:
		err := queries.InsertTasksQuiet(ctx, db, dbsqlc.InsertTasksQuietParams{
			Signal: arg.Signal, Receivers: arg.Receivers, Queues: arg.Queues, MaxAttempts: arg.MaxAttempts,
			TimeoutsMs: arg.TimeoutsMs, Priorities: arg.Priorities, Payload: arg.Payload, RunAt: arg.RunAt,
			DelaySeconds: arg.DelaySeconds, Headers: arg.Headers,
		})
		return len(arg.Receivers), err
	default:
		return len(arg.Receivers), queries.InsertTasks(ctx, db, arg)
	}
}

// insertSend runs the statement of a send in BeginFunc: one signal_send
// row for all the routes, with a NOTIFY on signal_send if arg.Notify is
// not empty.
func insertSend(ctx context.Context, db dbsqlc.DBTX, arg dbsqlc.InsertTasksParams) error {
	p := dbsqlc.InsertSendQuietParams{
		Signal: arg.Signal, Receivers: arg.Receivers, Queues: arg.Queues, MaxAttempts: arg.MaxAttempts,
		TimeoutsMs: arg.TimeoutsMs, Priorities: arg.Priorities, Payload: arg.Payload, RunAt: arg.RunAt,
		DelaySeconds: arg.DelaySeconds, Headers: arg.Headers,
	}
	if len(arg.Notify) == 0 {
		return queries.InsertSendQuiet(ctx, db, p)
	}
	return queries.InsertSend(ctx, db, dbsqlc.InsertSendParams(p))
}

// sendsNotifyKey is the notify limiter's key for the NOTIFY on
// signal_send; no queue can have this name (PostgreSQL text holds no NUL).
var sendsNotifyKey = []string{"\x00signal_send"}

func queueOrDefault(q string) string {
	if q == "" {
		return DefaultQueue
	}
	return q
}

// notifyLimit limits the NOTIFYs of this process's sends (see package
// notify and SetNotifyInterval).
var notifyLimit = notify.New(DefaultNotifyInterval)

// DefaultNotifyInterval is the default of [SetNotifyInterval].
const DefaultNotifyInterval = 2 * time.Millisecond

// SetNotifyInterval sets how often, at most, Send in this process asks
// PostgreSQL to NOTIFY the workers of one queue (default
// [DefaultNotifyInterval]). 0 notifies on every send; a larger interval
// relieves commit contention at high send rates and leaves the tasks in
// between to the workers' hot polling. It returns a function that
// restores the interval it replaced (for tests).
func SetNotifyInterval(d time.Duration) (restore func()) {
	prev := notifyLimit.SetInterval(d)
	return func() { notifyLimit.SetInterval(prev) }
}

// inline is the state of a context made by WithInline.
type inline struct {
	receivers map[string]Receiver
	err       error
}

type inlineKey struct{}

// WithInline returns a context in which [Send] runs each route's receiver
// synchronously, in the calling goroutine, instead of enqueueing tasks: a
// mode for unit tests that need no worker and no database. The payload still
// goes through JSON, as it would through a task row. Each receiver is called
// once, with no retries; Send returns their errors joined, and an error for a
// receiver key the table does not have. Delays are ignored.
func WithInline(ctx context.Context, table Table) context.Context {
	m, err := table.lookup()
	return context.WithValue(ctx, inlineKey{}, &inline{receivers: m, err: err})
}

func (in *inline) run(ctx context.Context, signal string, routes []Route, payload []byte) error {
	if in.err != nil {
		return in.err
	}
	var errs []error
	for _, r := range routes {
		rec, ok := in.receivers[r.Receiver]
		if !ok {
			errs = append(errs, fmt.Errorf("signal %s: unknown receiver %q: the inline dispatch table does not have it", signal, r.Receiver))
			continue
		}
		if rec.Unbound != "" {
			errs = append(errs, fmt.Errorf("signal %s: %w", signal, rec.unbound()))
			continue
		}
		if err := runHandler(ctx, rec.Handle, payload); err != nil {
			errs = append(errs, fmt.Errorf("signal %s: receiver %s: %w", signal, r.Receiver, err))
		}
	}
	return errors.Join(errs...)
}
