-- The queries of package signaltest: helpers for users' tests, on the
-- small tables of a test's own schema (none of them is a hot statement).

-- name: TestNow :one
-- The database's clock.
SELECT now()::timestamptz AS now;

-- name: TestTasksOf :many
-- Every task of @signal, whatever its state, in id order: the tasks of
-- one send have consecutive ids, its created_at and its payload.
SELECT id, receiver, payload, created_at FROM signal_task WHERE signal = @signal::text ORDER BY id;

-- name: TestSendsOf :many
-- The sends of @signal made in signalrt.BeginFunc that no worker has
-- fanned out yet, in id order.
SELECT id, payload, created_at FROM signal_send WHERE signal = @signal::text ORDER BY id;

-- name: TestBusy :one
-- What keeps a database from being idle: tasks running (in any worker),
-- tasks due, and sends waiting for their fan-out.
SELECT (SELECT count(*) FROM signal_task r WHERE r.state = 'running')::bigint AS running,
       (SELECT count(*) FROM signal_task a WHERE a.state = 'available' AND a.run_at <= now())::bigint AS due,
       (SELECT count(*) FROM signal_send)::bigint AS sends;

-- name: TestDueByReceiver :many
-- The due tasks per receiver key.
SELECT receiver, count(*)::bigint AS n FROM signal_task
WHERE state = 'available' AND run_at <= now()
GROUP BY receiver ORDER BY receiver;

-- name: TestDeadSince :many
-- The tasks that ended dead at or after @since, in id order.
SELECT id FROM signal_task
WHERE state = 'dead' AND finished_at >= @since::timestamptz
ORDER BY id;
