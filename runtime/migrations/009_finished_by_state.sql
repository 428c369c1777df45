-- Reliable signals schema, version 9: finished tasks indexed by state.
--
-- signal_task_finished held the succeeded and the dead tasks by
-- finished_at together, so a query about one state read the other's
-- entries too: counting the succeeded tasks that Config.Retention keeps
-- (QueueOverview, a queue's page) read every dead task. The new index
-- leads with the state, and carries the queue and receiver, so that each
-- state's tasks are read alone, in finished_at order for retention, and
-- counted per queue and receiver from the index.
--
-- Building it reads signal_task once and blocks writes while it runs: on
-- a large table, apply it when the queue is quiet.
CREATE INDEX signal_task_finished_by_state ON signal_task (state, finished_at) INCLUDE (queue, receiver)
    WHERE state IN ('succeeded', 'dead');
DROP INDEX signal_task_finished;
