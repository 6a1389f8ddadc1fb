-- Carts (one per owner: a user id or a guest id), saved addresses, and coupon redemptions that
-- count per-user coupon limits (one row per (coupon, order), written under the coupon's row lock).
ALTER TABLE coupons
    ADD COLUMN max_uses_per_user integer CHECK (max_uses_per_user >= 0);

CREATE TABLE carts (
    owner_id   text COLLATE "C" PRIMARY KEY,
    currency   text CHECK (currency ~ '^[A-Z]{3}$'),
    lines      jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(lines) = 'array'),
    updated_at timestamptz NOT NULL,
    version    integer NOT NULL DEFAULT 0 CHECK (version >= 0),
    CHECK (currency IS NOT NULL OR lines = '[]'::jsonb)
);

CREATE TABLE addresses (
    id          text COLLATE "C" PRIMARY KEY,
    owner_id    text COLLATE "C" NOT NULL,
    label       text,
    country     text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    city        text NOT NULL CHECK (city <> ''),
    line1       text NOT NULL CHECK (line1 <> ''),
    postal_code text,
    created_at  timestamptz NOT NULL
);
CREATE INDEX addresses_owner_idx ON addresses (owner_id, created_at DESC, id DESC);

CREATE TABLE coupon_redemptions (
    coupon_code text NOT NULL REFERENCES coupons (code_key),
    order_id    text COLLATE "C" NOT NULL REFERENCES orders (id),
    user_id     text COLLATE "C" NOT NULL,
    redeemed_at timestamptz NOT NULL,
    PRIMARY KEY (coupon_code, order_id)
);
CREATE INDEX coupon_redemptions_user_idx ON coupon_redemptions (coupon_code, user_id);
