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
