//! SQL for `AuthStore`, run unchanged on SQLite and PostgreSQL (`$n` parameters in order
//! of first appearance; times as unix seconds; JSON as text).

pub(crate) const INSERT_SESSION: &str = "INSERT INTO sessions \
    (id, secret_hash, csrf, user_id, factors, auth_time, journey, created_at, updated_at, expires_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

pub(crate) const FIND_SESSION: &str = "SELECT id, secret_hash, csrf, user_id, factors, auth_time, \
    journey, created_at, updated_at, expires_at FROM sessions \
    WHERE secret_hash = $1 AND expires_at > $2";

pub(crate) const UPDATE_SESSION: &str = "UPDATE sessions SET csrf = $2, user_id = $3, factors = $4, \
    auth_time = $5, journey = $6, updated_at = $7, expires_at = $8 WHERE id = $1";

/// One winner: the secret (and the rest) changes only if it is still the one the caller
/// presented.
pub(crate) const ROTATE_SESSION: &str = "UPDATE sessions SET csrf = $2, user_id = $3, factors = $4, \
    auth_time = $5, journey = $6, updated_at = $7, expires_at = $8, secret_hash = $10 \
    WHERE id = $1 AND secret_hash = $9";

pub(crate) const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id = $1";

pub(crate) const LIST_USER_SESSIONS: &str = "SELECT id, user_id, factors, auth_time, created_at, \
    expires_at FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, id DESC";

pub(crate) const DELETE_USER_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";

pub(crate) const SWEEP_SESSIONS: &str = "DELETE FROM sessions WHERE expires_at <= $1";

pub(crate) const INSERT_GRANT: &str = "INSERT INTO grants \
    (id, client_id, user_id, session_id, scope, factors, auth_time, nonce, created_at, expires_at, revoked_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

pub(crate) const GET_GRANT: &str = "SELECT id, client_id, user_id, session_id, scope, factors, \
    auth_time, nonce, created_at, expires_at, revoked_at FROM grants WHERE id = $1";

pub(crate) const REVOKE_GRANT: &str =
    "UPDATE grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL";

pub(crate) const REVOKE_SESSION_GRANTS: &str =
    "UPDATE grants SET revoked_at = $2 WHERE session_id = $1 AND revoked_at IS NULL";

pub(crate) const INSERT_AUTH_CODE: &str = "INSERT INTO auth_codes \
    (code_hash, grant_id, client_id, redirect_uri, code_challenge, created_at, expires_at, used_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Single use: only the statement that finds `used_at` still NULL marks it. The redeemed
/// code is kept (a tombstone) until its grant expires, so a replay at any time while the
/// grant's tokens live still finds it and revokes them.
pub(crate) const REDEEM_AUTH_CODE: &str = "UPDATE auth_codes SET used_at = $2, \
    keep_until = (SELECT g.expires_at FROM grants g WHERE g.id = auth_codes.grant_id) \
    WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2 \
    RETURNING code_hash, grant_id, client_id, redirect_uri, code_challenge, created_at, expires_at, used_at";

pub(crate) const GET_AUTH_CODE: &str = "SELECT code_hash, grant_id, client_id, redirect_uri, \
    code_challenge, created_at, expires_at, used_at FROM auth_codes WHERE code_hash = $1";

pub(crate) const INSERT_REFRESH_TOKEN: &str = "INSERT INTO refresh_tokens \
    (token_hash, grant_id, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5)";

/// A code's first refresh token, inserted with the code's redemption ($3: the code's
/// grant); it expires with the grant.
pub(crate) const INSERT_FIRST_REFRESH_TOKEN: &str = "INSERT INTO refresh_tokens \
    (token_hash, grant_id, created_at, expires_at, used_at) \
    SELECT $1, g.id, $2, g.expires_at, NULL FROM grants g WHERE g.id = $3";

/// Single use, like codes.
pub(crate) const SPEND_REFRESH_TOKEN: &str = "UPDATE refresh_tokens SET used_at = $2 \
    WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING grant_id";

pub(crate) const GET_REFRESH_TOKEN: &str =
    "SELECT grant_id, used_at FROM refresh_tokens WHERE token_hash = $1";

/// Unredeemed codes go at their expiry, redeemed ones when their grant expires (the
/// expression is the one `auth_codes_sweep` indexes).
pub(crate) const SWEEP_AUTH_CODES: &str =
    "DELETE FROM auth_codes WHERE COALESCE(keep_until, expires_at) <= $1";
pub(crate) const SWEEP_REFRESH_TOKENS: &str = "DELETE FROM refresh_tokens WHERE expires_at <= $1";
pub(crate) const SWEEP_GRANTS: &str = "DELETE FROM grants WHERE expires_at <= $1";

pub(crate) const LIST_SIGNING_KEYS: &str = "SELECT kid, alg, private_key_enc, public_jwk, status, \
    created_at, retire_until FROM signing_keys \
    WHERE status = 'active' OR retire_until > $1 ORDER BY created_at DESC, kid DESC";

pub(crate) const INSERT_SIGNING_KEY: &str = "INSERT INTO signing_keys \
    (kid, alg, private_key_enc, public_jwk, status, created_at, retire_until) \
    VALUES ($1, $2, $3, $4, $5, $6, $7)";

pub(crate) const RETIRE_SIGNING_KEYS: &str = "UPDATE signing_keys \
    SET status = 'retired', retire_until = $2 WHERE alg = $1 AND status = 'active'";

pub(crate) const GET_CLIENT_SIGNING_ALG: &str =
    "SELECT signing_alg FROM client_oidc_settings WHERE client_id = $1";

pub(crate) const SET_CLIENT_SIGNING_ALG: &str = "INSERT INTO client_oidc_settings \
    (client_id, signing_alg, updated_at) VALUES ($1, $2, $3) \
    ON CONFLICT (client_id) DO UPDATE SET signing_alg = excluded.signing_alg, \
    updated_at = excluded.updated_at";

pub(crate) const GET_CLIENT_OIDC_SETTINGS: &str = "SELECT signing_alg, access_token_ttl, \
    id_token_ttl, refresh_token_ttl, auth_code_ttl FROM client_oidc_settings WHERE client_id = $1";

pub(crate) const SET_CLIENT_TOKEN_LIFETIMES: &str = "INSERT INTO client_oidc_settings \
    (client_id, access_token_ttl, id_token_ttl, refresh_token_ttl, auth_code_ttl, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6) \
    ON CONFLICT (client_id) DO UPDATE SET access_token_ttl = excluded.access_token_ttl, \
    id_token_ttl = excluded.id_token_ttl, refresh_token_ttl = excluded.refresh_token_ttl, \
    auth_code_ttl = excluded.auth_code_ttl, updated_at = excluded.updated_at";

/// Only applications that still exist count (a deleted one's settings row may linger).
pub(crate) const MAX_CLIENT_TOKEN_LIFETIMES: &str = "SELECT MAX(s.access_token_ttl), \
    MAX(s.id_token_ttl), MAX(s.refresh_token_ttl), MAX(s.auth_code_ttl) \
    FROM client_oidc_settings s JOIN applications a ON a.client_id = s.client_id";
