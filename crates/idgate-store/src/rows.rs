//! Rows as the database returns them, and their conversion to domain types.
//!
//! The structs hold only types both backends decode alike (`String`, `i64`, `bool`,
//! `Vec<u8>`), so one `FromRow` derive serves SQLite and PostgreSQL. Everything the
//! domain checks (enum names, JSON, phone numbers, counter ranges) is checked here, and a
//! failure is [`StoreError::Corrupt`].

use idgate_core::UnixTime;
use idgate_core::admin_token::AdminToken;
use idgate_core::application::{Application, LoginFlow};
use idgate_core::audit::AuditEvent;
use idgate_core::message::{DeliveryStatus, MessageRecord};
use idgate_core::otp::{Channel, OtpPolicy, Purpose, Verification, VerificationStatus};
use idgate_core::phone::PhoneNumber;
use idgate_core::store::{FailedAttempt, StoreError};
use idgate_core::user::{User, UserStatus};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::corrupt;
use crate::sqlite_direct::from_direct_row;

/// Counters are `u32` in the domain and 64-bit integers in both databases.
fn counter(table: &'static str, column: &'static str, v: i64) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| corrupt(table, column, format!("{v} is out of range")))
}

fn parse_enum<T>(
    table: &'static str,
    column: &'static str,
    text: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    parse(text).ok_or_else(|| corrupt(table, column, format!("unknown value {text:?}")))
}

fn from_json<T: DeserializeOwned>(
    table: &'static str,
    column: &'static str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(table, column, e))
}

/// Serialises a JSON column. Our types always serialise; the error arm is for form.
pub(crate) fn to_json<T: Serialize + ?Sized>(
    what: &'static str,
    value: &T,
) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Backend(format!("cannot encode {what} as JSON: {e}")))
}

