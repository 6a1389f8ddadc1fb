-- Merchant webhook endpoints: where a shop's backend hears of orders, payments and refunds.
-- secrets holds the signing secrets, oldest first ({value, created_at, expires_at}); the last is
-- the current one, older ones sign until their expires_at (a rotation's overlap window). The
-- deliveries themselves are rows of the delivery queue (channel 'merchant_webhook').
CREATE TABLE merchant_webhook_endpoints (
    id              text COLLATE "C" PRIMARY KEY,
    url             text NOT NULL CHECK (url <> ''),
    events          text[] NOT NULL,
    description     text NOT NULL DEFAULT '',
    enabled         boolean NOT NULL,
    secrets         jsonb NOT NULL,
    disabled_reason text,
    failing_since   timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX merchant_webhook_endpoints_created ON merchant_webhook_endpoints (created_at, id);
