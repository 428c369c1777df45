-- The admin API behind signalctl and the dashboard (runtime/ops.go).

-- name: CountByQueue :many
-- Tasks per queue and state, each state counted on its own partial index
-- (the available and dead ones from the index alone, on a vacuumed table),
-- not by reading every task. Succeeded tasks are in the table only when
-- Config.Retention keeps them.
SELECT a.queue, 'available'::text AS state, count(*)::bigint AS n FROM signal_task a WHERE a.state = 'available' GROUP BY a.queue
UNION ALL
SELECT r.queue, 'running'::text AS state, count(*)::bigint AS n FROM signal_task r WHERE r.state = 'running' GROUP BY r.queue
UNION ALL
SELECT d.queue, 'dead'::text AS state, count(*)::bigint AS n FROM signal_task d WHERE d.state = 'dead' GROUP BY d.queue
UNION ALL
SELECT s.queue, 'succeeded'::text AS state, count(*)::bigint AS n FROM signal_task s WHERE s.state = 'succeeded' GROUP BY s.queue;

-- name: CountByReceiver :many
-- The tasks of one queue per receiver and state (see CountByQueue).
SELECT a.receiver, 'available'::text AS state, count(*)::bigint AS n FROM signal_task a WHERE a.state = 'available' AND a.queue = @queue::text GROUP BY a.receiver
UNION ALL
SELECT r.receiver, 'running'::text AS state, count(*)::bigint AS n FROM signal_task r WHERE r.state = 'running' AND r.queue = @queue::text GROUP BY r.receiver
UNION ALL
SELECT d.receiver, 'dead'::text AS state, count(*)::bigint AS n FROM signal_task d WHERE d.state = 'dead' AND d.queue = @queue::text GROUP BY d.receiver
UNION ALL
SELECT s.receiver, 'succeeded'::text AS state, count(*)::bigint AS n FROM signal_task s WHERE s.state = 'succeeded' AND s.queue = @queue::text GROUP BY s.receiver;

-- name: QueueLags :many
-- Per queue that has due tasks: the run_at of its oldest due one,
-- each found at the start of the claim index (one index probe per queue,
-- the queues found by a loose index scan, as QueuesWithAvailable does).
WITH RECURSIVE q(queue) AS (
    (SELECT a.queue FROM signal_task a WHERE a.state = 'available' ORDER BY a.queue LIMIT 1)
    UNION ALL
    SELECT (SELECT b.queue FROM signal_task b WHERE b.state = 'available' AND b.queue > q.queue ORDER BY b.queue LIMIT 1)
    FROM q WHERE q.queue IS NOT NULL
)
SELECT q.queue::text AS queue, d.run_at AS oldest_due, now()::timestamptz AS now
FROM q
JOIN LATERAL (
    SELECT o.run_at FROM signal_task o
    WHERE o.state = 'available' AND o.queue = q.queue AND o.run_at <= now()
    ORDER BY o.run_at, o.id LIMIT 1
) d ON true
WHERE q.queue IS NOT NULL;

-- name: PausedQueues :many
SELECT name, paused_at::timestamptz AS paused_at FROM signal_queue WHERE paused_at IS NOT NULL ORDER BY name;

-- name: PauseQueue :exec
-- No worker claims from a paused queue (see ClaimTasks); sends still
-- enqueue.
INSERT INTO signal_queue AS q (name, paused_at, updated_at) VALUES (@name::text, now(), now())
ON CONFLICT (name) DO UPDATE SET paused_at = coalesce(q.paused_at, now()), updated_at = now();

