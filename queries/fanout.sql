-- name: FanOutSends :many
-- Move up to @max committed sends (signal_send, oldest first, skipping the
-- rows that another worker is moving and the ids in @skip) into
-- signal_task, one task per route, in one statement: a send's row is
-- deleted exactly when its tasks are inserted. The tasks keep the send's
-- run_at, headers and created_at, and are inserted in send order.
--
-- Returns a row per queue that got tasks (how many, and whether some are
-- due now: those queues are woken with a NOTIFY, delivered on commit, see
-- InsertTasks), each with the number of sends moved.
WITH sends AS (
    DELETE FROM signal_send
    WHERE id = ANY(ARRAY(
        SELECT p.id FROM signal_send p
        WHERE p.id <> ALL(@skip::bigint[])
        ORDER BY p.id
        LIMIT @max::integer
        FOR UPDATE SKIP LOCKED
    ))
    RETURNING id, signal, receivers, queues, max_attempts, timeouts_ms, priorities, payload, run_at, headers, created_at
),
inserted AS (
    INSERT INTO signal_task (signal, receiver, queue, max_attempts, timeout_ms, priority, payload, run_at, headers, created_at)
    SELECT s.signal, s.receivers[r.i], s.queues[r.i], s.max_attempts[r.i], s.timeouts_ms[r.i], s.priorities[r.i],
           s.payload, s.run_at, s.headers, s.created_at
    FROM sends s
    CROSS JOIN LATERAL generate_subscripts(s.receivers, 1) AS r(i)
    ORDER BY s.id, r.i
    RETURNING queue, run_at
),
per_queue AS (
    SELECT i.queue, count(*) AS tasks, bool_or(i.run_at <= now()) AS due
    FROM inserted i
    GROUP BY i.queue
)
SELECT q.queue::text AS queue,
       q.tasks::bigint AS tasks,
       q.due::boolean AS due,
       (SELECT count(*) FROM sends)::integer AS sends,
       coalesce(CASE WHEN q.due THEN pg_notify('signal_task', n.nsp || '.' || q.queue)::text END, '')::text AS notified
FROM per_queue q,
     (SELECT c.relnamespace::regnamespace::text AS nsp FROM pg_catalog.pg_class c WHERE c.oid = 'signal_task'::regclass) AS n
ORDER BY q.queue;

-- name: PendingSends :many
-- Per queue, the tasks of sends not fanned out yet (signal_send) and the
-- run_at of the oldest due one (now when none is due): the table holds
-- only the sends of the last moments, unless no worker of this version
-- runs.
SELECT q.queue::text AS queue, count(*)::bigint AS tasks,
       coalesce(min(s.run_at) FILTER (WHERE s.run_at <= now()), now())::timestamptz AS oldest_due, now()::timestamptz AS now
FROM signal_send s
CROSS JOIN LATERAL unnest(s.queues) AS q(queue)
GROUP BY q.queue
ORDER BY q.queue;

-- name: ListenSends :exec
-- Sends in signalrt.BeginFunc notify "schema" on signal_send (InsertSend).
LISTEN signal_send;

-- name: NextSendID :one
-- The oldest send not in @skip, 0 if none (see fanOutOnce).
SELECT coalesce((SELECT p.id FROM signal_send p WHERE p.id <> ALL(@skip::bigint[]) ORDER BY p.id LIMIT 1), 0)::bigint AS id;
