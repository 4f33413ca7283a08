//! The storage port. `idgate-store` implements it for SQLite and PostgreSQL; every
//! method is one atomic step, so callers never hold a transaction across an await on
//! the network.

mod admin;
mod auth;
mod delivery;
mod limits;

pub use admin::{AdminCounts, AdminStore, AuditFilter, contains_pattern, prefix_pattern};
pub use auth::AuthStore;
pub use delivery::DeliveryStore;
pub use limits::{Block, Counter, LimitStore, Take};

use async_trait::async_trait;

use crate::UnixTime;
use crate::admin_token::AdminToken;
use crate::application::Application;
use crate::audit::AuditEvent;
use crate::message::{DeliveryStatus, MessageRecord};
use crate::otp::{Channel, Verification, VerificationStatus};
use crate::user::{NewUser, User};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken; the string names what already exists.
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    /// A stored value could not be read back (a bug or a hand-edited row).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database failed; the text is for logs, not for users.
    #[error("database error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Keyset pagination: up to `limit` rows whose sort key is after `after`.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub limit: u32,
    pub after: Option<String>,
}

/// What a wrong code did to its verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedAttempt {
    pub attempts: u32,
    pub status: VerificationStatus,
}

/// A new code for a pending verification (a resend).
#[derive(Debug, Clone)]
pub struct Resend {
    /// `None` keeps the current code (policy `resend_code = same`).
    pub code_hmac: Option<Vec<u8>>,
    pub code_ciphertext: Option<Vec<u8>>,
    pub expires_at: UnixTime,
}

#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub status: Option<DeliveryStatus>,
    pub channel: Option<Channel>,
    pub since: Option<UnixTime>,
    pub verification_id: Option<String>,
    pub limit: u32,
    /// Return messages older than this id (newest first).
    pub before: Option<String>,
}

/// Everything idgate stores. The sign-in side (`AuthStore`: sessions, authorization
/// codes, tokens, signing keys) and the delivery side (`DeliveryStore`: providers,
/// message updates, delivery reports) live in their own traits and files.
#[async_trait]
pub trait Store:
    AuthStore + DeliveryStore + AdminStore + LimitStore + Send + Sync + 'static
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Whether the database answers (for `/readyz`).
    async fn ping(&self) -> StoreResult<()>;
    /// Brings the schema up to date; safe to run again and from several nodes at once.
    /// The default does nothing, for stores without a schema (in-memory test fakes).
    async fn migrate(&self) -> StoreResult<()> {
        Ok(())
    }

    // Users
    async fn create_user(&self, user: &NewUser, now: UnixTime) -> StoreResult<User>;
    async fn get_user(&self, id: &str) -> StoreResult<Option<User>>;
    async fn find_user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    /// Ordered by username key.
    async fn list_users(&self, page: &Page) -> StoreResult<Vec<User>>;
    /// Writes every mutable field of `user` (matched by id).
    async fn update_user(&self, user: &User) -> StoreResult<()>;
    async fn delete_user(&self, id: &str) -> StoreResult<bool>;

    // Applications
    async fn create_application(&self, app: &Application) -> StoreResult<()>;
    async fn get_application(&self, client_id: &str) -> StoreResult<Option<Application>>;
    /// Ordered by client id.
    async fn list_applications(&self, page: &Page) -> StoreResult<Vec<Application>>;
    async fn update_application(&self, app: &Application) -> StoreResult<()>;
    async fn delete_application(&self, client_id: &str) -> StoreResult<bool>;

    // Admin tokens
    async fn create_admin_token(&self, token: &AdminToken) -> StoreResult<()>;
    async fn find_admin_token(&self, token_hash: &str) -> StoreResult<Option<AdminToken>>;
    async fn list_admin_tokens(&self) -> StoreResult<Vec<AdminToken>>;
    /// Revokes by id or by name; false if none was active.
    async fn revoke_admin_token(&self, id_or_name: &str, now: UnixTime) -> StoreResult<bool>;

    // Settings (JSON documents by key: OTP policy, templates, …)
    async fn get_setting(&self, key: &str) -> StoreResult<Option<serde_json::Value>>;
    async fn put_setting(
        &self,
        key: &str,
        value: &serde_json::Value,
        now: UnixTime,
    ) -> StoreResult<()>;

    // Verifications
    async fn insert_verification(
        &self,
        v: &Verification,
        destination_masked: &str,
    ) -> StoreResult<()>;
    async fn get_verification(&self, id: &str) -> StoreResult<Option<Verification>>;
    /// Atomically approves a pending, unexpired verification whose stored HMAC is still
    /// `code_hmac` and whose attempts are not used up. True for exactly one caller.
    async fn approve_verification(
        &self,
        id: &str,
        code_hmac: &[u8],
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Counts one wrong code, if the verification is still pending and has attempts left;
    /// the attempt that uses up the last one moves it to `max_attempts_reached`.
    /// `None` when nothing was counted (not pending any more).
    async fn record_failed_attempt(
        &self,
        id: &str,
        now: UnixTime,
    ) -> StoreResult<Option<FailedAttempt>>;
    /// Applies a resend if the verification is pending, unexpired, outside its cooldown
    /// and has resends left. False if any of that does not hold (re-read to see which).
    async fn apply_resend(&self, id: &str, resend: &Resend, now: UnixTime) -> StoreResult<bool>;
    /// Records the channel that carried a verification's code when a fallback channel
    /// did (resends go there); false if there is no such verification.
    async fn set_verification_channel(
        &self,
        id: &str,
        channel: Channel,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Moves a pending verification to an end state; false if it was not pending.
    async fn finish_verification(
        &self,
        id: &str,
        status: VerificationStatus,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Marks pending verifications past their expiry as expired; moves every finished
    /// verification older than `finished_before` to the history table (without any
    /// code material) and deletes it. Returns (expired, purged).
    async fn sweep_verifications(
        &self,
        now: UnixTime,
        finished_before: UnixTime,
    ) -> StoreResult<(u64, u64)>;
    /// Purged verifications (audit record without code), newest first.
    async fn verification_history(&self, limit: u32) -> StoreResult<Vec<serde_json::Value>>;

    // Message log
    async fn insert_message(&self, m: &MessageRecord) -> StoreResult<()>;
    async fn get_message(&self, id: &str) -> StoreResult<Option<MessageRecord>>;
    async fn list_messages(&self, filter: &MessageFilter) -> StoreResult<Vec<MessageRecord>>;

    // Audit
    async fn insert_audit(&self, event: &AuditEvent) -> StoreResult<()>;
    /// Newest first.
    async fn list_audit(&self, limit: u32, before: Option<&str>) -> StoreResult<Vec<AuditEvent>>;
}
