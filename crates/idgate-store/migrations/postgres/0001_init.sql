-- idgate schema, PostgreSQL flavour. Keep in step with ../sqlite/0001_init.sql: the
-- queries in src/queries.rs run unchanged on both.
-- Times are unix seconds (BIGINT); JSON documents are TEXT, as on SQLite, so one set of
-- queries reads both.

CREATE TABLE IF NOT EXISTS users (
    id              TEXT PRIMARY KEY NOT NULL,
    username        TEXT NOT NULL,
    -- Lower-cased username: the uniqueness and sort key.
    username_key    TEXT NOT NULL,
    password_hash   TEXT,
    -- E.164.
    mobile          TEXT,
    mobile_verified BOOLEAN NOT NULL DEFAULT FALSE,
    display_name    TEXT,
    locale          TEXT,
    status          TEXT NOT NULL,
    locked_until    BIGINT,
    is_admin        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS users_username_key ON users (username_key);
CREATE INDEX IF NOT EXISTS users_mobile ON users (mobile);

CREATE TABLE IF NOT EXISTS applications (
    id                        TEXT PRIMARY KEY NOT NULL,
    client_id                 TEXT NOT NULL,
    client_secret_hash        TEXT,
    name                      TEXT NOT NULL,
    -- JSON arrays of strings.
    redirect_uris             TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    -- JSON LoginFlow.
    login_flow                TEXT NOT NULL,
    -- JSON OtpPolicy; NULL = the global policy applies.
    otp_policy                TEXT,
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS applications_client_id ON applications (client_id);

CREATE TABLE IF NOT EXISTS admin_tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE UNIQUE INDEX IF NOT EXISTS admin_tokens_token_hash ON admin_tokens (token_hash);
CREATE INDEX IF NOT EXISTS admin_tokens_name ON admin_tokens (name);

CREATE TABLE IF NOT EXISTS settings (
    key        TEXT PRIMARY KEY NOT NULL,
    -- A JSON document.
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Live verifications. No foreign keys: an API-purpose verification has no user, and a
-- verification's end is decided by its status and the sweeper, not by cascades.
CREATE TABLE IF NOT EXISTS verifications (
    id                 TEXT PRIMARY KEY NOT NULL,
    application_id     TEXT,
    user_id            TEXT,
    purpose            TEXT NOT NULL,
    channel            TEXT NOT NULL,
    destination        TEXT NOT NULL,
    destination_masked TEXT NOT NULL,
    code_hmac          BYTEA NOT NULL,
    code_ciphertext    BYTEA,
    status             TEXT NOT NULL,
    attempts           BIGINT NOT NULL,
    max_attempts       BIGINT NOT NULL,
    resends            BIGINT NOT NULL,
    max_resends        BIGINT NOT NULL,
    resend_cooldown    BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    last_sent_at       BIGINT NOT NULL,
    finished_at        BIGINT
);
CREATE INDEX IF NOT EXISTS verifications_status_expires ON verifications (status, expires_at);
CREATE INDEX IF NOT EXISTS verifications_finished ON verifications (finished_at);

-- Purged verifications: what happened, without the number or any code material.
CREATE TABLE IF NOT EXISTS verification_history (
    id                 TEXT PRIMARY KEY NOT NULL,
    application_id     TEXT,
    user_id            TEXT,
    purpose            TEXT NOT NULL,
    channel            TEXT NOT NULL,
    destination_masked TEXT NOT NULL,
    status             TEXT NOT NULL,
    attempts           BIGINT NOT NULL,
    resends            BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    finished_at        BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS verification_history_finished ON verification_history (finished_at, id);

CREATE TABLE IF NOT EXISTS messages (
    id                  TEXT PRIMARY KEY NOT NULL,
    verification_id     TEXT,
    channel             TEXT NOT NULL,
    provider            TEXT NOT NULL,
    to_masked           TEXT NOT NULL,
    body_redacted       TEXT NOT NULL,
    status              TEXT NOT NULL,
    provider_message_id TEXT,
    error               TEXT,
    attempts            BIGINT NOT NULL,
    latency_ms          BIGINT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_created ON messages (created_at, id);
CREATE INDEX IF NOT EXISTS messages_verification ON messages (verification_id);
CREATE INDEX IF NOT EXISTS messages_provider_message ON messages (provider, provider_message_id);

CREATE TABLE IF NOT EXISTS audit_events (
    id      TEXT PRIMARY KEY NOT NULL,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    -- A JSON document.
    details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_at ON audit_events (at, id);
