-- Money safety (issues 13 and 14): a review state for intents a person must decide, late captures
-- recorded on their intent, the worker's schedule kept on each row (next attempt, attempts), and
-- refunds that count their create calls and can be flagged for a person.

ALTER TABLE payment_intents DROP CONSTRAINT payment_intents_status_check;
ALTER TABLE payment_intents ADD CONSTRAINT payment_intents_status_check CHECK (status IN (
    'requires_payment_method', 'requires_action', 'processing', 'requires_review',
    'succeeded', 'failed', 'canceled', 'expired'));
ALTER TABLE payment_intents
    ADD COLUMN payment_method text,
    ADD COLUMN paid_at timestamptz,
    ADD COLUMN late_capture boolean NOT NULL DEFAULT false,
    ADD COLUMN review_reason text,
    ADD COLUMN checks integer NOT NULL DEFAULT 0 CHECK (checks >= 0),
    ADD COLUMN next_check_at timestamptz;

-- A held intent is still the order's one live intent.
DROP INDEX payment_intents_one_active_per_order;
CREATE UNIQUE INDEX payment_intents_one_active_per_order ON payment_intents (order_id)
    WHERE status IN ('requires_payment_method', 'requires_action', 'processing', 'requires_review');
DROP INDEX payment_intents_active_idx;
DROP INDEX payment_intents_expirable_idx;
-- The worker's scan: live intents due for a status query, soonest first (held ones wait for a person).
UPDATE payment_intents SET next_check_at = updated_at + interval '2 minutes'
 WHERE status IN ('requires_payment_method', 'requires_action', 'processing');
CREATE INDEX payment_intents_due_idx ON payment_intents (next_check_at, id)
    WHERE status IN ('requires_payment_method', 'requires_action', 'processing');
CREATE INDEX payment_intents_review_idx ON payment_intents (updated_at DESC, id DESC)
    WHERE status = 'requires_review';

ALTER TABLE refunds
    ADD COLUMN attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN needs_attention boolean NOT NULL DEFAULT false,
    ADD COLUMN attention text;
UPDATE refunds SET next_attempt_at = updated_at + interval '2 minutes', attempts = 1
 WHERE status IN ('pending', 'processing');
CREATE INDEX refunds_due_idx ON refunds (next_attempt_at, id) WHERE status IN ('pending', 'processing');
CREATE INDEX refunds_attention_idx ON refunds (updated_at DESC, id DESC) WHERE needs_attention;

-- A refund recorded failed that the gateway verifies as paid out (an earlier attempt it accepted)
-- is a fact to record, even when the reservation it held was given to another refund meanwhile:
-- it is then flagged, and reconcile reports the payment refunded above what it captured.
CREATE OR REPLACE FUNCTION refunds_within_captured() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    captured bigint;
    reserved bigint;
BEGIN
    IF NEW.status = 'failed' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.status = 'failed' AND NEW.status = 'succeeded' AND NEW.needs_attention
       AND NEW.amount = OLD.amount AND NEW.payment_id = OLD.payment_id THEN
        RETURN NEW;
    END IF;
    -- A status change that reserves nothing new needs no check (and takes no lock: no deadlock
    -- with a transaction that locked the payment first and then updates this refund).
    IF TG_OP = 'UPDATE' AND OLD.status <> 'failed' AND NEW.amount <= OLD.amount
       AND NEW.payment_id = OLD.payment_id THEN
        RETURN NEW;
    END IF;
    SELECT captured_amount INTO captured FROM payment_intents WHERE id = NEW.payment_id FOR UPDATE;
    SELECT coalesce(sum(amount), 0) INTO reserved FROM refunds
     WHERE payment_id = NEW.payment_id AND status <> 'failed' AND id <> NEW.id;
    IF reserved + NEW.amount > coalesce(captured, 0) THEN
        RAISE EXCEPTION 'refunds of payment % would exceed the captured amount (% + % > %)',
            NEW.payment_id, reserved, NEW.amount, coalesce(captured, 0)
            USING ERRCODE = 'check_violation', CONSTRAINT = 'refunds_within_captured';
    END IF;
    RETURN NEW;
END $$;

-- The worker's webhook retries: due rows first, with backoff kept on the row.
ALTER TABLE webhook_events ADD COLUMN next_attempt_at timestamptz;
DROP INDEX webhook_events_unprocessed_idx;
CREATE INDEX webhook_events_due_idx ON webhook_events (coalesce(next_attempt_at, received_at), id)
    WHERE status IN ('received', 'failed');
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_reported_status_check;
ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_reported_status_check CHECK (reported_status IN (
    'requires_payment_method', 'requires_action', 'processing', 'requires_review',
    'succeeded', 'failed', 'canceled', 'expired'));

-- The payment that paid an order (a capture by any other payment of the order is refunded).
ALTER TABLE orders
    ADD COLUMN payment_id text COLLATE "C",
    ADD COLUMN paid_at timestamptz;
UPDATE orders o SET payment_id = p.id, paid_at = p.updated_at
  FROM payment_intents p WHERE p.order_id = o.id AND p.status = 'succeeded';
