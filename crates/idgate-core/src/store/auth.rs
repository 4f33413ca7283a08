//! Storage for signing in: browser sessions, grants with their authorization codes and
//! refresh tokens, and signing keys.
//!
//! Every secret-bearing value (session secret, code, refresh token) arrives here already
//! hashed. Single-use steps (redeeming a code, rotating a refresh token, rotating a
//! session secret) are conditional updates, so they hold across nodes on one database.

use async_trait::async_trait;

use crate::UnixTime;
use crate::application::{ClientOidcSettings, TokenLifetimes};
use crate::grant::{AuthCode, CodeRedemption, Grant, RefreshRotation, RefreshToken};
use crate::session::{Session, SessionInfo};
use crate::signing_key::SigningKeyRecord;
use crate::store::StoreResult;

#[async_trait]
pub trait AuthStore: Send + Sync {
    // Sessions
    async fn insert_session(&self, session: &Session) -> StoreResult<()>;
    /// The session whose cookie secret hashes to `secret_hash`, if it has not expired.
    async fn find_session(&self, secret_hash: &str, now: UnixTime) -> StoreResult<Option<Session>>;
    /// Writes the mutable fields (user, factors, auth_time, journey, csrf, times) of the
    /// session with `session.id`; false if it no longer exists.
    async fn update_session(&self, session: &Session) -> StoreResult<bool>;
    /// Writes the whole session — its new cookie secret (`session.secret_hash`) and its
    /// mutable fields — only if its secret is still `old_hash`: of concurrent rotations
    /// from the same secret exactly one wins. One statement, so a proven factor costs one
    /// write, not a rotation and then a save.
    async fn rotate_session(&self, session: &Session, old_hash: &str) -> StoreResult<bool>;
    async fn delete_session(&self, id: &str) -> StoreResult<bool>;
    /// Signed-in sessions of a user, newest first.
    async fn list_user_sessions(&self, user_id: &str) -> StoreResult<Vec<SessionInfo>>;
    async fn delete_user_sessions(&self, user_id: &str) -> StoreResult<u64>;
    /// Deletes expired sessions; returns how many.
    async fn sweep_sessions(&self, now: UnixTime) -> StoreResult<u64>;

    // Grants, codes, refresh tokens
    async fn insert_grant(&self, grant: &Grant) -> StoreResult<()>;
    async fn get_grant(&self, id: &str) -> StoreResult<Option<Grant>>;
    /// Revokes a grant (and with it every token it issued); false if already revoked.
    async fn revoke_grant(&self, id: &str, now: UnixTime) -> StoreResult<bool>;
    /// Revokes every grant issued from a browser session (logout).
    async fn revoke_session_grants(&self, session_id: &str, now: UnixTime) -> StoreResult<u64>;
    async fn insert_auth_code(&self, code: &AuthCode) -> StoreResult<()>;
    /// Stores a new grant and its authorization code together (one transaction): a
    /// sign-in's last step, in one write instead of two.
    async fn insert_grant_with_code(&self, grant: &Grant, code: &AuthCode) -> StoreResult<()>;
    /// Marks an unexpired code used; exactly one caller gets `Redeemed`. A later use
    /// gets `Reused` and revokes the grant, for as long as the grant could be used: the
    /// redeemed code is kept until the grant expires, whatever its own expiry.
    ///
    /// With `first_refresh` (a refresh token's hash), a `Redeemed` code also stores that
    /// refresh token for the code's grant, created `now` and expiring with the grant, in
    /// the same transaction: the token endpoint's two writes become one, and a refresh
    /// token never exists for a code that was not redeemed.
    async fn redeem_auth_code(
        &self,
        code_hash: &str,
        now: UnixTime,
        first_refresh: Option<&str>,
    ) -> StoreResult<CodeRedemption>;
    async fn insert_refresh_token(&self, token: &RefreshToken) -> StoreResult<()>;
    /// Spends `old_hash` and stores `new` (with the old token's grant id) in one
    /// transaction. A second use of a spent token revokes its grant.
    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new: &RefreshToken,
        now: UnixTime,
    ) -> StoreResult<RefreshRotation>;
    /// The grant id of a refresh token (spent or not), for revocation.
    async fn refresh_token_grant(&self, token_hash: &str) -> StoreResult<Option<String>>;
    /// Deletes expired codes, tokens and grants; returns how many rows went. A redeemed
    /// code is deleted only with its grant (see [`AuthStore::redeem_auth_code`]).
    async fn sweep_grants(&self, now: UnixTime) -> StoreResult<u64>;

    // Signing keys
    /// Every key still published (active and retired-but-not-yet-dropped), newest first.
    async fn list_signing_keys(&self, now: UnixTime) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Stores a new active key. `Conflict` when another node stored an active key for the
    /// same algorithm first (reload and use that one).
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()>;
    /// Retires the active key(s) of `alg`, keeping them in the JWKS until `retire_until`.
    async fn retire_signing_keys(&self, alg: &str, retire_until: UnixTime) -> StoreResult<u64>;
    /// Retires the active key of `alg` and stores `key` as its successor, atomically.
    async fn rotate_signing_key(
        &self,
        key: &SigningKeyRecord,
        retire_until: UnixTime,
    ) -> StoreResult<()>;

    // Per-application OIDC settings
    /// The ID-token signing algorithm an application asked for (`None` = the default).
    async fn get_client_signing_alg(&self, client_id: &str) -> StoreResult<Option<String>>;
    async fn set_client_signing_alg(
        &self,
        client_id: &str,
        alg: Option<&str>,
        now: UnixTime,
    ) -> StoreResult<()>;
    /// The signing algorithm and token lifetime overrides in one read (defaults when the
    /// application has none).
    async fn get_client_oidc_settings(&self, client_id: &str) -> StoreResult<ClientOidcSettings>;
    /// Replaces an application's token lifetime overrides (`None` fields = the server's).
    async fn set_client_token_lifetimes(
        &self,
        client_id: &str,
        lifetimes: &TokenLifetimes,
        now: UnixTime,
    ) -> StoreResult<()>;
    /// Field by field, the longest override any existing application has (`None` where
    /// none overrides): how long retired signing keys must stay published.
    async fn max_client_token_lifetimes(&self) -> StoreResult<TokenLifetimes>;
}
