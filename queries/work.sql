-- name: ClaimTasks :many
-- Take up to @max due tasks of one queue, highest priority first, then
-- oldest first (run_at, id), skipping rows that other workers hold, and
-- lease them to @worker.
--
-- The claim order is (-priority, run_at, id), read from two indexes without
-- sorting: tasks of priority 0, the default, from signal_task_available;
-- the others from signal_task_priority, which orders them by -priority.
-- The three branches, priority > 0, = 0 and < 0, are read in that order
-- and each stops as soon as the claim has @max rows, so a queue without
-- priorities costs two probes of an empty index.
--
-- A worker that works through a backlog starts the index scan after the
-- last task it claimed, the cursor (@after_rank, @after_run_at, @after_id)
-- with rank = -priority: the index entries of the tasks claimed before stay
-- behind until VACUUM, and a scan from the start would step over all of
-- them on every claim. @after0_run_at, @after0_id is the same cursor in
-- the priority 0 branch: year 1 when the cursor is in a higher priority,
-- the cursor when it is in priority 0 (that branch is skipped below it).
-- The worker goes back to the start, rank -100 (before any task) in effect,
-- regularly: for tasks that became visible behind its cursor, such as a
-- long transaction's, whose run_at is the transaction's start, and for
-- tasks of higher priority than the cursor's sent since (see claimLoop).
--
-- Rolling deploys: a worker claims only the receiver keys of its dispatch
-- table (@receivers), and skips tasks that a worker with one of its payload
-- contracts (@contracts) could not decode and left for another version
-- (declined). A paused queue (signal_queue) yields nothing; that condition
-- does not depend on the row, so it is evaluated once per claim, before
-- the branches (written once: each condition costs planning time).
--
-- The claimed ids are collected into an array, and the UPDATE finds each
-- by its primary key (see runtime/plan.go): a join with the claimed rows
-- would let the planner walk the table once per claimed row when the
-- statistics say the table is nearly empty. The tasks are returned in
-- claim order, which the UPDATE does not keep.
WITH claimed AS (
    UPDATE signal_task t
    SET state = 'running',
        attempt = t.attempt + 1,
        lease_until = now() + make_interval(secs => @lease_seconds::float8),
        worker = @worker::text
    WHERE t.id = ANY(ARRAY(
        SELECT u.id FROM (
            SELECT hi.id FROM (
                SELECT c.id
                FROM signal_task c
                WHERE c.state = 'available' AND c.priority <> 0 AND c.queue = @queue::text
                  AND -c.priority < 0
                  AND (-c.priority, c.run_at, c.id) > (@after_rank::integer, @after_run_at::timestamptz, @after_id::bigint)
                  AND c.run_at <= now()
                  AND c.receiver = ANY(@receivers::text[])
                  AND (c.declined IS NULL OR NOT c.declined && @contracts::text[])
                ORDER BY -c.priority, c.run_at, c.id
                LIMIT @max::integer
                FOR UPDATE SKIP LOCKED
            ) hi
            UNION ALL
            SELECT mid.id FROM (
                SELECT c.id
                FROM signal_task c
                WHERE c.state = 'available' AND c.priority = 0 AND c.queue = @queue::text AND c.run_at <= now()
                  AND @after_rank::integer <= 0
                  AND (c.run_at, c.id) > (@after0_run_at::timestamptz, @after0_id::bigint)
                  AND c.receiver = ANY(@receivers::text[])
                  AND (c.declined IS NULL OR NOT c.declined && @contracts::text[])
                ORDER BY c.run_at, c.id
                LIMIT @max::integer
                FOR UPDATE SKIP LOCKED
            ) mid
            UNION ALL
            SELECT lo.id FROM (
                SELECT c.id
                FROM signal_task c
                WHERE c.state = 'available' AND c.priority <> 0 AND c.queue = @queue::text
                  AND -c.priority > 0
                  AND (-c.priority, c.run_at, c.id) > (@after_rank::integer, @after_run_at::timestamptz, @after_id::bigint)
                  AND c.run_at <= now()
                  AND c.receiver = ANY(@receivers::text[])
                  AND (c.declined IS NULL OR NOT c.declined && @contracts::text[])
                ORDER BY -c.priority, c.run_at, c.id
                LIMIT @max::integer
                FOR UPDATE SKIP LOCKED
            ) lo
        ) u
        WHERE NOT EXISTS (SELECT 1 FROM signal_queue p WHERE p.name = @queue::text AND p.paused_at IS NOT NULL)
        LIMIT @max::integer
    ))
    RETURNING t.id, t.signal, t.receiver, t.payload, t.attempt, t.max_attempts, t.timeout_ms, t.run_at, t.headers, t.priority
)
SELECT c.id, c.signal, c.receiver, c.payload, c.attempt, c.max_attempts, c.timeout_ms, c.run_at, c.headers, c.priority
FROM claimed c
ORDER BY c.priority DESC, c.run_at, c.id;

