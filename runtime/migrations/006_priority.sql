-- Reliable signals schema, version 6: priorities. Within a queue, due tasks
-- of higher priority are claimed first; equal priorities keep the order of
-- run_at, then id. Existing tasks get priority 0, the default.
--
-- Priorities go from -100 to 100. Most tasks have priority 0: they stay in
-- signal_task_available alone, and the claim reads them from there as
-- before. The others go to signal_task_priority, ordered by -priority (so
-- that one ascending row comparison, (-priority, run_at, id), can serve as
-- the claim's cursor through them); a queue without them costs the claim
-- two probes of an empty index and nothing else.
--
-- Adding the column does not rewrite the table, but checking its range
-- reads it once under an exclusive lock, and the index is built under a
-- lock that blocks writes: on a large table, apply it when the queue is
-- quiet.
ALTER TABLE signal_task
    ADD COLUMN priority smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN -100 AND 100);

CREATE INDEX signal_task_priority ON signal_task (queue, (-priority), run_at, id)
    WHERE state = 'available' AND priority <> 0;
