-- payport initial schema. Money columns are BIGINT minor units; timestamps timestamptz; enums are
-- stored as their .value and checked here. Ids and skus use the "C" collation so that keyset
-- pagination orders them exactly as Python's str comparison does (the memory adapters' order).
-- Single-column indexes that are a prefix of a composite index below are deliberately omitted.

CREATE TABLE users (
    id            text COLLATE "C" PRIMARY KEY,
    email         text NOT NULL CHECK (email <> ''),
    name          text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('customer', 'admin', 'guest')),
    created_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE categories (
    slug text COLLATE "C" PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE products (
    id       text COLLATE "C" PRIMARY KEY,
    sku      text COLLATE "C" NOT NULL UNIQUE,
    name     text NOT NULL,
    price    bigint NOT NULL CHECK (price >= 0),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    stock    integer NOT NULL CHECK (stock >= 0),
    category text COLLATE "C" NOT NULL,
    active   boolean NOT NULL DEFAULT true,
    version  integer NOT NULL DEFAULT 0 CHECK (version >= 0)
);
CREATE INDEX products_category_sku_idx ON products (category, sku);

CREATE TABLE coupons (
    code_key     text GENERATED ALWAYS AS (upper(code)) STORED PRIMARY KEY,
    code         text NOT NULL CHECK (code <> ''),
    kind         text NOT NULL CHECK (kind IN ('percent', 'fixed')),
    value        bigint NOT NULL CHECK (value >= 0),
    currency     text CHECK (currency ~ '^[A-Z]{3}$'),
    min_subtotal bigint NOT NULL DEFAULT 0 CHECK (min_subtotal >= 0),
    valid_from   timestamptz,
    valid_until  timestamptz,
    max_uses     integer CHECK (max_uses >= 0),
    uses         integer NOT NULL DEFAULT 0 CHECK (uses >= 0),
    active       boolean NOT NULL DEFAULT true,
    CHECK (kind <> 'percent' OR value <= 10000)
);

CREATE TABLE orders (
    id             text COLLATE "C" PRIMARY KEY,
    order_number   text COLLATE "C" NOT NULL UNIQUE,
    owner_id       text COLLATE "C" NOT NULL,
    customer_email text,
    customer_name  text,
    currency       text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    subtotal       bigint NOT NULL CHECK (subtotal >= 0),
    discount       bigint NOT NULL CHECK (discount >= 0 AND discount <= subtotal),
    shipping       bigint NOT NULL CHECK (shipping >= 0),
    tax            bigint NOT NULL CHECK (tax >= 0),
    total          bigint NOT NULL CHECK (total >= 0),
    status         text NOT NULL CHECK (status IN ('pending', 'paid', 'processing', 'completed', 'cancelled',
                                                   'failed', 'partially_refunded', 'refunded')),
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    workspace_id   text COLLATE "C",
    coupon_code    text,
    checkout_id    text COLLATE "C" UNIQUE,
    version        integer NOT NULL DEFAULT 0 CHECK (version >= 0)
);
CREATE INDEX orders_owner_list_idx ON orders (owner_id, created_at DESC, id DESC);
CREATE INDEX orders_list_idx ON orders (created_at DESC, id DESC);
CREATE INDEX orders_status_list_idx ON orders (status, created_at DESC, id DESC);
CREATE INDEX orders_workspace_list_idx ON orders (workspace_id, created_at DESC, id DESC)
    WHERE workspace_id IS NOT NULL;

CREATE TABLE order_items (
    order_id   text COLLATE "C" NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    position   integer NOT NULL CHECK (position >= 0),
    sku        text COLLATE "C" NOT NULL,
    product_id text COLLATE "C" NOT NULL,
    name       text NOT NULL,
    unit_price bigint NOT NULL CHECK (unit_price >= 0),
    quantity   integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
    PRIMARY KEY (order_id, position)
);

CREATE TABLE payment_intents (
    id                text COLLATE "C" PRIMARY KEY,
    order_id          text COLLATE "C" NOT NULL REFERENCES orders (id),
    owner_id          text COLLATE "C" NOT NULL,
    amount            bigint NOT NULL CHECK (amount > 0),
    currency          text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    gateway           text NOT NULL,
    reference         text COLLATE "C" NOT NULL UNIQUE,
    status            text NOT NULL CHECK (status IN ('requires_payment_method', 'requires_action', 'processing',
                                                      'succeeded', 'failed', 'canceled', 'expired')),
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    gateway_reference text COLLATE "C",
    authorization_url text,
    return_url        text,
    email             text,
    phone             text,
    attempts          integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error        text,
    captured_amount   bigint NOT NULL DEFAULT 0 CHECK (captured_amount >= 0),
    version           integer NOT NULL DEFAULT 0 CHECK (version >= 0),
    CONSTRAINT payment_intents_gateway_reference_key UNIQUE (gateway, gateway_reference)
);
-- At most one non-terminal intent per order (also serves "active intents of an order").
CREATE UNIQUE INDEX payment_intents_one_active_per_order ON payment_intents (order_id)
    WHERE status IN ('requires_payment_method', 'requires_action', 'processing');
CREATE INDEX payment_intents_order_status_idx ON payment_intents (order_id, status);
CREATE INDEX payment_intents_gateway_status_idx ON payment_intents (gateway, status);
CREATE INDEX payment_intents_status_created_idx ON payment_intents (status, created_at DESC, id DESC);
CREATE INDEX payment_intents_list_idx ON payment_intents (created_at DESC, id DESC);
CREATE INDEX payment_intents_owner_list_idx ON payment_intents (owner_id, created_at DESC, id DESC);
CREATE INDEX payment_intents_expires_at_idx ON payment_intents (expires_at);
-- The worker's scans: intents still waiting on the gateway, and the ones that can expire.
CREATE INDEX payment_intents_active_idx ON payment_intents (status, updated_at)
    WHERE status IN ('requires_action', 'processing');
CREATE INDEX payment_intents_expirable_idx ON payment_intents (expires_at)
    WHERE status IN ('requires_payment_method', 'requires_action', 'processing');

CREATE TABLE refunds (
    id                text COLLATE "C" PRIMARY KEY,
    payment_id        text COLLATE "C" NOT NULL REFERENCES payment_intents (id),
    order_id          text COLLATE "C" NOT NULL REFERENCES orders (id),
    owner_id          text COLLATE "C" NOT NULL,
    amount            bigint NOT NULL CHECK (amount > 0),
    currency          text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    reason            text NOT NULL,
    status            text NOT NULL CHECK (status IN ('pending', 'processing', 'succeeded', 'failed')),
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    description       text,
    gateway_refund_id text COLLATE "C",
    last_error        text,
    version           integer NOT NULL DEFAULT 0 CHECK (version >= 0)
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id, status);
CREATE INDEX refunds_list_idx ON refunds (created_at DESC, id DESC);
CREATE INDEX refunds_owner_list_idx ON refunds (owner_id, created_at DESC, id DESC);
CREATE INDEX refunds_payment_list_idx ON refunds (payment_id, created_at DESC, id DESC);
CREATE INDEX refunds_gateway_refund_idx ON refunds (gateway_refund_id) WHERE gateway_refund_id IS NOT NULL;

-- The sum of non-failed refunds never exceeds what the payment captured, whatever the code does:
-- the payment row is locked, so concurrent refunds of one payment are checked one after another.
CREATE FUNCTION refunds_within_captured() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    captured bigint;
    reserved bigint;
BEGIN
    IF NEW.status = 'failed' THEN
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
CREATE TRIGGER refunds_within_captured BEFORE INSERT OR UPDATE OF amount, status, payment_id ON refunds
    FOR EACH ROW EXECUTE FUNCTION refunds_within_captured();

CREATE TABLE transactions (
    id                text COLLATE "C" PRIMARY KEY,
    payment_id        text COLLATE "C" NOT NULL REFERENCES payment_intents (id),
    order_id          text COLLATE "C" NOT NULL,
    type              text NOT NULL CHECK (type IN ('payment', 'refund')),
    amount            bigint NOT NULL CHECK (amount >= 0),
    currency          text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status            text NOT NULL CHECK (status IN ('succeeded', 'failed', 'pending')),
    gateway           text NOT NULL,
    processed_at      timestamptz NOT NULL,
    gateway_reference text COLLATE "C",
    refund_id         text COLLATE "C" REFERENCES refunds (id),
    reconciled        boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL DEFAULT now(),
    seq               bigserial NOT NULL,
    CHECK (type <> 'refund' OR refund_id IS NOT NULL)
);
-- One successful capture per intent and one successful ledger row per refund: a second one is a
-- double charge (or double refund) being recorded.
CREATE UNIQUE INDEX transactions_one_capture_per_payment ON transactions (payment_id)
    WHERE type = 'payment' AND status = 'succeeded';
CREATE UNIQUE INDEX transactions_one_success_per_refund ON transactions (refund_id)
    WHERE type = 'refund' AND status = 'succeeded';
CREATE INDEX transactions_payment_status_idx ON transactions (payment_id, status);
CREATE INDEX transactions_status_idx ON transactions (status);
CREATE INDEX transactions_type_status_idx ON transactions (type, status);
CREATE INDEX transactions_gateway_reference_idx ON transactions (gateway, gateway_reference);
CREATE INDEX transactions_reconciliation_idx ON transactions (reconciled, processed_at);
CREATE INDEX transactions_processed_at_idx ON transactions (processed_at);

-- The ledger is append-only: only the reconciled flag may change; rows are never deleted.
CREATE FUNCTION transactions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the ledger is append-only' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (to_jsonb(NEW) - 'reconciled') IS DISTINCT FROM (to_jsonb(OLD) - 'reconciled') THEN
        RAISE EXCEPTION 'the ledger is append-only: only reconciled may change'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER transactions_append_only BEFORE UPDATE OR DELETE ON transactions
    FOR EACH ROW EXECUTE FUNCTION transactions_append_only();

CREATE TABLE webhook_events (
    id           text COLLATE "C" PRIMARY KEY,
    gateway      text NOT NULL,
    event_id     text COLLATE "C" NOT NULL,
    type         text NOT NULL,
    payload      text NOT NULL,
    signature_ok boolean NOT NULL,
    status       text NOT NULL CHECK (status IN ('received', 'processed', 'failed', 'ignored')),
    received_at  timestamptz NOT NULL,
    reference    text COLLATE "C",
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error   text,
    processed_at timestamptz,
    version      integer NOT NULL DEFAULT 0 CHECK (version >= 0),
    CONSTRAINT webhook_events_gateway_event_key UNIQUE (gateway, event_id)
);
CREATE INDEX webhook_events_unprocessed_idx ON webhook_events (received_at, id)
    WHERE status IN ('received', 'failed');
CREATE INDEX webhook_events_reference_idx ON webhook_events (reference) WHERE reference IS NOT NULL;
CREATE INDEX webhook_events_gateway_type_idx ON webhook_events (gateway, type);
CREATE INDEX webhook_events_status_idx ON webhook_events (status, received_at);

CREATE TABLE notifications (
    id         text COLLATE "C" PRIMARY KEY,
    user_id    text COLLATE "C" NOT NULL,
    kind       text NOT NULL,
    title      text NOT NULL,
    body       text NOT NULL,
    created_at timestamptz NOT NULL,
    read       boolean NOT NULL DEFAULT false,
    event_key  text COLLATE "C",
    CONSTRAINT notifications_event_key UNIQUE (user_id, event_key)
);
CREATE INDEX notifications_list_idx ON notifications (user_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id, created_at DESC, id DESC) WHERE NOT read;

CREATE TABLE idempotency_keys (
    scope          text COLLATE "C" NOT NULL,
    key            text COLLATE "C" NOT NULL,
    fingerprint    text NOT NULL,
    locked_at      timestamptz,
    recovery_point text,
    status         integer CHECK (status BETWEEN 100 AND 599),
    content_type   text,
    body           bytea,
    created_at     timestamptz NOT NULL,
    completed_at   timestamptz,
    PRIMARY KEY (scope, key),
    CHECK ((status IS NULL) = (body IS NULL) AND (status IS NULL) = (completed_at IS NULL))
);
CREATE INDEX idempotency_keys_completed_idx ON idempotency_keys (completed_at) WHERE completed_at IS NOT NULL;

CREATE TABLE outbox (
    id           uuid PRIMARY KEY,
    seq          bigserial NOT NULL UNIQUE,
    event_name   text NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (seq) WHERE published_at IS NULL;