-- name: ResumeQueue :many
-- Resume a queue and wake its workers (see InsertTasks for the
-- notification's payload). Reports whether it was paused.
WITH resumed AS (
    UPDATE signal_queue q SET paused_at = NULL, updated_at = now()
    WHERE q.name = @name::text AND q.paused_at IS NOT NULL
    RETURNING q.name
)
SELECT count(*) > 0 AS was_paused,
       pg_notify('signal_task', s.nsp || '.' || @name::text)::text AS notified
FROM resumed,
     (SELECT c.relnamespace::regnamespace::text AS nsp FROM pg_catalog.pg_class c WHERE c.oid = 'signal_task'::regclass) AS s
GROUP BY s.nsp;

-- name: MinutesAgo :one
-- The start of the minute @minutes - 1 minutes before the current one (so
-- that @minutes minutes end with the current one), by the database's clock.
SELECT (date_trunc('minute', now()) - make_interval(mins => @minutes::integer) + interval '1 minute')::timestamptz AS since;

-- name: Throughput :many
-- Outcomes per minute, queue and receiver since @since.
SELECT minute, queue, receiver, succeeded, failed, dead
FROM signal_stat
WHERE minute >= @since::timestamptz
ORDER BY minute, queue, receiver;

-- name: Workers :many
-- Every registered worker, live or gone (expires_at passed).
SELECT name, host, pid, queues, concurrency, receivers, unhealthy, started_at, heartbeat_at, expires_at,
       (expires_at > now())::boolean AS live,
       date_part('epoch', now() - heartbeat_at)::float8 AS heartbeat_age_seconds
FROM signal_worker
ORDER BY name;

-- name: SearchTasks :many
-- One page of the tasks that match the filter, newest first, found among
-- at most @scan tasks: the newest with ids below @before_id and at or
-- above @min_id, read in order from the primary key. A filter that
-- matches little thus costs at most @scan rows, never the whole table
-- (see SearchWindow for where the search stopped). Listings show neither
-- payloads nor error histories: they read the last error's message (not
-- for tasks that succeeded since) and the number of failed attempts, and
-- flag a history that is not a list of attempts as damaged.
WITH scanned AS (
    SELECT t.id, t.signal, t.receiver, t.queue, t.state, t.attempt, t.max_attempts, t.run_at, t.created_at,
           t.finished_at, t.priority, t.errors
    FROM signal_task t
    WHERE t.id < @before_id::bigint AND t.id >= @min_id::bigint
    ORDER BY t.id DESC
    LIMIT @scan::integer
)
SELECT s.id, s.signal, s.receiver, s.queue, s.state, s.attempt, s.max_attempts, s.run_at, s.created_at, s.finished_at, s.priority,
       coalesce(CASE WHEN s.state <> 'succeeded' AND jsonb_typeof(s.errors) = 'array'
                     THEN left(s.errors->-1->>'error', 2000) END, '')::text AS last_error,
       (CASE WHEN jsonb_typeof(s.errors) = 'array' THEN jsonb_array_length(s.errors) ELSE 0 END)::integer AS error_count,
       (jsonb_typeof(s.errors) <> 'array')::boolean AS damaged
FROM scanned s
WHERE (sqlc.narg(state)::text IS NULL OR s.state = sqlc.narg(state)::text)
  AND (sqlc.narg(queue)::text IS NULL OR s.queue = sqlc.narg(queue)::text)
  AND (sqlc.narg(signal)::text IS NULL OR s.signal = sqlc.narg(signal)::text)
  AND (sqlc.narg(receiver)::text IS NULL OR s.receiver = sqlc.narg(receiver)::text)
  AND (sqlc.narg(created_after)::timestamptz IS NULL OR s.created_at >= sqlc.narg(created_after)::timestamptz)
  AND (sqlc.narg(created_before)::timestamptz IS NULL OR s.created_at < sqlc.narg(created_before)::timestamptz)
  AND (sqlc.narg(error_contains)::text IS NULL OR EXISTS (
      SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(s.errors) = 'array' THEN s.errors ELSE '[]'::jsonb END) e(x)
      WHERE strpos(lower(e.x->>'error'), lower(sqlc.narg(error_contains)::text)) > 0))
ORDER BY s.id DESC
LIMIT @max::integer;

-- name: SearchWindow :one
-- Where a search of at most @scan tasks below @before_id and at or above
-- @min_id stops: the lowest id it reads (0 when it reads none) and how
-- many it reads. From the primary key alone.
SELECT coalesce(min(w.id), 0)::bigint AS lowest, count(*)::integer AS scanned
FROM (
    SELECT t.id FROM signal_task t
    WHERE t.id < @before_id::bigint AND t.id >= @min_id::bigint
    ORDER BY t.id DESC
    LIMIT @scan::integer
) w;

