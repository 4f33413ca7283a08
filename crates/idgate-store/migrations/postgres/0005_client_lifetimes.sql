-- Per-application token lifetimes, in seconds; NULL = the server's lifetime applies.
-- Keep in step with ../sqlite/0005_client_lifetimes.sql (src/auth_sql.rs runs on both).

ALTER TABLE client_oidc_settings ADD COLUMN IF NOT EXISTS access_token_ttl BIGINT;
ALTER TABLE client_oidc_settings ADD COLUMN IF NOT EXISTS id_token_ttl BIGINT;
ALTER TABLE client_oidc_settings ADD COLUMN IF NOT EXISTS refresh_token_ttl BIGINT;
ALTER TABLE client_oidc_settings ADD COLUMN IF NOT EXISTS auth_code_ttl BIGINT;
