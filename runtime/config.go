package signalrt

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"os"
	"slices"
	"time"
)

// Defaults of [Config].
const (
	DefaultConcurrency    = 100
	DefaultPollInterval   = time.Second
	DefaultHotPoll        = 10 * time.Millisecond
	DefaultHotWindow      = time.Second
	DefaultLease          = 30 * time.Second
	DefaultTimeout        = 5 * time.Minute
	DefaultShutdownGrace  = 10 * time.Second
	DefaultOrphanGrace    = time.Hour
	DefaultStatsRetention = 7 * 24 * time.Hour
)

// QueueConfig configures one queue of a worker.
type QueueConfig struct {
	// Name is the queue's name, as receivers' queue= options give it.
	Name string
	// Concurrency is how many of the queue's tasks run at once in this
	// process; 0 means Config.Concurrency.
	Concurrency int
	// Limit bounds the queue's tasks in all workers together, as a
	// receiver's Limit does its own: at most Limit.Concurrency running at
	// once, at most Limit.Rate starting per Limit.Per. It counts every
	// running task of the queue, but it holds back only the tasks of
	// receivers without a Limit of their own (theirs applies instead).
	// Every worker of the queue should set the same Limit.
	Limit Limit
}

// Config configures a [Worker]. The zero value is ready to use: every field
// has a default.
type Config struct {
	// Queues sets the options of some queues, by name. It does not choose
	// which queues the worker runs (OnlyQueues does): a queue it names is
	// run too, with these options, and the others with the defaults.
	//
	//	cfg.Queues = append(cfg.Queues, signalrt.QueueConfig{Name: "mail", Concurrency: 5})
	Queues []QueueConfig
	// OnlyQueues, when not empty, is the only queues this worker runs, for
	// workers dedicated to some queues. The receivers of its table whose
	// queue is not among them are not run by this worker: it says so once,
	// in its log at start, and does not record them as runnable in the
	// registry, so that their tasks wait for a worker that runs their
	// queue (or end dead after OrphanGrace, if none does). When empty, the
	// worker runs every queue that a receiver of its table uses, and those
	// that Queues names.
	OnlyQueues []string
	// Concurrency is the number of tasks that run at once per queue, for
	// queues that set none (default 100).
	Concurrency int
	// PollInterval is how often an idle queue is polled when no NOTIFY
	// arrives (default 1s).
	PollInterval time.Duration
	// HotPoll and HotWindow: for HotWindow after a queue last had work or a
	// wake-up (default 1s), it is polled every HotPoll (default 10ms), which
	// picks up sends whose NOTIFY the sender's limiter folded into an
	// earlier one (see [SetNotifyInterval]).
	HotPoll   time.Duration
	HotWindow time.Duration
	// PollOnly turns off LISTEN/NOTIFY: the worker only polls. Use it
	// behind PgBouncer in transaction mode, where LISTEN does not work
	// (no error: its notifications never arrive). Transaction pooling
	// also needs SynchronousCommit, and pgx's default_query_exec_mode=exec
	// in the connection string.
	PollOnly bool
	// Lease is how long a claimed task belongs to this worker without a
	// heartbeat (default 30s). The worker extends the leases of running
	// tasks every Lease/3; a task whose lease runs out (its worker died) is
	// made available again.
	Lease time.Duration
	// Timeout bounds one attempt of a receiver whose route sets no timeout
	// (default 5m). The receiver's context is cancelled at the deadline.
	Timeout time.Duration
	// ShutdownGrace is how long in-flight receivers may run after Run's
	// context is cancelled (default 10s). Tasks still running then have
	// their context cancelled and are given back for another worker.
	ShutdownGrace time.Duration
	// Retention is how long succeeded tasks are kept, as state succeeded,
	// before they are deleted in batches. 0, the default, deletes a task as
	// soon as it succeeds (in the batched statement that would otherwise
	// mark it), which is the fastest way to finish tasks; a negative value
	// keeps them forever. Dead tasks are kept either way: see DeadRetention.
	Retention time.Duration
	// DeadRetention is how long dead tasks are kept. 0, the default, keeps
	// them until someone retries or deletes them.
	DeadRetention time.Duration
	// AbandonGrace is how long the worker waits for a receiver past its
	// timeout (default: Lease). A receiver that has not returned by then,
	// one that ignores its context, is abandoned: its attempt is recorded
	// as failed (retried, or dead on its last attempt), its lease is no
	// longer extended, its slot is given to a new goroutine, and whatever
	// it returns later is ignored.
	AbandonGrace time.Duration
	// MaxAbandoned is how many abandoned receivers may still be running per
	// queue before the worker stops claiming on that queue and reports
	// itself unhealthy in its logs and in the registry (signal_worker),
	// until some of them return (default: the queue's concurrency).
	MaxAbandoned int
	// NoPrefetch turns off claiming ahead. A queue whose attempts have
	// lately taken under a millisecond on average claims more tasks than
	// it has free slots: up to three times its concurrency ahead, and at
	// most 200 tasks per claim (a queue of 100 slots claims up to 100
	// ahead; one of 200 slots or more, none). It runs them as its slots
	// free up: one claim then serves many quick tasks, where a process
	// would otherwise claim a few at a time and spend more on its claims
	// than on its tasks (signalbench -run scale, W1). A task claimed ahead
	// holds a lease, which the heartbeat extends like a running task's
	// (the task views count it as running), and waits for a slot: about a
	// millisecond while the tasks before it stay quick, longer if one of
	// them turns slow, and no other worker can take it meanwhile. Once the
	// queue's attempts slow down, it claims only for free slots again; at
	// shutdown, the tasks still waiting run within ShutdownGrace or are
	// given back with the others. Queues with a Limit never claim ahead;
	// set NoPrefetch where a quick task must never wait behind a slow one
	// in this worker while another worker is idle.
	NoPrefetch bool
	// Limits sets or replaces, by receiver key, the Limit of receivers of
	// the table (a zero Limit removes one): limits that depend on the
	// deployment, such as a provider's quota. Every worker of the
	// receiver should use the same limit; the one that claims applies
	// its own.
	Limits map[string]Limit
	// OrphanGrace is how long a due task waits for a worker that can run it
	// before it ends dead (default 1h). Workers claim only the receiver keys
	// of their own dispatch table, so that during a rolling deploy a task
	// of a receiver that this version lacks waits for a worker of the
	// version that has it. A task ends dead as "unknown receiver" only once
	// it has been due for OrphanGrace and no worker whose table has its key
	// has run during that time (workers record the keys they know in
	// signal_receiver at every heartbeat). Likewise a task whose payload a
	// worker cannot decode is left to a live worker of another version
	// with a different payload contract, and ends dead once no worker that
	// has not declined it has run for OrphanGrace.
	OrphanGrace time.Duration
	// StatsRetention is how long the per-minute throughput counters
	// (signal_stat) are kept (default 7 days).
	StatsRetention time.Duration
	// Backoff returns the delay before retry number attempt (1 for the
	// first retry). The default doubles from 1s up to 1h, with jitter.
	Backoff func(attempt int) time.Duration
	// Hooks wrap each attempt of this worker (their Attempt fields), inside
	// the hooks that [Use] installed for the whole process, in order: the
	// first is the outermost. Sends, which generated senders make with no
	// configuration of their own, go through Use's hooks only; their Send
	// fields are not used here.
	Hooks []Hooks
	// testEvents, when set (by the package's tests), is told of the
	// worker's events: "registered", "claimed", "recorded".
	testEvents func(event string)
	// Logger receives the worker's structured logs (default slog.Default()).
	Logger *slog.Logger
	// Name identifies this worker in task rows and logs (default
	// host:pid:random).
	Name string
	// SynchronousCommit makes the worker's own bookkeeping (claims,
	// results, lease extensions) commit with the server's
	// synchronous_commit setting. The worker runs its bookkeeping on a
	// small pool of its own, copied from the given pool's configuration;
	// by default its connections set synchronous_commit=off: a commit then
	// does not wait for the WAL flush, and a PostgreSQL crash can forget
	// the last fraction of a second of bookkeeping, which at worst runs a
	// task again (the at-least-once promise holds; a sender's transaction
	// is never affected). They also set plan_cache_mode=force_generic_plan,
	// so that the claim, whose plan does not depend on its parameters, is
	// planned once per connection instead of on every call (W1: 48,000 to
	// 67,000 tasks/s), and jit=off, for these short statements. Set
	// SynchronousCommit when the server must not see these startup
	// parameters, as behind PgBouncer, which refuses them unless told to
	// ignore them: it sends none of them.
	SynchronousCommit bool
}

