-- Reliable signals schema, version 2: the registry of live workers, the
-- receivers they know, queue settings (pause), per-minute throughput, and
-- what rolling deploys need on each task.

-- One row per running worker. A worker inserts its row when it starts,
-- refreshes heartbeat_at and expires_at every Lease/3, and deletes it at
-- graceful shutdown. A worker that died leaves its row behind: it counts as
-- gone once expires_at (three leases after its last heartbeat) has passed,
-- and maintenance deletes it an hour after that.
CREATE TABLE signal_worker (
    name         text        PRIMARY KEY,
    host         text        NOT NULL,
    pid          integer     NOT NULL,
    -- The queues the worker claims from, and its slots in all (the sum of
    -- its queues' concurrency).
    queues       text[]      NOT NULL,
    concurrency  integer     NOT NULL,
    -- The worker's dispatch table: receiver key -> {"signal", "queue",
    -- "contract"}, where contract is the fingerprint of the payload contract
    -- its code decodes ('' when unknown).
    receivers    jsonb       NOT NULL DEFAULT '{}',
    -- Free text that a worker sets when it is degraded; NULL when healthy.
    unhealthy    text,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);

-- The memory of which worker could run which receiver key with which payload
-- contract, and when it last could: upserted by every worker's heartbeat,
-- kept after the worker is gone. A task whose receiver no worker has been
-- able to run for the orphan grace period ends dead (see the worker's
-- maintenance); until then it waits for a worker that knows its key.
CREATE TABLE signal_receiver (
    key      text        NOT NULL,
    contract text        NOT NULL,
    signal   text        NOT NULL,
    queue    text        NOT NULL,
    seen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key, contract)
);

-- Settings of a queue that hold across all workers. A queue without a row
-- has the defaults: running.
CREATE TABLE signal_queue (
    name       text        PRIMARY KEY,
    -- Set while the queue is paused: no worker claims its tasks; sends still
    -- enqueue them.
    paused_at  timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Throughput history, one row per minute, queue and receiver. Workers count
-- outcomes in memory and add them every few seconds; rows older than the
-- stats retention (7 days by default) are deleted by maintenance.
CREATE TABLE signal_stat (
    minute    timestamptz NOT NULL,
    queue     text        NOT NULL,
    receiver  text        NOT NULL,
    succeeded bigint      NOT NULL DEFAULT 0,
    -- Failed attempts that will be retried.
    failed    bigint      NOT NULL DEFAULT 0,
    -- Attempts that ended their task dead.
    dead      bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, queue, receiver)
);

-- Maintenance that one worker of all does per period (finding orphaned and
-- moved tasks, deleting old registry rows and counters): the worker that
-- moves done_at forward past the period does it.
CREATE TABLE signal_maintenance (
    name    text        PRIMARY KEY,
    done_at timestamptz NOT NULL DEFAULT now()
);

-- Rolling deploys: the payload contracts of workers that could not decode
-- this task's payload and left it for a worker of another version that can.
-- NULL for nearly every task; claims skip a task that the claiming worker's
-- contract has declined.
ALTER TABLE signal_task ADD COLUMN declined text[];

-- The ops views: dead tasks counted per queue and receiver from the index
-- alone, and listed newest first, on a table of millions of tasks. Only
-- tasks that die write to them.
CREATE INDEX signal_task_dead_by_queue ON signal_task (queue, receiver) WHERE state = 'dead';
CREATE INDEX signal_task_dead_by_id ON signal_task (id) WHERE state = 'dead';
