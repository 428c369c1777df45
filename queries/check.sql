-- Queries of the live check (runtime/check.go): which queued tasks the
-- current binary's dispatch table could not run.

-- name: CheckCountTasks :many
-- The tasks that may still run (available or running) or be retried (dead),
-- per signal, receiver and state.
SELECT signal, receiver, state, count(*)::bigint AS n
FROM signal_task
WHERE state IN ('available', 'running', 'dead')
GROUP BY signal, receiver, state
ORDER BY signal, receiver, state;

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
