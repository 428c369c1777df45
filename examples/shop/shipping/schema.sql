-- The shipping module's tables. Idempotent.
CREATE TABLE IF NOT EXISTS stock (
    sku      text PRIMARY KEY,
    received integer NOT NULL, -- delivered to the warehouse
    on_hand  integer NOT NULL CHECK (on_hand >= 0)
);

CREATE TABLE IF NOT EXISTS reservation (
    order_id bigint  NOT NULL,
    sku      text    NOT NULL REFERENCES stock (sku),
    qty      integer NOT NULL CHECK (qty > 0),
    PRIMARY KEY (order_id, sku)
);

CREATE TABLE IF NOT EXISTS shipment (
    order_id        bigint PRIMARY KEY,
    tracking_number text        NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now()
);

INSERT INTO stock (sku, received, on_hand) VALUES
    ('cup', 100000, 100000), ('kettle', 100000, 100000), ('spoon', 100000, 100000),
    ('tea', 100000, 100000), ('tray', 100000, 100000)
ON CONFLICT (sku) DO NOTHING;
