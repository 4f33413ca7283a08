-- Abuse protection: rate-limit counters, distinct-member sets (prefix velocity) and
-- temporary blocks. Keep in step with ../postgres/0004_limits.sql (src/limits_sql.rs runs
-- on both). Keys never hold a phone number or an IP address in clear: those subjects are
-- keyed hashes. Every row expires; the sweeper deletes expired rows.

CREATE TABLE IF NOT EXISTS limit_counters (
    key          TEXT PRIMARY KEY NOT NULL,
    count        INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    resets_at    INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS limit_counters_resets ON limit_counters (resets_at);

CREATE TABLE IF NOT EXISTS limit_members (
    set_key    TEXT NOT NULL,
    member     TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (set_key, member)
) STRICT;
CREATE INDEX IF NOT EXISTS limit_members_expires ON limit_members (expires_at);

CREATE TABLE IF NOT EXISTS limit_blocks (
    key        TEXT PRIMARY KEY NOT NULL,
    until      INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS limit_blocks_until ON limit_blocks (until);
