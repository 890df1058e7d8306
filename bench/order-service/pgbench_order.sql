-- The transaction of POST /orders (repositories/orders.c, os_repo_order_insert
-- without Idempotency-Key): order, two lines and the OrderPlaced outbox row in
-- ONE statement, hence one commit, with a payload of the same size (its
-- colons before letters or digits spelt otherwise: pgbench reads ":name" as a
-- variable).
WITH o AS (
    INSERT INTO orders (id, customer_id, customer_email, status, currency, total, created_at, updated_at)
    SELECT gen_random_uuid(), 'bench-pg', 'bench@example.com', 'PENDING', 'EUR', 104.98::numeric, now(), now()
    RETURNING id),
i AS (
    INSERT INTO order_items (order_id, line, sku, quantity, unit_price)
    SELECT o.id, t.line, t.sku, t.q, t.p
    FROM o, unnest('{"SKU-1","B-2"}'::text[], '{2,1}'::int[], '{49.99,5.00}'::numeric[])
         WITH ORDINALITY AS t(sku, q, p, line)),
x AS (
    INSERT INTO outbox (aggregate_id, topic, event_type, event_id, payload)
    SELECT o.id, 'orders-pgbench', 'OrderPlaced', gen_random_uuid()::text,
           '{"specversion":"1.0","id":"00000000-0000-4000-8000-000000000000","source":"/order-service","type":"OrderPlaced","subject":"00000000-0000-4000-8000-000000000000","time":"2026-11-23T10.30.00.123Z","datacontenttype":"application/json","dataschema":"urn-eda-schema-OrderPlaced-1","correlationid":"00000000-0000-4000-8000-000000000000","traceparent":"00-00000000000000000000000000000001-0000000000000001-01","data":{"order_id":"00000000-0000-4000-8000-000000000000","customer":{"id":"bench-1","email":"bench@example.com"},"items":[{"sku":"SKU-1","quantity":2,"unit_price":"49.99"},{"sku":"B-2","quantity":1,"unit_price":"5.00"}],"total":"104.98","currency":"EUR"}}'
    FROM o)
SELECT count(*) FROM o;
