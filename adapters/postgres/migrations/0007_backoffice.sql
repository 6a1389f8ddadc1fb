-- The back office (issue 17): an order's fulfilment, cancellation with its refund, and status
-- history; the fraud rules' record of attempts; gateway configuration changed at run time; what the
-- gateways said when asked (for support); the indexes of the admin lists and the analytics.

-- Fulfilment (fulfil, complete) and a paid order's cancellation. refund_due_at is set from the
-- cancellation until its refund is requested: the worker finishes what a crash left halfway.
ALTER TABLE orders
    ADD COLUMN completed_at     timestamptz,
    ADD COLUMN carrier          text,
    ADD COLUMN tracking_number  text,
    ADD COLUMN cancelled_at     timestamptz,
    ADD COLUMN cancelled_by     text,
    ADD COLUMN cancel_reason    text,
    ADD COLUMN cancel_refund_id text COLLATE "C",
    ADD COLUMN refund_due_at    timestamptz;
CREATE INDEX orders_refund_due_idx ON orders (refund_due_at, id) WHERE refund_due_at IS NOT NULL;

-- Every status an order went through: who moved it, when, from what, and why. Append-only.
CREATE TABLE order_status_history (
    order_id    text COLLATE "C" NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    position    integer NOT NULL CHECK (position >= 0),
    from_status text,
    to_status   text NOT NULL,
    at          timestamptz NOT NULL,
    by          text NOT NULL,
    note        text,
    PRIMARY KEY (order_id, position)
);
-- Orders placed before the history existed start it with the status they have now.
INSERT INTO order_status_history (order_id, position, from_status, to_status, at, by, note)
SELECT id, 0, NULL, status, updated_at, 'system', 'status when the history began' FROM orders;

-- The admin lists' filters (newest first, keyset by (created_at, id)).
CREATE INDEX orders_customer_email_idx ON orders (lower(customer_email), created_at DESC, id DESC);
CREATE INDEX orders_currency_list_idx ON orders (currency, created_at DESC, id DESC);
CREATE INDEX orders_payment_idx ON orders (payment_id) WHERE payment_id IS NOT NULL;
CREATE INDEX payment_intents_gateway_list_idx ON payment_intents (gateway, created_at DESC, id DESC);
CREATE INDEX payment_intents_currency_list_idx ON payment_intents (currency, created_at DESC, id DESC);
CREATE INDEX payment_intents_order_list_idx ON payment_intents (order_id, created_at DESC, id DESC);
CREATE INDEX refunds_status_list_idx ON refunds (status, created_at DESC, id DESC);
CREATE INDEX refunds_currency_list_idx ON refunds (currency, created_at DESC, id DESC);
CREATE INDEX refunds_order_list_idx ON refunds (order_id, created_at DESC, id DESC);
CREATE INDEX webhook_events_failed_list_idx ON webhook_events (received_at DESC, id DESC) WHERE status = 'failed';
-- The analytics read the ledger by processed_at (transactions_processed_at_idx, 0001) and orders
-- and intents by created_at (their list indexes): nothing new is needed for them.

-- What the fraud rules saw: one row per assessed attempt (velocity is counted over these, and
-- repeated declines by joining their payment references). Rows older than the longest window
-- are reaped.
CREATE TABLE fraud_attempts (
    id        text COLLATE "C" PRIMARY KEY,
    at        timestamptz NOT NULL,
    reference text COLLATE "C",
    order_id  text COLLATE "C",
    user_id   text COLLATE "C" NOT NULL,
    email     text,
    client_ip text,
    guest_id  text COLLATE "C",
    country   text,
    amount    bigint NOT NULL CHECK (amount >= 0),
    currency  text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    outcome   text NOT NULL CHECK (outcome IN ('allow', 'review', 'block')),
    reasons   jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX fraud_attempts_user_idx ON fraud_attempts (user_id, at);
CREATE INDEX fraud_attempts_email_idx ON fraud_attempts (lower(email), at) WHERE email IS NOT NULL;
CREATE INDEX fraud_attempts_ip_idx ON fraud_attempts (client_ip, at) WHERE client_ip IS NOT NULL;
CREATE INDEX fraud_attempts_guest_idx ON fraud_attempts (guest_id, at) WHERE guest_id IS NOT NULL;
CREATE INDEX fraud_attempts_at_idx ON fraud_attempts (at);

-- Gateway configuration changed at run time (secrets stay in the environment): one row per
-- gateway (enabled, per-currency limits) and one named 'routes' (currency[:country] -> gateways).
CREATE TABLE payment_config (
    name       text COLLATE "C" PRIMARY KEY CHECK (name <> ''),
    value      jsonb NOT NULL,
    version    integer NOT NULL DEFAULT 0 CHECK (version >= 0),
    updated_at timestamptz NOT NULL,
    updated_by text NOT NULL
);

-- What a gateway answered when asked about a payment (status queries and page closes): its
-- verified word, no secret and no personal data, for support. Append-only.
CREATE TABLE gateway_verifications (
    id                bigserial PRIMARY KEY,
    reference         text COLLATE "C" NOT NULL,
    gateway           text NOT NULL,
    operation         text NOT NULL CHECK (operation IN ('verify', 'expire')),
    at                timestamptz NOT NULL,
    found             boolean NOT NULL,
    status            text NOT NULL,
    raw_status        text,
    amount            bigint,
    currency          text,
    gateway_reference text,
    payment_method    text,
    error             text
);
CREATE INDEX gateway_verifications_reference_idx ON gateway_verifications (reference, at DESC, id DESC);
CREATE INDEX gateway_verifications_at_idx ON gateway_verifications (at);
