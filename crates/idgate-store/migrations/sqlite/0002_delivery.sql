-- Delivery: configured providers and every attempt of every message.
-- Keep in step with ../postgres/0002_delivery.sql (the SQL in src/delivery_sql.rs runs on both).

CREATE TABLE IF NOT EXISTS providers (
    id                 TEXT PRIMARY KEY NOT NULL,
    channel            TEXT NOT NULL,
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL,
    -- Failover order within the channel: lower first.
    position           INTEGER NOT NULL,
    enabled            INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    -- A JSON object of plain settings.
    settings           TEXT NOT NULL,
    -- AES-256-GCM(nonce || ciphertext) of the secrets JSON, bound to the id.
    secrets_ciphertext BLOB NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS providers_channel_name ON providers (channel, name);
CREATE INDEX IF NOT EXISTS providers_channel_position ON providers (channel, position, name);

CREATE TABLE IF NOT EXISTS message_attempts (
    message_id          TEXT NOT NULL,
    seq                 INTEGER NOT NULL,
    channel             TEXT NOT NULL,
    provider_id         TEXT,
    provider            TEXT NOT NULL,
    http_status         INTEGER,
    provider_message_id TEXT,
    error               TEXT,
    latency_ms          INTEGER NOT NULL,
    at                  INTEGER NOT NULL,
    PRIMARY KEY (message_id, seq)
) STRICT;

CREATE INDEX IF NOT EXISTS messages_channel_provider_pmid ON messages (channel, provider, provider_message_id);