-- name: CompleteTasks :exec
-- Mark tasks succeeded, batched (Config.Retention > 0 keeps them). Rows are
-- found by primary key only: the condition on lease_until (set exactly while
-- a task is running, see the schema) keeps the planner off the running
-- index, whose statistics trail a busy queue. A task that was rescued and
-- taken by another worker is left alone.
UPDATE signal_task
SET state = 'succeeded', finished_at = now(), lease_until = NULL
WHERE id = ANY(@ids::bigint[]) AND lease_until IS NOT NULL AND worker = @worker::text;

-- name: DeleteSucceededTasks :exec
-- Forget succeeded tasks at once, batched: the default (Config.Retention
-- 0). A delete writes no new row version, so it is the cheapest way to
-- finish a task. Same conditions as CompleteTasks.
DELETE FROM signal_task
WHERE id = ANY(@ids::bigint[]) AND lease_until IS NOT NULL AND worker = @worker::text;

-- name: FailTask :exec
-- Record a failed attempt: retry after @delay_seconds (database clock), or
-- end dead when @dead.
UPDATE signal_task
SET state = CASE WHEN @dead::boolean THEN 'dead' ELSE 'available' END,
    run_at = CASE WHEN @dead::boolean THEN run_at ELSE now() + make_interval(secs => @delay_seconds::float8) END,
    finished_at = CASE WHEN @dead::boolean THEN now() END,
    lease_until = NULL,
    errors = errors || jsonb_build_array(jsonb_build_object(
        'attempt', attempt, 'at', now(), 'error', @error::text, 'worker', worker))
WHERE id = @id::bigint AND attempt = @attempt::integer AND lease_until IS NOT NULL AND worker = @worker::text;

-- name: SnoozeTask :exec
-- A receiver asked to run again after @delay_seconds: the attempt is not
-- counted and no error is recorded.
UPDATE signal_task
SET state = 'available', attempt = attempt - 1, run_at = now() + make_interval(secs => @delay_seconds::float8),
    lease_until = NULL, worker = NULL
WHERE id = @id::bigint AND attempt = @attempt::integer AND lease_until IS NOT NULL AND worker = @worker::text;

-- name: ExtendLeases :many
-- Heartbeat: extend the lease of tasks this worker is still running. The
-- ones not returned are no longer this worker's (cancelled, or rescued by
-- another worker after a lost lease): the worker cancels their receivers.
UPDATE signal_task
SET lease_until = now() + make_interval(secs => @lease_seconds::float8)
WHERE id = ANY(@ids::bigint[]) AND lease_until IS NOT NULL AND worker = @worker::text
RETURNING id;

-- name: ReleaseTasks :exec
-- Graceful shutdown: give tasks back without counting the attempt.
UPDATE signal_task
SET state = 'available', attempt = attempt - 1, run_at = now(), lease_until = NULL, worker = NULL
WHERE id = ANY(@ids::bigint[]) AND lease_until IS NOT NULL AND worker = @worker::text;

