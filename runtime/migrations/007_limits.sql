-- Reliable signals schema, version 7: limits shared by all workers
-- (signalrt.Limit: the concurrency= and rate= options of a receiver).
--
-- One row per limited receiver: its token bucket for the rate, and the
-- row every worker locks while it claims that receiver's tasks, so that
-- the running count and the tokens it reads cannot change under it.
CREATE TABLE signal_limit (
    key        text             PRIMARY KEY,
    tokens     double precision NOT NULL,
    updated_at timestamptz      NOT NULL
);
