//! Audit events: who did what, kept in the store and emitted as log lines.

use serde::{Deserialize, Serialize};

use crate::UnixTime;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: String,
    pub at: UnixTime,
    /// `cli`, `admin-token:<name>`, `user:<id>`, `system`.
    pub actor: String,
    /// Dotted name: `user.created`, `verification.approved`, …
    pub action: String,
    pub target: Option<String>,
    /// Extra facts; never a code, a secret or a full phone number.
    pub details: serde_json::Value,
}
