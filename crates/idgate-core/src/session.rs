//! Browser sessions: who is signed in on this browser, with which factors, since when;
//! and the sign-in journey in progress, if any.
//!
//! The cookie carries a random secret; the store keeps only its keyed hash
//! (`Keys::token_hash`), so a database leak does not hand out live sessions. The
//! session's `id` is a separate, stable public identifier (the ID token's `sid`) that
//! survives the secret's rotation after each factor.

use serde::{Deserialize, Serialize};

use crate::UnixTime;
use crate::login::{Factor, Journey};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Public, stable id (`sid` claim). Never a credential.
    pub id: String,
    /// HMAC of the cookie secret; rotated after each factor.
    pub secret_hash: String,
    /// The per-session CSRF token every form carries.
    pub csrf: String,
    /// The signed-in user; `None` while a journey has not completed.
    pub user_id: Option<String>,
    /// Factors this session has proven, in order.
    pub factors: Vec<Factor>,
    /// When the user last authenticated (OIDC `auth_time`).
    pub auth_time: Option<UnixTime>,
    /// The sign-in in progress.
    pub journey: Option<Journey>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    /// Absolute end of the session.
    pub expires_at: UnixTime,
}

impl Session {
    /// Whether a user is signed in (and the session is still valid) at `now`.
    pub fn signed_in_user(&self, now: UnixTime) -> Option<&str> {
        if now >= self.expires_at {
            return None;
        }
        self.user_id.as_deref()
    }
}

/// A summary for listing a user's sessions (console, admin API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: String,
    pub user_id: String,
    pub factors: Vec<Factor>,
    pub auth_time: Option<UnixTime>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}