-- name: RescueExpired :many
-- Tasks whose lease ran out (their worker died or lost its connection) go
-- back to available, or end dead when that was their last attempt.
UPDATE signal_task t
SET state = CASE WHEN t.attempt >= t.max_attempts THEN 'dead' ELSE 'available' END,
    run_at = now(),
    finished_at = CASE WHEN t.attempt >= t.max_attempts THEN now() END,
    lease_until = NULL,
    errors = t.errors || jsonb_build_array(jsonb_build_object(
        'attempt', t.attempt, 'at', now(),
        'error', 'lease expired: worker ' || coalesce(t.worker, '?') || ' stopped before the task finished',
        'worker', t.worker))
WHERE t.id = ANY(ARRAY(
    SELECT e.id
    FROM signal_task e
    WHERE e.state = 'running' AND e.lease_until < now()
    ORDER BY e.lease_until
    LIMIT @max::integer
    FOR UPDATE SKIP LOCKED
))
RETURNING t.id, t.queue, t.state;

-- name: DueQueues :many
-- The queues that have due tasks (for RunUntilIdle): the queues found by a
-- loose index scan (see QueuesWithAvailable), each with one probe for a
-- due task.
WITH RECURSIVE q(queue) AS (
    (SELECT a.queue FROM signal_task a WHERE a.state = 'available' ORDER BY a.queue LIMIT 1)
    UNION ALL
    SELECT (SELECT b.queue FROM signal_task b WHERE b.state = 'available' AND b.queue > q.queue ORDER BY b.queue LIMIT 1)
    FROM q WHERE q.queue IS NOT NULL
)
SELECT q.queue::text AS queue FROM q
WHERE q.queue IS NOT NULL
  AND EXISTS (SELECT 1 FROM signal_task d WHERE d.state = 'available' AND d.queue = q.queue AND d.run_at <= now())
ORDER BY q.queue;

-- name: DeleteFinished :execrows
-- Retention: delete up to @max finished tasks of @state finished before
-- @before, oldest first, from signal_task_finished_by_state. The second
-- condition on the state tells the planner of a generic plan, which does
-- not know @state, that the index holds the rows.
DELETE FROM signal_task
WHERE id = ANY(ARRAY(
    SELECT f.id FROM signal_task f
    WHERE f.state = @state::text AND f.state IN ('succeeded', 'dead') AND f.finished_at < @before::timestamptz
    ORDER BY f.finished_at
    LIMIT @max::integer
));

-- name: Listen :exec
LISTEN signal_task;

-- name: ListenCancel :exec
-- Cancel (signalrt.Cancel) notifies "schema.id" of each running task it
-- deletes, so that its worker cancels the receiver's context.
LISTEN signal_cancel;

-- name: TaskSchema :one
-- The schema that holds signal_task: the prefix of the notifications meant
-- for this worker (see InsertTasks).
SELECT c.relnamespace::regnamespace::text AS nsp FROM pg_catalog.pg_class c WHERE c.oid = 'signal_task'::regclass;

-- name: PlanFromIndexes :exec
-- Sent before a hot statement in the same batch, and so in the same
-- transaction (see runtime/plan.go): until that transaction ends, the
-- planner takes an index path over any sequential scan, bitmap scan or
-- sort it could use instead, whatever the statistics say. The hot
-- statements read the queue in an index's order and stop at their LIMIT;
-- when the statistics say that the table is nearly empty (as after a
-- VACUUM of a drained queue) or that few rows pass a filter, a plan that
-- reads all the matching tasks and sorts them looks as cheap, and would
-- cost a read of the whole queue on every call.
--
-- Nor does it plan parallel workers: the statements are short, and a
-- parallel plan may read a wider index than the one the rows are in. And
-- it turns JIT off: a sort the statement cannot do without (the claim's
-- ORDER BY of the rows it returns) carries the planner's penalty for
-- disabled paths, whose cost passes jit_above_cost, and compiling such a
-- statement took two seconds where running it takes a millisecond.
SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true), set_config('enable_sort', 'off', true),
       set_config('max_parallel_workers_per_gather', '0', true), set_config('jit', 'off', true);
