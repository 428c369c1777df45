-- Reliable signals schema, version 3: headers that travel with a task from
-- its sender to every attempt, such as the W3C trace context of the send
-- (see runtime.Hooks and package otelsignal). NULL when no hook set any, so
-- a send without hooks stores nothing more.
ALTER TABLE signal_task ADD COLUMN headers jsonb;
