-- The X-Request-Id of the POST /orders that started the order's saga. Every
-- event of the saga carries it as its CloudEvents correlationid, also the
-- OrderCancelled that a later, different HTTP request causes (DESIGN.md).
ALTER TABLE orders ADD COLUMN correlation_id text;
