-- Orders and their lines. Money is NUMERIC(13,2): at most 99,999,999,999.99,
-- the bound of common/include/eda/money.h. `seq` orders pages (cursor
-- pagination) without exposing timestamps as cursors.
CREATE TABLE orders (
    id             uuid PRIMARY KEY,
    seq            bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    customer_id    text NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 256),
    customer_email text NOT NULL,
    status         text NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'REJECTED', 'PAID', 'CANCELLED')),
    currency       char(3) NOT NULL,
    total          numeric(13, 2) NOT NULL CHECK (total >= 0),
    reason         text,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    confirmed_at   timestamptz,
    rejected_at    timestamptz,
    paid_at        timestamptz,
    cancelled_at   timestamptz
);

CREATE INDEX orders_customer_seq ON orders (customer_id, seq DESC);
CREATE INDEX orders_status_seq ON orders (status, seq DESC);

CREATE TABLE order_items (
    order_id   uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line       int NOT NULL,
    sku        text NOT NULL,
    quantity   int NOT NULL CHECK (quantity > 0),
    unit_price numeric(13, 2) NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (order_id, line),
    UNIQUE (order_id, sku)
);
