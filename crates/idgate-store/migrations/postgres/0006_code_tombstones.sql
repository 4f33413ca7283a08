-- A redeemed authorization code stays as a tombstone until the grant it opened expires,
-- so a replay after the code's own expiry still finds it and revokes the grant (RFC 6749
-- §4.1.2). Keep in step with ../sqlite/0006_code_tombstones.sql (src/auth_sql.rs runs
-- on both).

-- When the sweeper may delete the row: NULL until redeemed (then `expires_at` applies),
-- the grant's expiry once redeemed.
ALTER TABLE auth_codes ADD COLUMN IF NOT EXISTS keep_until BIGINT;
DROP INDEX IF EXISTS auth_codes_expires;
CREATE INDEX IF NOT EXISTS auth_codes_sweep ON auth_codes ((COALESCE(keep_until, expires_at)));
