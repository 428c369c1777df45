-- Queries of the live check (runtime/check.go): which queued tasks the
-- current binary's dispatch table could not run.

-- name: CheckCountTasks :many
-- The tasks that may still run (available or running) or be retried (dead),
-- per signal, receiver and state; the tasks of sends not fanned out yet
-- (signal_send) count as available.
SELECT c.signal::text AS signal, c.receiver::text AS receiver, c.state::text AS state, sum(c.n)::bigint AS n
FROM (
    SELECT t.signal, t.receiver, t.state, count(*) AS n
    FROM signal_task t
    WHERE t.state IN ('available', 'running', 'dead')
    GROUP BY t.signal, t.receiver, t.state
    UNION ALL
    SELECT s.signal, r.receiver, 'available' AS state, count(*) AS n
    FROM signal_send s
    CROSS JOIN LATERAL unnest(s.receivers) AS r(receiver)
    GROUP BY s.signal, r.receiver
) c
GROUP BY c.signal, c.receiver, c.state
ORDER BY c.signal, c.receiver, c.state;

-- name: CheckPayloads :many
-- One page of those tasks' payloads, of the given receivers, in id order
-- after after_id (keyset paging).
SELECT id, signal, receiver, state, payload
FROM signal_task
WHERE id > @after_id::bigint
  AND state IN ('available', 'running', 'dead')
  AND receiver = ANY(@receivers::text[])
ORDER BY id
LIMIT @max::integer;

-- name: CheckSendPayloads :many
-- One page of the sends not fanned out yet (@max sends after @after_id, in
-- id order), a row per receiver.
WITH page AS (
    SELECT p.id, p.signal, p.receivers, p.payload
    FROM signal_send p
    WHERE p.id > @after_id::bigint
    ORDER BY p.id
    LIMIT @max::integer
)
SELECT page.id, page.signal, r.receiver::text AS receiver, page.payload
FROM page
CROSS JOIN LATERAL unnest(page.receivers) AS r(receiver)
ORDER BY page.id;
