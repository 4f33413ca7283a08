//! Storage queries only the admin API and console need: user search, a filtered audit
//! log, and the overview's counts.

use async_trait::async_trait;

use crate::UnixTime;
use crate::audit::AuditEvent;
use crate::store::{Page, StoreResult};
use crate::user::User;

/// Which audit events to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only actions starting with this (`user.` matches `user.created`, …).
    pub action_prefix: Option<String>,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub since: Option<UnixTime>,
    /// Only events older than the event with this id (the previous page's last id).
    pub before: Option<String>,
    pub limit: u32,
}

/// Counts for the console's overview, over a window starting at `since`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminCounts {
    pub users: i64,
    pub applications: i64,
    /// Authorizations granted to signed-in users (one per completed sign-in).
    pub sign_ins: i64,
    /// Verifications started in the window, by status (live and purged alike).
    pub verifications: Vec<(String, i64)>,
    /// Messages in the window by (channel, provider, status).
    pub messages: Vec<(String, String, String, i64)>,
}

#[async_trait]
pub trait AdminStore: Send + Sync {
    /// Users whose username, display name or mobile number contains `query`
    /// (case-insensitive; every user when `None`), ordered by username key, after the
    /// username key `page.after`.
    async fn search_users(&self, query: Option<&str>, page: &Page) -> StoreResult<Vec<User>>;
    /// Audit events matching `filter`, newest first.
    async fn list_audit_filtered(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEvent>>;
    /// The overview's counts since `since`.
    async fn admin_counts(&self, since: UnixTime) -> StoreResult<AdminCounts>;
    /// Records that an admin token was used (shown as "last used").
    async fn touch_admin_token(&self, id: &str, now: UnixTime) -> StoreResult<()>;
    /// Every setting whose key starts with `prefix` (exactly, case included), by key.
    async fn list_settings(&self, prefix: &str) -> StoreResult<Vec<(String, serde_json::Value)>>;
    /// Deletes a setting; false if there was none.
    async fn delete_setting(&self, key: &str) -> StoreResult<bool>;
}

/// `input` as a LIKE pattern matching it anywhere, lower-cased, with `%`, `_` and `\`
/// escaped (the statements use `ESCAPE '\'`).
pub fn contains_pattern(input: &str) -> String {
    let mut out = String::from("%");
    for c in input.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// `input` as a LIKE pattern matching values that start with it (escaped as above).
pub fn prefix_pattern(input: &str) -> String {
    let mut p = contains_pattern(input);
    p.remove(0);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape_wildcards() {
        assert_eq!(contains_pattern(" Al_i%ce "), "%al\\_i\\%ce%");
        assert_eq!(prefix_pattern("user."), "user.%");
    }
}
