-- Delivery: configured providers and every attempt of every message.
-- Keep in step with ../sqlite/0002_delivery.sql (the SQL in src/delivery_sql.rs runs on both).

CREATE TABLE IF NOT EXISTS providers (
    id                 TEXT PRIMARY KEY NOT NULL,
    channel            TEXT NOT NULL,
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL,
    -- Failover order within the channel: lower first.
    position           BIGINT NOT NULL,
    enabled            BOOLEAN NOT NULL,
    -- A JSON object of plain settings.
    settings           TEXT NOT NULL,
    -- AES-256-GCM(nonce || ciphertext) of the secrets JSON, bound to the id.
    secrets_ciphertext BYTEA NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS providers_channel_name ON providers (channel, name);
CREATE INDEX IF NOT EXISTS providers_channel_position ON providers (channel, position, name);

CREATE TABLE IF NOT EXISTS message_attempts (
    message_id          TEXT NOT NULL,
    seq                 BIGINT NOT NULL,
    channel             TEXT NOT NULL,
    provider_id         TEXT,
    provider            TEXT NOT NULL,
    http_status         BIGINT,
    provider_message_id TEXT,
    error               TEXT,
    latency_ms          BIGINT NOT NULL,
    at                  BIGINT NOT NULL,
    PRIMARY KEY (message_id, seq)
);

CREATE INDEX IF NOT EXISTS messages_channel_provider_pmid ON messages (channel, provider, provider_message_id);
