-- Issue 20: the append-mostly tables partitioned by time (declarative range partitioning), so that
-- purging them is dropping a partition instead of deleting rows:
--   outbox               by created_at, a day each    (published rows kept 7 days)
--   delivery_attempts    by started_at, a month each  (the merchant webhooks' and e-mails' attempt logs, kept 90 days)
--   order_status_history by at, a month each         (kept with its orders: never dropped by the worker)
--   idempotency_keys_expired, new, by completed_at, a day each: where the reaper moves keys completed
--                        more than 24 h ago (their status and fingerprint, not their body), kept 7 days
-- Every row is kept: each table is renamed, its partitioned successor created, the rows moved and the
-- old table dropped, in this migration's one transaction. Rows older than the current period go to
-- one "before" partition (MINVALUE up to its start); the current period and the next ones are created
-- here, and later ones by the worker's `partitions` job (`payport partitions`, adapters/postgres/
-- partitions.py) ahead of time; a DEFAULT partition takes any row no other one covers, so no insert
-- ever fails.
--
-- A unique index on a partitioned table must contain the partition key, so each key gains it:
--   outbox (id, created_at), (seq, created_at): ids are random UUIDs and seq a sequence, unique by
--     construction; nothing looks a row up by a conflict.
--   delivery_attempts (delivery_id, attempt, started_at): the attempt number is the claim (counted
--     under the delivery's row lock), and a retried record of one attempt carries its started_at.
--   order_status_history (order_id, position, at): positions are appended under the order's version
--     check (optimistic lock) in the transaction that saves the order, and ON CONFLICT names the new key.
-- The live idempotency_keys keep their global primary key (scope, key): "a key answers once" rests on
-- it (INSERT ... ON CONFLICT), so that table is not partitioned. Nor are the ledger (transactions) and
-- the webhook inbox (webhook_events), whose money guarantees rest on global unique indexes
-- (README: "Partitioning and archiving").

ALTER TABLE outbox RENAME TO outbox_unpartitioned;
CREATE TABLE outbox (
    id           uuid NOT NULL,
    seq          bigint NOT NULL DEFAULT nextval('outbox_seq_seq'),
    event_name   text NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    CONSTRAINT outbox_partitioned_pkey PRIMARY KEY (id, created_at),
    CONSTRAINT outbox_partitioned_seq_key UNIQUE (seq, created_at)
) PARTITION BY RANGE (created_at);
ALTER SEQUENCE outbox_seq_seq OWNED BY outbox.seq;

ALTER TABLE delivery_attempts RENAME TO delivery_attempts_unpartitioned;
CREATE TABLE delivery_attempts (
    delivery_id text COLLATE "C" NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt     integer NOT NULL CHECK (attempt >= 1),
    started_at  timestamptz NOT NULL,
    duration_ms integer NOT NULL CHECK (duration_ms >= 0),
    outcome     text NOT NULL CHECK (outcome IN ('delivered', 'failed', 'dead')),
    status_code integer,
    detail      text CHECK (length(detail) <= 1000),
    CONSTRAINT delivery_attempts_partitioned_pkey PRIMARY KEY (delivery_id, attempt, started_at)
) PARTITION BY RANGE (started_at);

ALTER TABLE order_status_history RENAME TO order_status_history_unpartitioned;
CREATE TABLE order_status_history (
    order_id    text COLLATE "C" NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    position    integer NOT NULL CHECK (position >= 0),
    from_status text,
    to_status   text NOT NULL,
    at          timestamptz NOT NULL,
    by          text NOT NULL,
    note        text,
    CONSTRAINT order_status_history_partitioned_pkey PRIMARY KEY (order_id, position, at)
) PARTITION BY RANGE (at);

CREATE TABLE idempotency_keys_expired (
    scope        text COLLATE "C" NOT NULL,
    key          text COLLATE "C" NOT NULL,
    fingerprint  text NOT NULL,
    status       integer NOT NULL,
    content_type text,
    created_at   timestamptz NOT NULL,
    completed_at timestamptz NOT NULL
) PARTITION BY RANGE (completed_at);

-- the partitions: "before" (MINVALUE .. this period), this period and the next ones, DEFAULT
DO $$
DECLARE
    spec   record;
    base   timestamp;
    step   interval;
    lo     timestamptz;
    hi     timestamptz;
    suffix text;
BEGIN
    FOR spec IN SELECT * FROM (VALUES ('outbox', 'day', 7), ('delivery_attempts', 'month', 2),
                                      ('order_status_history', 'month', 2), ('idempotency_keys_expired', 'day', 7))
                              AS s (parent, period, ahead) LOOP
        step := ('1 ' || spec.period)::interval;
        base := date_trunc(spec.period, now() AT TIME ZONE 'UTC');
        suffix := CASE spec.period WHEN 'day' THEN 'YYYYMMDD' ELSE 'YYYYMM' END;
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (MINVALUE) TO (%L)',
                       spec.parent || '_before_' || to_char(base, 'YYYYMMDD'), spec.parent, base AT TIME ZONE 'UTC');
        FOR i IN 0 .. spec.ahead LOOP
            lo := (base + step * i) AT TIME ZONE 'UTC';
            hi := (base + step * (i + 1)) AT TIME ZONE 'UTC';
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                           spec.parent || '_p' || to_char(base + step * i, suffix), spec.parent, lo, hi);
        END LOOP;
        EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', spec.parent || '_default', spec.parent);
    END LOOP;
