-- The mail module's table: every mail sent, once per order and kind.
CREATE TABLE IF NOT EXISTS mail_sent (
    order_id  bigint      NOT NULL,
    kind      text        NOT NULL,
    sender    text        NOT NULL,
    recipient text        NOT NULL,
    subject   text        NOT NULL,
    sent_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (order_id, kind)
);