// DefaultBackoff is the retry delay used when Config.Backoff is nil: 1s
// doubled per attempt, capped at 1h, of which a random 0-50% is taken off
// so that tasks that failed together do not retry together.
func DefaultBackoff(attempt int) time.Duration {
	d := time.Hour
	if attempt < 13 {
		d = min(time.Second<<max(attempt-1, 0), time.Hour)
	}
	return d - time.Duration(mathrand.Int64N(int64(d)/2+1))
}

// validate reports the first setting of c that has no valid value, with
// the values it allows. Zero values are defaults; a negative duration or
// count is a mistake, not a default (Retention alone gives negative a
// meaning: keep forever).
func (c Config) validate() error {
	durations := []struct {
		name string
		d    time.Duration
	}{
		{"PollInterval", c.PollInterval}, {"HotPoll", c.HotPoll}, {"HotWindow", c.HotWindow}, {"Lease", c.Lease},
		{"Timeout", c.Timeout}, {"ShutdownGrace", c.ShutdownGrace}, {"DeadRetention", c.DeadRetention},
		{"AbandonGrace", c.AbandonGrace}, {"OrphanGrace", c.OrphanGrace}, {"StatsRetention", c.StatsRetention},
	}
	for _, d := range durations {
		if d.d < 0 {
			return fmt.Errorf("config: %s is %s; want a positive duration, or 0 for the default", d.name, d.d)
		}
	}
	if c.Concurrency < 0 {
		return fmt.Errorf("config: Concurrency is %d; want a positive number, or 0 for the default (%d)", c.Concurrency, DefaultConcurrency)
	}
	if c.MaxAbandoned < 0 {
		return fmt.Errorf("config: MaxAbandoned is %d; want a positive number, or 0 for the default", c.MaxAbandoned)
	}
	seen := map[string]bool{}
	for i, q := range c.Queues {
		switch {
		case q.Name == "":
			return fmt.Errorf("config: Queues[%d] has no Name", i)
		case seen[q.Name]:
			return fmt.Errorf("config: queue %q appears twice in Queues", q.Name)
		case q.Concurrency < 0:
			return fmt.Errorf("config: queue %q: concurrency %d; want 0 (default) or more", q.Name, q.Concurrency)
		}
		if err := q.Limit.validate(); err != nil {
			return fmt.Errorf("config: queue %q: %w", q.Name, err)
		}
		seen[q.Name] = true
	}
	for i, q := range c.OnlyQueues {
		if q == "" {
			return fmt.Errorf("config: OnlyQueues[%d] is empty; want a queue name", i)
		}
	}
	for k, l := range c.Limits {
		if err := l.validate(); err != nil {
			return fmt.Errorf("config: Limits[%q]: %w", k, err)
		}
	}
	return nil
}

