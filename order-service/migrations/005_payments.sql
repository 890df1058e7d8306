-- Every PaymentProcessed and PaymentFailed the payment service sent, applied
-- or not, with what it did: the record behind refunds (a payment for a
-- cancelled or rejected order) and mismatches (an amount or currency that is
-- not the order's). No foreign key: a payment for an order this service does
-- not know is recorded too. Unique per provider id and kind, so a payment
-- redelivered under another event id is recorded once.
CREATE TABLE payments (
    order_id     uuid NOT NULL,
    payment_id   text NOT NULL CHECK (length(payment_id) BETWEEN 1 AND 128),
    kind         text NOT NULL CHECK (kind IN ('processed', 'failed')),
    amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
    currency     char(3) NOT NULL,
    outcome      text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (payment_id, kind)
);

CREATE INDEX payments_order ON payments (order_id);
