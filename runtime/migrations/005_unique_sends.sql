-- Reliable signals schema, version 5: deduplicated sends (signalrt.Unique,
-- signalrt.UniqueFor).
--
-- A task sent with a unique key holds that key for its receiver while it is
-- available or running: the partial unique index makes a second send of
-- the same key skip that receiver (INSERT ... ON CONFLICT DO NOTHING), in
-- the database, whatever the number of concurrent senders. Tasks without a
-- key (NULL) are in neither index and cost nothing more.
ALTER TABLE signal_task ADD COLUMN unique_key text;
CREATE UNIQUE INDEX signal_task_unique_pending ON signal_task (receiver, unique_key)
    WHERE unique_key IS NOT NULL AND state IN ('available', 'running');
-- Finds the dead tasks of a key (Retry keeps a key's pending task unique);
-- a task enters it only when it dies, so sends do not pay for it.
CREATE INDEX signal_task_unique_dead ON signal_task (receiver, unique_key, id)
    WHERE unique_key IS NOT NULL AND state = 'dead';

-- UniqueFor(key, d) also holds the key for d after the send that took it,
-- whether or not its task has finished: one row per receiver and key,
-- taken again once "until" has passed. Workers delete expired rows.
CREATE TABLE signal_unique (
    receiver   text        NOT NULL,
    unique_key text        NOT NULL,
    until      timestamptz NOT NULL,
    PRIMARY KEY (receiver, unique_key)
);
