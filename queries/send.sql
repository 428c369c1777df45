-- name: InsertTasks :exec
-- One round trip per send: one row per receiver (the arrays are zipped in
-- lockstep), then a NOTIFY for each queue in @notify, delivered on commit.
-- The payload is "schema.queue" (the schema that holds signal_task), so
-- that workers of other schemas in the same database ignore it.
WITH inserted AS (
    INSERT INTO signal_task (signal, receiver, queue, max_attempts, timeout_ms, priority, payload, run_at, headers)
    SELECT @signal::text,
           unnest(@receivers::text[]),
           unnest(@queues::text[]),
           unnest(@max_attempts::integer[]),
           unnest(@timeouts_ms::bigint[]),
           unnest(@priorities::smallint[]),
           CAST(@payload::text AS json),
           coalesce(sqlc.narg(run_at)::timestamptz, now() + make_interval(secs => @delay_seconds::float8)),
           CAST(sqlc.narg(headers)::text AS jsonb)
    RETURNING 1
)
SELECT pg_notify('signal_task', s.nsp || '.' || n.queue)::text
FROM unnest(@notify::text[]) AS n(queue),
     (SELECT c.relnamespace::regnamespace::text AS nsp FROM pg_catalog.pg_class c WHERE c.oid = 'signal_task'::regclass) AS s;

