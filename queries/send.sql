-- name: InsertTasks :exec
-- One round trip per send: one row per receiver (the arrays are zipped in
-- lockstep), then a NOTIFY for each queue in @notify, delivered on commit.
WITH inserted AS (
    INSERT INTO signal_task (signal, receiver, queue, max_attempts, timeout_ms, payload, run_at)
    SELECT @signal::text,
           unnest(@receivers::text[]),
           unnest(@queues::text[]),
           unnest(@max_attempts::integer[]),
           unnest(@timeouts_ms::bigint[]),
           CAST(@payload::text AS jsonb),
           coalesce(sqlc.narg(run_at)::timestamptz, now())
    RETURNING 1
)
SELECT pg_notify('signal_task', n.queue)::text
FROM unnest(@notify::text[]) AS n(queue);
