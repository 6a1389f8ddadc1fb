-- Security (issue 16): accounts that can be disabled, a token generation per user (0005 adds it
-- too for password changes: whichever runs first adds it), and the refresh tokens of each login,
-- rotated on every use; a token used twice revokes its family.

ALTER TABLE users ADD COLUMN IF NOT EXISTS token_generation integer NOT NULL DEFAULT 0
    CHECK (token_generation >= 0);
ALTER TABLE users ADD COLUMN IF NOT EXISTS disabled boolean NOT NULL DEFAULT false;

CREATE TABLE refresh_tokens (
    id          text COLLATE "C" PRIMARY KEY,
    family_id   text COLLATE "C" NOT NULL,
    user_id     text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at   timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz,
    CHECK (expires_at > issued_at)
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id) WHERE revoked_at IS NULL;
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
-- what the worker may purge: tokens past their expiry
CREATE INDEX refresh_tokens_expiry_idx ON refresh_tokens (expires_at);