END $$;

-- every row moves
INSERT INTO outbox (id, seq, event_name, payload, created_at, published_at)
SELECT id, seq, event_name, payload, created_at, published_at FROM outbox_unpartitioned;
INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, outcome, status_code, detail)
SELECT delivery_id, attempt, started_at, duration_ms, outcome, status_code, detail FROM delivery_attempts_unpartitioned;
INSERT INTO order_status_history (order_id, position, from_status, to_status, at, by, note)
SELECT order_id, position, from_status, to_status, at, by, note FROM order_status_history_unpartitioned;

DROP TABLE outbox_unpartitioned;
DROP TABLE delivery_attempts_unpartitioned;
DROP TABLE order_status_history_unpartitioned;

ALTER TABLE outbox RENAME CONSTRAINT outbox_partitioned_pkey TO outbox_pkey;
ALTER TABLE outbox RENAME CONSTRAINT outbox_partitioned_seq_key TO outbox_seq_key;
ALTER TABLE delivery_attempts RENAME CONSTRAINT delivery_attempts_partitioned_pkey TO delivery_attempts_pkey;
ALTER TABLE order_status_history RENAME CONSTRAINT order_status_history_partitioned_pkey TO order_status_history_pkey;
-- the other constraints take back the names they had (made with a "1" while the old table held them)
ALTER TABLE delivery_attempts RENAME CONSTRAINT delivery_attempts_attempt_check1 TO delivery_attempts_attempt_check;
ALTER TABLE delivery_attempts RENAME CONSTRAINT delivery_attempts_detail_check1 TO delivery_attempts_detail_check;
ALTER TABLE delivery_attempts RENAME CONSTRAINT delivery_attempts_duration_ms_check1 TO delivery_attempts_duration_ms_check;
ALTER TABLE delivery_attempts RENAME CONSTRAINT delivery_attempts_outcome_check1 TO delivery_attempts_outcome_check;
ALTER TABLE delivery_attempts RENAME CONSTRAINT delivery_attempts_delivery_id_fkey1 TO delivery_attempts_delivery_id_fkey;
ALTER TABLE order_status_history RENAME CONSTRAINT order_status_history_order_id_fkey1 TO order_status_history_order_id_fkey;
ALTER TABLE order_status_history RENAME CONSTRAINT order_status_history_position_check1 TO order_status_history_position_check;

-- the relay's scan (unpublished, in order), on every partition
CREATE INDEX outbox_unpublished_idx ON outbox (seq) WHERE published_at IS NULL;
-- support looks a reaped key up by its name
CREATE INDEX idempotency_keys_expired_key_idx ON idempotency_keys_expired (scope, key);
