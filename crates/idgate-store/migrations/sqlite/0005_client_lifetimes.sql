-- Per-application token lifetimes, in seconds; NULL = the server's lifetime applies.
-- Keep in step with ../postgres/0005_client_lifetimes.sql (src/auth_sql.rs runs on both).

ALTER TABLE client_oidc_settings ADD COLUMN access_token_ttl INTEGER;
ALTER TABLE client_oidc_settings ADD COLUMN id_token_ttl INTEGER;
ALTER TABLE client_oidc_settings ADD COLUMN refresh_token_ttl INTEGER;
ALTER TABLE client_oidc_settings ADD COLUMN auth_code_ttl INTEGER;
