-- Events this service has applied (exactly-once effect under at-least-once
-- delivery: CloudEvents identify an event by source + id), and the
-- Idempotency-Key records of POST /orders with the first response.
CREATE TABLE consumed_events (
    source      text NOT NULL,
    event_id    text NOT NULL,
    event_type  text NOT NULL,
    order_id    uuid,
    outcome     text NOT NULL,
    consumed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, event_id)
);

CREATE INDEX consumed_events_at ON consumed_events (consumed_at);

CREATE TABLE idempotency_keys (
    customer_id   text NOT NULL,
    key           text NOT NULL,
    request_hash  bytea NOT NULL,
    status_code   int NOT NULL,
    response_body text NOT NULL,
    order_id      uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, key)
);

CREATE INDEX idempotency_keys_at ON idempotency_keys (created_at);
