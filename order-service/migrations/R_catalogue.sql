-- The catalogue replica: each product's current name, price and currency, as
-- the last ProductChanged of its SKU on the compacted topic `products` says
-- (inventory-service owns products; this table is derived state). A newer
-- version wins, so a redelivered or out-of-order older event changes nothing.
--
-- A repeatable migration (R_*.sql): run at every start, so a dropped table
-- comes back empty, and the catalogue consumer, which reads the topic from its
-- start at every assignment, fills it again.
CREATE TABLE IF NOT EXISTS catalogue (
    sku         text PRIMARY KEY,
    name        text NOT NULL,
    price_cents bigint NOT NULL CHECK (price_cents >= 0),
    currency    char(3) NOT NULL,
    version     bigint NOT NULL CHECK (version > 0),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
