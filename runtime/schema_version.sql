-- Bookkeeping for runtime.Migrate: one row per applied migration file.
-- Users who apply runtime/migrations/*.sql with another tool do not need it.
CREATE TABLE IF NOT EXISTS signal_schema_version (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
