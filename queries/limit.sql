-- name: TakeLimit :one
-- Lock the limit row of @key (creating it with a full bucket of @burst
-- tokens) for the rest of the transaction: the workers that claim a
-- limited receiver take turns here. Returns the tokens as last stored,
-- when they were stored, and the database's clock now.
INSERT INTO signal_limit AS l (key, tokens, updated_at)
VALUES (@key::text, @burst::float8, clock_timestamp())
ON CONFLICT (key) DO UPDATE SET key = excluded.key
RETURNING l.tokens, l.updated_at, clock_timestamp()::timestamptz AS now;

-- name: CountRunning :one
-- The running tasks of a receiver, in all workers. Read after TakeLimit,
-- in a statement of its own, so that it sees the claims of the workers
-- that held the limit row before.
SELECT count(*)::integer AS running FROM signal_task WHERE state = 'running' AND receiver = @receiver::text;

-- name: SetLimitTokens :exec
UPDATE signal_limit SET tokens = @tokens::float8, updated_at = @at::timestamptz WHERE key = @key::text;

-- name: CountRunningInQueue :one
-- The running tasks of a queue, in all workers (a queue's Limit; see
-- CountRunning).
SELECT count(*)::integer AS running FROM signal_task WHERE state = 'running' AND queue = @queue::text;
