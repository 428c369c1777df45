-- The registry of live workers, the receivers they know, throughput
-- counters, and the maintenance that rolling deploys need (migration 002).

-- name: RegisterWorker :exec
-- A worker's row, written when it starts (and again if its row was
-- deleted while it was unreachable). @ttl_seconds: how long the row counts
-- as live without a heartbeat.
INSERT INTO signal_worker (name, host, pid, queues, concurrency, receivers, expires_at)
VALUES (@name::text, @host::text, @pid::integer, @queues::text[], @concurrency::integer,
        CAST(@receivers::text AS jsonb), now() + make_interval(secs => @ttl_seconds::float8))
ON CONFLICT (name) DO UPDATE
SET host = excluded.host, pid = excluded.pid, queues = excluded.queues,
    concurrency = excluded.concurrency, receivers = excluded.receivers, unhealthy = NULL,
    started_at = now(), heartbeat_at = now(), expires_at = excluded.expires_at;

-- name: HeartbeatWorker :execrows
UPDATE signal_worker
SET heartbeat_at = now(), expires_at = now() + make_interval(secs => @ttl_seconds::float8)
WHERE name = @name::text;

-- name: SetWorkerHealth :exec
-- @unhealthy says what is wrong with the worker; NULL when it is healthy.
UPDATE signal_worker SET unhealthy = sqlc.narg(unhealthy)::text WHERE name = @name::text;

-- name: UnregisterWorker :exec
DELETE FROM signal_worker WHERE name = @name::text;

-- name: SeeReceivers :exec
-- Record that a worker can run these receiver keys with these payload
-- contracts now. The arrays are zipped in lockstep and sorted by the
-- caller, so that workers that upsert the same rows take their locks in
-- one order.
INSERT INTO signal_receiver (key, contract, signal, queue, seen_at)
SELECT unnest(@keys::text[]), unnest(@contracts::text[]), unnest(@signals::text[]), unnest(@queues::text[]), now()
ON CONFLICT (key, contract) DO UPDATE
SET signal = excluded.signal, queue = excluded.queue, seen_at = excluded.seen_at;

-- name: AddStats :exec
-- Add a worker's outcome counters to the current minute (database clock).
-- Arrays zipped in lockstep, sorted by the caller (see SeeReceivers).
INSERT INTO signal_stat (minute, queue, receiver, succeeded, failed, dead)
SELECT date_trunc('minute', now()), unnest(@queues::text[]), unnest(@receivers::text[]),
       unnest(@succeeded::bigint[]), unnest(@failed::bigint[]), unnest(@dead::bigint[])
ON CONFLICT (minute, queue, receiver) DO UPDATE
SET succeeded = signal_stat.succeeded + excluded.succeeded,
    failed = signal_stat.failed + excluded.failed,
    dead = signal_stat.dead + excluded.dead;

-- name: DeclineTask :execrows
-- A worker that cannot decode a task's payload gives it back, without
-- counting the attempt, to a live worker of another version: one whose
-- dispatch table has the task's receiver with a payload contract that has
-- not declined the task yet. Changes nothing (0 rows) when there is no such
-- worker; the caller then records the failure as usual.
UPDATE signal_task t
SET state = 'available', attempt = t.attempt - 1, run_at = now(), lease_until = NULL, worker = NULL,
    declined = array_append(coalesce(t.declined, '{}'), @contract::text),
    errors = t.errors || jsonb_build_array(jsonb_build_object(
        'attempt', t.attempt, 'at', now(), 'error', @error::text, 'worker', t.worker))
WHERE t.id = @id::bigint AND t.attempt = @attempt::integer AND t.lease_until IS NOT NULL AND t.worker = @worker::text
  AND EXISTS (
      SELECT 1 FROM signal_worker w
      WHERE w.expires_at > now() AND w.name <> @worker::text AND w.receivers -> t.receiver IS NOT NULL
        AND coalesce(w.receivers -> t.receiver ->> 'contract', '') <> ALL(array_append(coalesce(t.declined, '{}'), @contract::text)));

