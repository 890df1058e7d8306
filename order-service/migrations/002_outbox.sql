-- The transactional outbox: one row per event, written in the transaction of
-- the change it announces. The relay publishes unpublished rows in id order;
-- created_at is clock_timestamp() (close to commit) and published_at the time
-- of the broker's delivery report, so their difference is the relay lag.
CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    aggregate_id uuid NOT NULL,
    topic        text NOT NULL,
    event_type   text NOT NULL,
    event_id     text NOT NULL,
    payload      text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at timestamptz
);

CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;
