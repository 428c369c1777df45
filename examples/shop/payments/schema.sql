-- The payments module's table. Idempotent.
CREATE TABLE IF NOT EXISTS payment (
    order_id     bigint PRIMARY KEY, -- one capture per order
    email        text        NOT NULL,
    amount_cents bigint      NOT NULL,
    captured_at  timestamptz NOT NULL DEFAULT now()
);
