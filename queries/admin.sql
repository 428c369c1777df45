-- name: SchemaVersions :many
SELECT version FROM signal_schema_version ORDER BY version;

-- name: RecordSchemaVersion :exec
INSERT INTO signal_schema_version (version, name) VALUES (@version::integer, @name::text);

-- name: AdvisoryXactLock :exec
-- A transaction-level advisory lock: released by the COMMIT or ROLLBACK of
-- the transaction that took it, so it cannot outlive that transaction on a
-- server connection that a pooler (PgBouncer in transaction pooling mode)
-- hands to another client afterwards.
SELECT pg_advisory_xact_lock(@key::bigint);

-- name: RetryTasks :many
-- Make dead (or waiting) tasks available now with a fresh set of attempts;
-- their error history is kept. Wakes the workers of their queues (see
-- InsertTasks for the notification's payload).
--
-- A dead task sent with a unique key is retried only when no other task of
-- its receiver and key is pending and no newer one is dead: the key stays
-- held by one pending task (see signalrt.Unique).
WITH retried AS (
    UPDATE signal_task t
    SET state = 'available', attempt = 0, run_at = now(), finished_at = NULL, worker = NULL
    WHERE t.id = ANY(@ids::bigint[]) AND t.state IN ('dead', 'available')
      AND (t.unique_key IS NULL OR t.state = 'available' OR NOT EXISTS (
          SELECT 1 FROM signal_task o
          WHERE o.receiver = t.receiver AND o.unique_key = t.unique_key AND o.unique_key IS NOT NULL AND o.id <> t.id
            AND (o.state IN ('available', 'running') OR (o.state = 'dead' AND o.id > t.id))))
    RETURNING t.id, t.queue
)
SELECT r.id, pg_notify('signal_task', s.nsp || '.' || r.queue)::text AS notified
FROM retried r,
     (SELECT c.relnamespace::regnamespace::text AS nsp FROM pg_catalog.pg_class c WHERE c.oid = 'signal_task'::regclass) AS s;

-- name: GetTask :one
SELECT id, signal, receiver, queue, state, payload, attempt, max_attempts, run_at, errors, created_at, finished_at, priority
FROM signal_task
WHERE id = @id::bigint;
