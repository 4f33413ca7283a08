-- Signing in: sessions, grants, authorization codes, refresh tokens, signing keys.
-- Keep in step with ../sqlite/0003_auth.sql (src/auth_sql.rs runs on both).
-- Secrets (session cookie, code, refresh token) are stored only as keyed hashes.

CREATE TABLE IF NOT EXISTS sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    secret_hash TEXT NOT NULL,
    csrf        TEXT NOT NULL,
    user_id     TEXT,
    -- JSON array of factors.
    factors     TEXT NOT NULL,
    auth_time   BIGINT,
    -- JSON Journey, or NULL.
    journey     TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS sessions_secret_hash ON sessions (secret_hash);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires_at);

CREATE TABLE IF NOT EXISTS grants (
    id          TEXT PRIMARY KEY NOT NULL,
    client_id   TEXT NOT NULL,
    user_id     TEXT,
    session_id  TEXT,
    scope       TEXT NOT NULL,
    factors     TEXT NOT NULL,
    auth_time   BIGINT NOT NULL,
    nonce       TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX IF NOT EXISTS grants_session ON grants (session_id);
CREATE INDEX IF NOT EXISTS grants_expires ON grants (expires_at);

CREATE TABLE IF NOT EXISTS auth_codes (
    code_hash      TEXT PRIMARY KEY NOT NULL,
    grant_id       TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT
);
CREATE INDEX IF NOT EXISTS auth_codes_expires ON auth_codes (expires_at);

CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    grant_id   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX IF NOT EXISTS refresh_tokens_grant ON refresh_tokens (grant_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE IF NOT EXISTS signing_keys (
    kid             TEXT PRIMARY KEY NOT NULL,
    alg             TEXT NOT NULL,
    private_key_enc BYTEA NOT NULL,
    public_jwk      TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    retire_until    BIGINT
);
-- One active key per algorithm: two nodes starting together cannot both create one.
CREATE UNIQUE INDEX IF NOT EXISTS signing_keys_one_active ON signing_keys (alg) WHERE status = 'active';

CREATE TABLE IF NOT EXISTS client_oidc_settings (
    client_id   TEXT PRIMARY KEY NOT NULL,
    signing_alg TEXT,
    updated_at  BIGINT NOT NULL
);