/// The row limit for list calls: 0 means the default of 100, and no call reads more
/// than 1000 rows.
pub(crate) fn clamp_limit(limit: u32) -> i64 {
    match limit {
        0 => 100,
        n => i64::from(n.min(1000)),
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    username: String,
    password_hash: Option<String>,
    mobile: Option<String>,
    mobile_verified: bool,
    display_name: Option<String>,
    locale: Option<String>,
    status: String,
    locked_until: Option<i64>,
    is_admin: bool,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        let mobile = match r.mobile {
            // Never echo the stored number: it is personal data.
            Some(m) => Some(
                PhoneNumber::from_stored(&m)
                    .map_err(|_| corrupt("users", "mobile", "not a valid E.164 number"))?,
            ),
            None => None,
        };
        Ok(User {
            id: r.id,
            username: r.username,
            password_hash: r.password_hash,
            mobile,
            mobile_verified: r.mobile_verified,
            display_name: r.display_name,
            locale: r.locale,
            status: parse_enum("users", "status", &r.status, UserStatus::parse)?,
            locked_until: r.locked_until,
            is_admin: r.is_admin,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ApplicationRow {
    id: String,
    client_id: String,
    client_secret_hash: Option<String>,
    name: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    login_flow: String,
    otp_policy: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<ApplicationRow> for Application {
    type Error = StoreError;
    fn try_from(r: ApplicationRow) -> Result<Self, StoreError> {
        let t = "applications";
        Ok(Application {
            id: r.id,
            client_id: r.client_id,
            client_secret_hash: r.client_secret_hash,
            name: r.name,
            redirect_uris: from_json(t, "redirect_uris", &r.redirect_uris)?,
            post_logout_redirect_uris: from_json(
                t,
                "post_logout_redirect_uris",
                &r.post_logout_redirect_uris,
            )?,
            login_flow: from_json::<LoginFlow>(t, "login_flow", &r.login_flow)?,
            otp_policy: r
                .otp_policy
                .as_deref()
                .map(|p| from_json::<OtpPolicy>(t, "otp_policy", p))
                .transpose()?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// The JSON columns of an application, encoded for binding.
pub(crate) struct ApplicationJson {
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub login_flow: String,
    pub otp_policy: Option<String>,
}

impl ApplicationJson {
    pub(crate) fn encode(app: &Application) -> Result<Self, StoreError> {
        Ok(Self {
            redirect_uris: to_json("redirect_uris", &app.redirect_uris)?,
            post_logout_redirect_uris: to_json(
                "post_logout_redirect_uris",
                &app.post_logout_redirect_uris,
            )?,
            login_flow: to_json("login_flow", &app.login_flow)?,
            otp_policy: app
                .otp_policy
                .as_ref()
                .map(|p| to_json("otp_policy", p))
                .transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AdminTokenRow {
    id: String,
    name: String,
    token_hash: String,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<AdminTokenRow> for AdminToken {
    fn from(r: AdminTokenRow) -> Self {
        AdminToken {
            id: r.id,
            name: r.name,
            token_hash: r.token_hash,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SettingRow {
    value: String,
}

impl TryFrom<SettingRow> for serde_json::Value {
    type Error = StoreError;
    fn try_from(r: SettingRow) -> Result<Self, StoreError> {
        from_json("settings", "value", &r.value)
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct VerificationRow {
    id: String,
    application_id: Option<String>,
    user_id: Option<String>,
    purpose: String,
    channel: String,
    destination: String,
    code_hmac: Vec<u8>,
    code_ciphertext: Option<Vec<u8>>,
    status: String,
    attempts: i64,
    max_attempts: i64,
    resends: i64,
    max_resends: i64,
    resend_cooldown: i64,
    created_at: i64,
    updated_at: i64,
    expires_at: i64,
    last_sent_at: i64,
    finished_at: Option<i64>,
}

impl TryFrom<VerificationRow> for Verification {
    type Error = StoreError;
    fn try_from(r: VerificationRow) -> Result<Self, StoreError> {
        let t = "verifications";
        Ok(Verification {
            id: r.id,
            application_id: r.application_id,
            user_id: r.user_id,
            purpose: parse_enum(t, "purpose", &r.purpose, Purpose::parse)?,
            channel: parse_enum(t, "channel", &r.channel, Channel::parse)?,
            destination: r.destination,
            code_hmac: r.code_hmac,
            code_ciphertext: r.code_ciphertext,
            status: parse_enum(t, "status", &r.status, VerificationStatus::parse)?,
            attempts: counter(t, "attempts", r.attempts)?,
            max_attempts: counter(t, "max_attempts", r.max_attempts)?,
            resends: counter(t, "resends", r.resends)?,
            max_resends: counter(t, "max_resends", r.max_resends)?,
            resend_cooldown: counter(t, "resend_cooldown", r.resend_cooldown)?,
            created_at: r.created_at,
            updated_at: r.updated_at,
            expires_at: r.expires_at,
            last_sent_at: r.last_sent_at,
            finished_at: r.finished_at,
        })
    }
}

/// What `record_failed_attempt` returns from its `UPDATE … RETURNING`.
#[derive(sqlx::FromRow)]
pub(crate) struct FailedAttemptRow {
    attempts: i64,
    status: String,
}

impl TryFrom<FailedAttemptRow> for FailedAttempt {
    type Error = StoreError;
    fn try_from(r: FailedAttemptRow) -> Result<Self, StoreError> {
        let t = "verifications";
        Ok(FailedAttempt {
            attempts: counter(t, "attempts", r.attempts)?,
            status: parse_enum(t, "status", &r.status, VerificationStatus::parse)?,
        })
    }
}

/// A purged verification. Exposed as JSON (the console shows it as is); it has no
/// destination and no code material by construction.
#[derive(sqlx::FromRow, Serialize)]
pub(crate) struct HistoryRow {
    id: String,
    application_id: Option<String>,
    user_id: Option<String>,
    purpose: String,
    channel: String,
    destination_masked: String,
    status: String,
    attempts: i64,
    resends: i64,
    created_at: UnixTime,
    finished_at: UnixTime,
}

impl TryFrom<HistoryRow> for serde_json::Value {
    type Error = StoreError;
    fn try_from(r: HistoryRow) -> Result<Self, StoreError> {
        serde_json::to_value(r).map_err(|e| corrupt("verification_history", "*", e))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct MessageRow {
    id: String,
    verification_id: Option<String>,
    channel: String,
    provider: String,
    to_masked: String,
    body_redacted: String,
    status: String,
    provider_message_id: Option<String>,
    error: Option<String>,
    attempts: i64,
    latency_ms: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<MessageRow> for MessageRecord {
    type Error = StoreError;
    fn try_from(r: MessageRow) -> Result<Self, StoreError> {
        let t = "messages";
        Ok(MessageRecord {
            id: r.id,
            verification_id: r.verification_id,
            channel: parse_enum(t, "channel", &r.channel, Channel::parse)?,
            provider: r.provider,
            to_masked: r.to_masked,
            body_redacted: r.body_redacted,
            status: parse_enum(t, "status", &r.status, DeliveryStatus::parse)?,
            provider_message_id: r.provider_message_id,
            error: r.error,
            attempts: counter(t, "attempts", r.attempts)?,
            latency_ms: r
                .latency_ms
                .map(|l| counter(t, "latency_ms", l))
                .transpose()?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: String,
    at: i64,
    actor: String,
    action: String,
    target: Option<String>,
    details: String,
}

impl TryFrom<AuditRow> for AuditEvent {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        Ok(AuditEvent {
            id: r.id,
            at: r.at,
            actor: r.actor,
            action: r.action,
            target: r.target,
            details: from_json("audit_events", "details", &r.details)?,
        })
    }
}

/// Converts every row, stopping at the first corrupt one.
pub(crate) fn convert_all<R, T>(rows: Vec<R>) -> Result<Vec<T>, StoreError>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}

from_direct_row!(UserRow {
    id,
    username,
    password_hash,
    mobile,
    mobile_verified,
    display_name,
    locale,
    status,
    locked_until,
    is_admin,
    created_at,
    updated_at,
});

from_direct_row!(VerificationRow {
    id,
    application_id,
    user_id,
    purpose,
    channel,
    destination,
    code_hmac,
    code_ciphertext,
    status,
    attempts,
    max_attempts,
    resends,
    max_resends,
    resend_cooldown,
    created_at,
    updated_at,
    expires_at,
    last_sent_at,
    finished_at,
});
