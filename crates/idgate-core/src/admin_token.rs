//! Admin API tokens: bearer secrets stored only as keyed hashes.

use crate::UnixTime;

/// Every admin token starts with this, so leaked tokens are recognisable by scanners.
pub const ADMIN_TOKEN_PREFIX: &str = "idg_admin_";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminToken {
    pub id: String,
    pub name: String,
    pub token_hash: String,
    pub created_at: UnixTime,
    pub expires_at: Option<UnixTime>,
    pub last_used_at: Option<UnixTime>,
    pub revoked_at: Option<UnixTime>,
}

impl AdminToken {
    pub fn is_usable(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|t| t > now)
    }
}