-- name: KillOrphans :many
-- Tasks that have been due for longer than the grace period and whose
-- receiver no worker has been able to run during it: no worker's table had
-- the key, or every worker that had it declined the payload. They end dead,
-- with the reason in their error history, to be retried after a deploy.
UPDATE signal_task t
SET state = 'dead', finished_at = now(),
    errors = t.errors || jsonb_build_array(jsonb_build_object(
        'attempt', t.attempt, 'at', now(), 'worker', @worker::text,
        'error', CASE WHEN t.declined IS NULL
            THEN format('unknown receiver %s (signal %s): no worker that has this key in its dispatch table and runs its queue ran during the last %s; deploy a binary that has it (and runs its queue), then retry the task', t.receiver, t.signal, @grace::text)
            ELSE format('payload does not decode: no live worker could decode it during the last %s (see the errors before); deploy a binary that can, then retry the task', @grace::text)
        END))
WHERE t.id = ANY(ARRAY(
    SELECT o.id
    FROM signal_task o
    WHERE o.state = 'available' AND o.run_at < now() - make_interval(secs => @grace_seconds::float8)
      AND NOT EXISTS (
          SELECT 1 FROM signal_receiver r
          WHERE r.key = o.receiver AND r.seen_at > now() - make_interval(secs => @grace_seconds::float8)
            AND (o.declined IS NULL OR r.contract <> ALL(o.declined)))
    LIMIT @max::integer
    FOR UPDATE SKIP LOCKED
))
RETURNING t.id, t.signal, t.receiver, t.queue, (t.declined IS NOT NULL)::boolean AS undecodable;

-- name: TakeMaintenanceTurn :one
-- Whether this worker does the maintenance job @name now: true for one
-- worker of all per @every_seconds (the one whose statement moves done_at).
WITH turn AS (
    INSERT INTO signal_maintenance AS m (name, done_at) VALUES (@name::text, now())
    ON CONFLICT (name) DO UPDATE SET done_at = now()
    WHERE m.done_at < now() - make_interval(secs => @every_seconds::float8)
    RETURNING m.name
)
SELECT count(*) > 0 AS mine FROM turn;

-- name: LiveWorkers :many
-- The workers whose row has not expired, newest first.
SELECT name, queues, receivers, started_at FROM signal_worker WHERE expires_at > now() ORDER BY started_at DESC, name;

-- name: QueuesWithAvailable :many
-- The queues that have available tasks, found by skipping through the
-- claim index one queue at a time (a loose index scan), not by reading
-- every task.
WITH RECURSIVE q(queue) AS (
    (SELECT a.queue FROM signal_task a WHERE a.state = 'available' ORDER BY a.queue LIMIT 1)
    UNION ALL
    SELECT (SELECT b.queue FROM signal_task b WHERE b.state = 'available' AND b.queue > q.queue ORDER BY b.queue LIMIT 1)
    FROM q WHERE q.queue IS NOT NULL
)
SELECT q.queue::text AS queue FROM q WHERE q.queue IS NOT NULL;

-- name: MoveTasks :execrows
-- Move up to @max available tasks of the receivers @keys from queue @from
-- to queue @to: their receivers moved to @to, and no live worker that
-- knows them claims from @from any more.
UPDATE signal_task t
SET queue = @to_queue::text
WHERE t.id = ANY(ARRAY(
    SELECT m.id FROM signal_task m
    WHERE m.state = 'available' AND m.queue = @from_queue::text AND m.receiver = ANY(@keys::text[])
    LIMIT @max::integer
    FOR UPDATE SKIP LOCKED
));

-- name: DeleteGoneWorkers :execrows
-- Rows of workers that died without unregistering, an hour after they
-- expired (until then the ops views show them as gone).
DELETE FROM signal_worker WHERE expires_at < now() - interval '1 hour';

-- name: DeleteOldReceivers :execrows
DELETE FROM signal_receiver WHERE seen_at < now() - make_interval(secs => @keep_seconds::float8);

-- name: DeleteOldStats :execrows
DELETE FROM signal_stat WHERE minute < now() - make_interval(secs => @keep_seconds::float8);

-- name: DeleteExpiredUnique :execrows
-- Forget the UniqueFor windows that have passed (a send takes an expired
-- one again anyway; this keeps the table small).
DELETE FROM signal_unique WHERE until < now();