// queueNames returns the queues a worker with table runs: OnlyQueues, or
// the table's queues and those that Queues names; sorted.
func (c Config) queueNames(table Table) []string {
	if len(c.OnlyQueues) > 0 {
		names := slices.Clone(c.OnlyQueues)
		slices.Sort(names)
		return slices.Compact(names)
	}
	names := table.queues()
	for _, q := range c.Queues {
		names = append(names, q.Name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// queue returns the options of queue name (the zero QueueConfig, but for
// its name, when Queues does not name it).
func (c Config) queue(name string) QueueConfig {
	for _, q := range c.Queues {
		if q.Name == name {
			return q
		}
	}
	return QueueConfig{Name: name}
}

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	setDefault(&c.PollInterval, DefaultPollInterval)
	setDefault(&c.HotPoll, DefaultHotPoll)
	setDefault(&c.HotWindow, DefaultHotWindow)
	setDefault(&c.Lease, DefaultLease)
	setDefault(&c.Timeout, DefaultTimeout)
	setDefault(&c.ShutdownGrace, DefaultShutdownGrace)
	setDefault(&c.OrphanGrace, DefaultOrphanGrace)
	setDefault(&c.AbandonGrace, c.Lease)
	setDefault(&c.StatsRetention, DefaultStatsRetention)
	if c.Backoff == nil {
		c.Backoff = DefaultBackoff
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Name == "" {
		host, _ := os.Hostname()
		b := make([]byte, 3)
		_, _ = rand.Read(b)
		c.Name = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	return c
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}
