//! What a sign-in hands an application: a grant (the user's consent to one client, with
//! the facts of the authentication), the one-time authorization code that opens it, and
//! refresh tokens that keep it alive.
//!
//! Codes and refresh tokens are stored as keyed hashes only. Redeeming a code and
//! rotating a refresh token are single conditional updates, so each works exactly once
//! even with several nodes on one database; a second use revokes the grant.

use serde::{Deserialize, Serialize};

use crate::UnixTime;
use crate::login::Factor;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    /// `None` for client-credentials grants (none are stored today).
    pub user_id: Option<String>,
    /// The browser session it came from (`sid`).
    pub session_id: Option<String>,
    /// Space-separated granted scopes.
    pub scope: String,
    pub factors: Vec<Factor>,
    pub auth_time: UnixTime,
    /// The nonce of the authorization request (repeated in refreshed ID tokens, as OIDC
    /// Core §12.2 allows, only when the original had one).
    pub nonce: Option<String>,
    pub created_at: UnixTime,
    /// After this, no refresh token of the grant works.
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
}

impl Grant {
    pub fn is_active(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// An authorization code, waiting at the redirect URI to be exchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode {
    pub code_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
}

/// What redeeming a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRedemption {
    /// This caller redeemed it; nobody else ever will.
    Redeemed(AuthCode),
    /// It had been redeemed before: the grant must be revoked (RFC 6749 §4.1.2).
    Reused(AuthCode),
    /// No such code, or it expired.
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub token_hash: String,
    pub grant_id: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub used_at: Option<UnixTime>,
}

/// What rotating a refresh token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshRotation {
    /// The old token is spent and the new one stored; this is its grant id.
    Rotated(String),
    /// The token had already been used: someone replayed it, so the grant (every token
    /// descended from it) is revoked.
    Reused(String),
    /// Unknown or expired.
    Invalid,
}
