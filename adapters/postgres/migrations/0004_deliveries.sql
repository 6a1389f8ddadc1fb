-- The durable delivery queue shared by whatever must reach the outside world at least once
-- (merchant webhooks, e-mail, cache-invalidation replays). A row is inserted in the transaction of
-- the change that caused it; a dispatcher claims due rows with FOR UPDATE SKIP LOCKED in a short
-- transaction that counts the attempt and leases the row (next_attempt_at moves past the send's
-- deadline), sends outside any transaction, then logs the attempt and reschedules the row with
-- backoff, or marks it delivered or dead. The attempt number is the claim: an outcome recorded
-- after another dispatcher re-claimed the row is logged and moves nothing.
CREATE TABLE deliveries (
    id              text COLLATE "C" PRIMARY KEY,
    channel         text COLLATE "C" NOT NULL CHECK (channel <> ''),
    dedup_key       text COLLATE "C" NOT NULL CHECK (dedup_key <> ''),
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed', 'dead')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts    integer NOT NULL CHECK (max_attempts >= 1),
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    delivered_at    timestamptz,
    UNIQUE (channel, dedup_key),
    CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);
-- what a dispatcher scans: rows still to send, earliest due first
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at, id) WHERE status IN ('pending', 'failed');

CREATE TABLE delivery_attempts (
    delivery_id text COLLATE "C" NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt     integer NOT NULL CHECK (attempt >= 1),
    started_at  timestamptz NOT NULL,
    duration_ms integer NOT NULL CHECK (duration_ms >= 0),
    -- the status this attempt left the delivery in
    outcome     text NOT NULL CHECK (outcome IN ('delivered', 'failed', 'dead')),
    status_code integer,
    detail      text CHECK (length(detail) <= 1000),
    PRIMARY KEY (delivery_id, attempt)
);
