//! The delivery side's SQL and rows (providers, message attempts, delivery-report
//! updates), kept apart from `sql.rs`/`rows.rs` so the sign-in and delivery work do not
//! edit the same files. Same rules as `sql.rs`: `$N` placeholders in order, one statement
//! per string, times as integers, JSON as text.

use idgate_core::message::DeliveryStatus;
use idgate_core::otp::Channel;
use idgate_core::provider_config::{MessageAttempt, ProviderKind, ProviderRecord};
use idgate_core::store::StoreError;

use crate::error::corrupt;

macro_rules! provider_columns {
    () => {
        "id, channel, name, kind, position, enabled, settings, secrets_ciphertext, created_at, \
         updated_at"
    };
}

macro_rules! attempt_columns {
    () => {
        "message_id, seq, channel, provider_id, provider, http_status, provider_message_id, \
         error, latency_ms, at"
    };
}

/// The same list as `sql.rs` uses for `messages`, so `rows::MessageRow` decodes it.
macro_rules! message_columns {
    () => {
        "id, verification_id, channel, provider, to_masked, body_redacted, status, \
         provider_message_id, error, attempts, latency_ms, created_at, updated_at"
    };
}

pub(crate) const INSERT_PROVIDER: &str = concat!(
    "INSERT INTO providers (",
    provider_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
);

pub(crate) const GET_PROVIDER: &str = concat!(
    "SELECT ",
    provider_columns!(),
    " FROM providers WHERE id = $1"
);

pub(crate) const LIST_PROVIDERS: &str = concat!(
    "SELECT ",
    provider_columns!(),
    " FROM providers WHERE (CAST($1 AS TEXT) IS NULL OR channel = $1) \
     ORDER BY channel, position, name"
);

pub(crate) const UPDATE_PROVIDER: &str = "UPDATE providers SET name = $2, position = $3, \
     enabled = $4, settings = $5, secrets_ciphertext = $6, updated_at = $7 WHERE id = $1";

pub(crate) const DELETE_PROVIDER: &str = "DELETE FROM providers WHERE id = $1";

pub(crate) const SET_PROVIDER_POSITION: &str =
    "UPDATE providers SET position = $3, updated_at = $4 WHERE id = $1 AND channel = $2";

pub(crate) const INSERT_MESSAGE: &str = concat!(
    "INSERT INTO messages (",
    message_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
);

pub(crate) const INSERT_ATTEMPT: &str = concat!(
    "INSERT INTO message_attempts (",
    attempt_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
);

pub(crate) const LIST_ATTEMPTS: &str = concat!(
    "SELECT ",
    attempt_columns!(),
    " FROM message_attempts WHERE message_id = $1 ORDER BY seq"
);

pub(crate) const FIND_MESSAGE_BY_PROVIDER_ID: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages WHERE channel = $1 AND provider = $2 AND provider_message_id = $3 \
     ORDER BY created_at DESC, id DESC LIMIT 1"
);

pub(crate) const SET_MESSAGE_STATUS: &str = "UPDATE messages SET status = $2, \
     error = COALESCE($3, error), updated_at = $4 WHERE id = $1";

#[derive(sqlx::FromRow)]
pub(crate) struct ProviderRow {
    id: String,
    channel: String,
    name: String,
    kind: String,
    position: i64,
    enabled: bool,
    settings: String,
    secrets_ciphertext: Vec<u8>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<ProviderRow> for ProviderRecord {
    type Error = StoreError;
    fn try_from(r: ProviderRow) -> Result<Self, StoreError> {
        let t = "providers";
        Ok(ProviderRecord {
            channel: Channel::parse(&r.channel)
                .ok_or_else(|| corrupt(t, "channel", format!("unknown value {:?}", r.channel)))?,
            kind: ProviderKind::parse(&r.kind)
                .ok_or_else(|| corrupt(t, "kind", format!("unknown value {:?}", r.kind)))?,
            settings: serde_json::from_str(&r.settings).map_err(|e| corrupt(t, "settings", e))?,
            id: r.id,
            name: r.name,
            position: r.position,
            enabled: r.enabled,
            secrets_ciphertext: r.secrets_ciphertext,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AttemptRow {
    message_id: String,
    seq: i64,
    channel: String,
    provider_id: Option<String>,
    provider: String,
    http_status: Option<i64>,
    provider_message_id: Option<String>,
    error: Option<String>,
    latency_ms: i64,
    at: i64,
}

impl TryFrom<AttemptRow> for MessageAttempt {
    type Error = StoreError;
    fn try_from(r: AttemptRow) -> Result<Self, StoreError> {
        let t = "message_attempts";
        let range = |col: &'static str, v: i64| {
            u32::try_from(v).map_err(|_| corrupt(t, col, format!("{v} is out of range")))
        };
        Ok(MessageAttempt {
            seq: range("seq", r.seq)?,
            channel: Channel::parse(&r.channel)
                .ok_or_else(|| corrupt(t, "channel", format!("unknown value {:?}", r.channel)))?,
            http_status: r
                .http_status
                .map(|s| {
                    u16::try_from(s)
                        .map_err(|_| corrupt(t, "http_status", format!("{s} is out of range")))
                })
                .transpose()?,
            latency_ms: range("latency_ms", r.latency_ms)?,
            message_id: r.message_id,
            provider_id: r.provider_id,
            provider: r.provider,
            provider_message_id: r.provider_message_id,
            error: r.error,
            at: r.at,
        })
    }
}

/// Settings are a JSON object; encoding one cannot fail, the arm is for form.
pub(crate) fn settings_json(p: &ProviderRecord) -> Result<String, StoreError> {
    serde_json::to_string(&p.settings)
        .map_err(|e| StoreError::Backend(format!("cannot encode provider settings: {e}")))
}

pub(crate) fn status_str(s: DeliveryStatus) -> &'static str {
    s.as_str()
}