-- name: RetryMatching :many
-- Retry (see RetryTasks) up to @max dead or waiting tasks that match the
-- filter, oldest first; with RetryTasks' rule for unique keys.
WITH retried AS (
    UPDATE signal_task t
    SET state = 'available', attempt = 0, run_at = now(), finished_at = NULL, worker = NULL
    WHERE t.id = ANY(ARRAY(
        SELECT m.id FROM signal_task m
        WHERE m.state IN ('dead', 'available') AND m.id > @after_id::bigint AND m.id < @before_id::bigint
          AND (sqlc.narg(state)::text IS NULL OR m.state = sqlc.narg(state)::text)
          AND (sqlc.narg(queue)::text IS NULL OR m.queue = sqlc.narg(queue)::text)
          AND (sqlc.narg(signal)::text IS NULL OR m.signal = sqlc.narg(signal)::text)
          AND (sqlc.narg(receiver)::text IS NULL OR m.receiver = sqlc.narg(receiver)::text)
          AND (sqlc.narg(error_contains)::text IS NULL OR EXISTS (
              SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(m.errors) = 'array' THEN m.errors ELSE '[]'::jsonb END) e(x)
              WHERE strpos(lower(e.x->>'error'), lower(sqlc.narg(error_contains)::text)) > 0))
          AND (m.unique_key IS NULL OR m.state = 'available' OR NOT EXISTS (
              SELECT 1 FROM signal_task o
              WHERE o.receiver = m.receiver AND o.unique_key = m.unique_key AND o.unique_key IS NOT NULL AND o.id <> m.id
                AND (o.state IN ('available', 'running') OR (o.state = 'dead' AND o.id > m.id))))
        ORDER BY m.id
        LIMIT @max::integer
        FOR UPDATE SKIP LOCKED
    ))
    RETURNING t.id, t.queue
)
SELECT r.id, pg_notify('signal_task', s.nsp || '.' || r.queue)::text AS notified
FROM retried r,
     (SELECT c.relnamespace::regnamespace::text AS nsp FROM pg_catalog.pg_class c WHERE c.oid = 'signal_task'::regclass) AS s
ORDER BY r.id;

-- name: DiscardTasks :many
-- Delete the given tasks that are dead; others are left alone.
DELETE FROM signal_task WHERE id = ANY(@ids::bigint[]) AND state = 'dead' RETURNING id;

-- name: DiscardMatching :many
-- Delete up to @max dead tasks that match the filter, oldest first.
DELETE FROM signal_task t
WHERE t.id = ANY(ARRAY(
    SELECT m.id FROM signal_task m
    WHERE m.state = 'dead' AND m.id > @after_id::bigint AND m.id < @before_id::bigint
      AND (sqlc.narg(queue)::text IS NULL OR m.queue = sqlc.narg(queue)::text)
      AND (sqlc.narg(signal)::text IS NULL OR m.signal = sqlc.narg(signal)::text)
      AND (sqlc.narg(receiver)::text IS NULL OR m.receiver = sqlc.narg(receiver)::text)
      AND (sqlc.narg(error_contains)::text IS NULL OR EXISTS (
              SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(m.errors) = 'array' THEN m.errors ELSE '[]'::jsonb END) e(x)
              WHERE strpos(lower(e.x->>'error'), lower(sqlc.narg(error_contains)::text)) > 0))
    ORDER BY m.id
    LIMIT @max::integer
    FOR UPDATE SKIP LOCKED
))
RETURNING t.id;

-- name: RunTasksNow :many
-- Make the given available tasks that wait (delayed, or backing off before
-- a retry) due now, and wake their workers.
WITH due AS (
    UPDATE signal_task t SET run_at = now()
    WHERE t.id = ANY(@ids::bigint[]) AND t.state = 'available' AND t.run_at > now()
    RETURNING t.id, t.queue
)
SELECT d.id, pg_notify('signal_task', s.nsp || '.' || d.queue)::text AS notified
FROM due d,
     (SELECT c.relnamespace::regnamespace::text AS nsp FROM pg_catalog.pg_class c WHERE c.oid = 'signal_task'::regclass) AS s