-- name: InsertTasksQuiet :exec
-- InsertTasks without the NOTIFY, for the sends between two notifications
-- of their queues (see Send's notify limiter): the NOTIFY's part of the
-- statement costs even when it notifies nothing.
INSERT INTO signal_task (signal, receiver, queue, max_attempts, timeout_ms, priority, payload, run_at, headers)
SELECT @signal::text,
       unnest(@receivers::text[]),
       unnest(@queues::text[]),
       unnest(@max_attempts::integer[]),
       unnest(@timeouts_ms::bigint[]),
       unnest(@priorities::smallint[]),
       CAST(@payload::text AS json),
       coalesce(sqlc.narg(run_at)::timestamptz, now() + make_interval(secs => @delay_seconds::float8)),
       CAST(sqlc.narg(headers)::text AS jsonb);

-- name: InsertUniqueTasks :one
-- A send with a unique key (signalrt.Unique): as InsertTasks, but a
-- receiver that already has a task with @unique_key available or running
-- gets no new one. The partial unique index decides, so concurrent senders
-- cannot both insert. Returns how many tasks were enqueued; the queues in
-- @notify that got one are woken.
WITH inserted AS (
    INSERT INTO signal_task (signal, receiver, queue, max_attempts, timeout_ms, priority, payload, run_at, headers, unique_key)
    SELECT @signal::text,
           unnest(@receivers::text[]),
           unnest(@queues::text[]),
           unnest(@max_attempts::integer[]),
           unnest(@timeouts_ms::bigint[]),
           unnest(@priorities::smallint[]),
           CAST(@payload::text AS json),
           coalesce(sqlc.narg(run_at)::timestamptz, now() + make_interval(secs => @delay_seconds::float8)),
           CAST(sqlc.narg(headers)::text AS jsonb),
           @unique_key::text
    ON CONFLICT (receiver, unique_key) WHERE unique_key IS NOT NULL AND state IN ('available', 'running') DO NOTHING
    RETURNING queue
),
notified AS (
    SELECT pg_notify('signal_task', s.nsp || '.' || q.queue) AS n
    FROM (SELECT DISTINCT i.queue FROM inserted i WHERE i.queue = ANY(@notify::text[])) AS q,
         (SELECT c.relnamespace::regnamespace::text AS nsp FROM pg_catalog.pg_class c WHERE c.oid = 'signal_task'::regclass) AS s
)
SELECT (SELECT count(*) FROM inserted)::integer AS enqueued,
       (SELECT count(*) FROM notified)::integer AS notified;

-- name: InsertUniqueForTasks :one
-- A send with a unique key held for a while (signalrt.UniqueFor): as
-- InsertUniqueTasks, and a receiver whose key was taken less than
-- @unique_for_seconds ago (signal_unique) gets no new task either.
WITH r AS (
    SELECT unnest(@receivers::text[]) AS receiver,
           unnest(@queues::text[]) AS queue,
           unnest(@max_attempts::integer[]) AS max_attempts,
           unnest(@timeouts_ms::bigint[]) AS timeout_ms,
           unnest(@priorities::smallint[]) AS priority
),
windowed AS (
    INSERT INTO signal_unique (receiver, unique_key, until)
    SELECT r.receiver, @unique_key::text, now() + make_interval(secs => @unique_for_seconds::float8)
    FROM r
    ON CONFLICT (receiver, unique_key) DO UPDATE SET until = excluded.until
        WHERE signal_unique.until <= now()
    RETURNING receiver
),
inserted AS (
    INSERT INTO signal_task (signal, receiver, queue, max_attempts, timeout_ms, priority, payload, run_at, headers, unique_key)
    SELECT @signal::text, r.receiver, r.queue, r.max_attempts, r.timeout_ms, r.priority,
           CAST(@payload::text AS json),
           coalesce(sqlc.narg(run_at)::timestamptz, now() + make_interval(secs => @delay_seconds::float8)),
           CAST(sqlc.narg(headers)::text AS jsonb),
           @unique_key::text
    FROM r
    WHERE r.receiver IN (SELECT w.receiver FROM windowed w)
    ON CONFLICT (receiver, unique_key) WHERE unique_key IS NOT NULL AND state IN ('available', 'running') DO NOTHING
    RETURNING queue
),
notified AS (
    SELECT pg_notify('signal_task', s.nsp || '.' || q.queue) AS n
    FROM (SELECT DISTINCT i.queue FROM inserted i WHERE i.queue = ANY(@notify::text[])) AS q,
         (SELECT c.relnamespace::regnamespace::text AS nsp FROM pg_catalog.pg_class c WHERE c.oid = 'signal_task'::regclass) AS s
)
SELECT (SELECT count(*) FROM inserted)::integer AS enqueued,
       (SELECT count(*) FROM notified)::integer AS notified;

-- name: InsertSend :exec
-- A send in signalrt.BeginFunc: one row for all its routes (signal_send),
-- fanned out into tasks by a worker (FanOutSends), and a NOTIFY on
-- signal_send ("schema") that wakes the workers to do it, delivered on
-- commit.
WITH sent AS (
    INSERT INTO signal_send (signal, receivers, queues, max_attempts, timeouts_ms, priorities, payload, run_at, headers)
    VALUES (@signal::text, @receivers::text[], @queues::text[], @max_attempts::integer[], @timeouts_ms::bigint[],
            @priorities::smallint[], CAST(@payload::text AS json),
            coalesce(sqlc.narg(run_at)::timestamptz, now() + make_interval(secs => @delay_seconds::float8)),
            CAST(sqlc.narg(headers)::text AS jsonb))
    RETURNING 1
)
SELECT pg_notify('signal_send', c.relnamespace::regnamespace::text)::text
FROM pg_catalog.pg_class c WHERE c.oid = 'signal_task'::regclass;

-- name: InsertSendQuiet :exec
-- InsertSend without the NOTIFY, for the sends between two notifications
-- (see Send's notify limiter).
INSERT INTO signal_send (signal, receivers, queues, max_attempts, timeouts_ms, priorities, payload, run_at, headers)
VALUES (@signal::text, @receivers::text[], @queues::text[], @max_attempts::integer[], @timeouts_ms::bigint[],
        @priorities::smallint[], CAST(@payload::text AS json),
        coalesce(sqlc.narg(run_at)::timestamptz, now() + make_interval(secs => @delay_seconds::float8)),
        CAST(sqlc.narg(headers)::text AS jsonb));
