// Package signalrt is the runtime of reliable signals: a transactional
// task queue on PostgreSQL that generated senders write to and workers read
// from. Its directory is runtime/, and its name is signalrt, so that it is
// never confused with the standard library's runtime package (generated
// code and these pages import it under that name too):
//
//	import signalrt "github.com/reliablesignals/signals/runtime"
//
// Most programs call this package through code that signalgen generates: a
// typed sender per signal (which calls [Send]) and a dispatch table (a
// [Table]) for the worker. The package can be used without the generator
// too: a [Route] names a receiver by key, and a [Receiver] binds a key to a
// [Handler].
//
// # Schema
//
// The schema is embedded as numbered SQL files in [Migrations] and applied by
// [Migrate], which takes an advisory lock so that processes starting at the
// same time apply each version once. Users of another migration tool can
// copy runtime/migrations/*.sql instead: each file is one version and runs
// in one transaction. All tables live in the connection's search_path.
//
// # Sending
//
// [Send] inserts one task row per route, in one round trip, on the executor
// it is given. Pass the caller's pgx.Tx: the tasks commit or roll back with
// the caller's own work, so a rolled-back transaction sends nothing and a
// committed one has every receiver's task stored. Send asks PostgreSQL to
// NOTIFY the workers of the routes' queues; the notification is delivered
// only at commit. [After] and [At] delay the tasks.
//
// [BeginFunc] runs a transaction whose sends travel with its COMMIT, in one
// pipelined batch. There a send is one row for all its routes (table
// signal_send), which a worker fans out into the tasks within milliseconds,
// in one statement: a narrower write for the sender's transaction, one hop
// more before the receivers start.
//
// # Working
//
// A [Worker] runs the tasks of the receivers in its table. Per queue, one
// loop claims due tasks in batches sized to the free slots (SELECT ... FOR
// UPDATE SKIP LOCKED), and ahead of them while the queue's receivers return
// within a millisecond ([Config].NoPrefetch), hands them to a fixed set of
// goroutines (the queue's concurrency) and records results in batches. Each claimed task carries a
// lease that the worker extends while the receiver runs; a task whose lease
// runs out, because its worker died or lost its database, is made available
// again by any worker and runs again. Workers wake on LISTEN/NOTIFY and poll
// as a fallback ([Config].PollOnly polls only, for PgBouncer in transaction
// mode). Its own statements run on a small connection pool of its own,
// copied from the pool it is given, so that receivers using that pool
// cannot delay them, and commit asynchronously unless
// [Config].SynchronousCommit. Many worker processes on many machines can
// share one database.
//
// Each attempt gets a context with the task's timeout and its [TaskInfo]
// ([TaskFromContext]). A receiver's error or panic (recorded with its
// stack, see [PanicError]) is a failed attempt: the task is retried after
// an exponential backoff with jitter ([DefaultBackoff]) until its maximum
// number of attempts, then it is dead. A [Permanent] error makes it dead at
// once. Every failed attempt is kept in the task's error history
// ([Task].Errors).
//
// # Rolling deploys
//
// Two versions of a program run side by side during a deploy, so workers
// are built not to kill each other's tasks:
//
//   - A worker claims only the receiver keys of its own table; the tasks of
//     other keys wait for a worker that knows them.
//   - A worker that cannot decode a task's payload ([DecodeError]) gives the
//     task back, without counting the attempt, when a live worker has the
//     receiver with another payload contract ([Receiver].Contract) that has
//     not tried it; otherwise the task is dead with the decoding error.
//   - A task of a receiver that moved to another queue is moved there when
//     no live worker that knows the key claims from its old queue.
//   - A task that has been due for [Config].OrphanGrace (default 1h) and
//     that no worker could run during that time (no worker's table had the
//     key, or all that had it could not decode the payload) is dead, with
//     an error that says so. After a deploy that fixes it, [Retry] runs it.
//
// Each worker records itself in signal_worker (name, host, pid, queues,
// slots, its receivers with their contracts, heartbeat) while it runs, and
// the keys it knows in signal_receiver; it adds its per-minute outcome
// counts to signal_stat. A paused queue (signal_queue) is not claimed by any
// worker.
//
// Succeeded tasks are deleted as they finish unless [Config].Retention keeps
// them; dead tasks are kept until [Config].DeadRetention, by default forever.
//
// When Run's context is cancelled the worker shuts down gracefully: it stops
// claiming, lets in-flight receivers finish within [Config].ShutdownGrace,
// then cancels the rest and gives their tasks back without counting the
// attempt.
//
// # Guarantees
//
//   - Atomic with the sender: rollback means no task; commit means every
//     receiver's task is stored.
//   - At least once, per receiver: each receiver's task runs until it
//     succeeds or is dead; one receiver's failure never touches another's,
//     nor the sender. Receivers should be idempotent: a task whose worker
//     died mid-run runs again. That run counts as an attempt, so a task that
//     kills every worker that runs it ends dead.
//   - Nothing is lost silently: a task ends succeeded or dead, and a dead
//     task keeps its errors until someone retries or deletes it.
//
// # Testing
//
// [RunUntilIdle] runs every due task in the calling goroutine until none is
// left, for tests against a real database. [WithInline] returns a context in
// which Send calls the receivers synchronously, with no database and no
// worker, for unit tests.
package signalrt