ORDER BY d.id;

-- name: NewestTaskID :one
SELECT coalesce(max(id), 0)::bigint AS id FROM signal_task;

-- name: QueueGauges :many
-- Available tasks and lag per queue, in one statement read from the claim
-- index (for metrics gauges, once per collection). The tasks of sends not
-- fanned out yet (signal_send, normally a few) count as available, so
-- that sends piling up where no worker fans them out show as lag.
SELECT g.queue::text AS queue, sum(g.n)::bigint AS available,
       coalesce(date_part('epoch', now() - min(g.oldest_due)), 0)::float8 AS lag_seconds
FROM (
    SELECT a.queue, count(*) AS n, min(a.run_at) FILTER (WHERE a.run_at <= now()) AS oldest_due
    FROM signal_task a
    WHERE a.state = 'available'
    GROUP BY a.queue
    UNION ALL
    SELECT q.queue, count(*) AS n, min(s.run_at) FILTER (WHERE s.run_at <= now()) AS oldest_due
    FROM signal_send s
    CROSS JOIN LATERAL unnest(s.queues) AS q(queue)
    GROUP BY q.queue
) g
GROUP BY g.queue
ORDER BY g.queue;

-- name: CancelTasks :many
-- Delete the given tasks that are available or running, and notify the
-- workers of the running ones ("schema.id" on signal_cancel; see
-- ListenCancel), on commit.
WITH cancelled AS (
    DELETE FROM signal_task WHERE id = ANY(@ids::bigint[]) AND state IN ('available', 'running')
    RETURNING id, state
)
SELECT c.id, c.state, coalesce(CASE WHEN c.state = 'running' THEN pg_notify('signal_cancel', s.nsp || '.' || c.id::text)::text END, '')::text AS notified
FROM cancelled c,
     (SELECT cl.relnamespace::regnamespace::text AS nsp FROM pg_catalog.pg_class cl WHERE cl.oid = 'signal_task'::regclass) AS s
ORDER BY c.id;

-- name: CancelMatching :many
-- Cancel (see CancelTasks) up to @max available or running tasks that
-- match the filter, oldest first.
WITH cancelled AS (
    DELETE FROM signal_task t
    WHERE t.id = ANY(ARRAY(
        SELECT m.id FROM signal_task m
        WHERE m.state IN ('available', 'running') AND m.id > @after_id::bigint AND m.id < @before_id::bigint
          AND (sqlc.narg(state)::text IS NULL OR m.state = sqlc.narg(state)::text)
          AND (sqlc.narg(queue)::text IS NULL OR m.queue = sqlc.narg(queue)::text)
          AND (sqlc.narg(signal)::text IS NULL OR m.signal = sqlc.narg(signal)::text)
          AND (sqlc.narg(receiver)::text IS NULL OR m.receiver = sqlc.narg(receiver)::text)
          AND (sqlc.narg(error_contains)::text IS NULL OR EXISTS (
              SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(m.errors) = 'array' THEN m.errors ELSE '[]'::jsonb END) e(x)
              WHERE strpos(lower(e.x->>'error'), lower(sqlc.narg(error_contains)::text)) > 0))
        ORDER BY m.id
        LIMIT @max::integer
        FOR UPDATE SKIP LOCKED
    ))
    RETURNING t.id, t.state
)
SELECT c.id, c.state, coalesce(CASE WHEN c.state = 'running' THEN pg_notify('signal_cancel', s.nsp || '.' || c.id::text)::text END, '')::text AS notified
FROM cancelled c,
     (SELECT cl.relnamespace::regnamespace::text AS nsp FROM pg_catalog.pg_class cl WHERE cl.oid = 'signal_task'::regclass) AS s
ORDER BY c.id;

-- name: KnownReceivers :many
-- The receiver keys that some worker has been able to run (the memory of
-- signal_receiver), with the signal, queue and when last seen.
SELECT key::text AS key, signal::text AS signal, queue::text AS queue, max(seen_at)::timestamptz AS seen_at
FROM signal_receiver
GROUP BY key, signal, queue
ORDER BY key, queue;
