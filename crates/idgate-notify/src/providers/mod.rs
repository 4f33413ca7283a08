//! The provider kinds: how each one's settings are validated when saved, and how a saved
//! provider becomes a [`Provider`] that sends.
//!
//! Settings are plain JSON (shown by the API); secrets (tokens, auth headers) are kept
//! apart in [`ProviderSecrets`] and never shown. Validation happens on save and again
//! when the dispatcher builds a provider, so a hand-edited row cannot send garbage.

mod custom;
mod d7;
mod d7_sms;
mod d7_whatsapp;
mod twilio;
mod vonage;

use std::sync::Arc;
use std::time::Duration;

use idgate_core::otp::Channel;
use idgate_core::provider_config::ProviderKind;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use custom::{CustomProvider, CustomSettings, Method};
pub use d7_sms::{D7SmsProvider, D7SmsSettings, DataCoding};
pub use d7_whatsapp::{D7WhatsappProvider, D7WhatsappSettings, MAX_ACTION_PAYLOAD_CHARS};
pub use twilio::{TwilioProvider, TwilioSettings};
pub use vonage::{VonageProvider, VonageSettings};

use crate::outbox::{DevOutboxProvider, SharedOutbox};
use crate::provider::Provider;
use crate::secrets::ProviderSecrets;

/// D7's API base (overridable per provider: tests point it at a fake gateway).
pub const D7_BASE_URL: &str = "https://api.d7networks.com";
pub const TWILIO_BASE_URL: &str = "https://api.twilio.com";
pub const VONAGE_BASE_URL: &str = "https://rest.nexmo.com";

/// The longest per-provider attempt timeout accepted.
pub const MAX_TIMEOUT_MS: u64 = 60_000;

/// A setting that cannot be saved, with the field at fault (`settings.url`,
/// `secrets.api_token`, …) and what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct FieldError {
    pub field: String,
    pub detail: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

/// The secret names a kind accepts, and which of them it needs.
pub fn secret_fields(kind: ProviderKind) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        ProviderKind::Custom => (&["headers", "signing_secret"], &[]),
        ProviderKind::D7Sms | ProviderKind::D7Whatsapp => (&["api_token"], &["api_token"]),
        ProviderKind::Twilio => (&["auth_token"], &["auth_token"]),
        ProviderKind::Vonage => (&["api_secret", "signature_secret"], &["api_secret"]),
        ProviderKind::DevOutbox => (&[], &[]),
    }
}

/// A provider's settings, validated.
#[derive(Debug, Clone)]
pub enum ProviderSpec {
    Custom(CustomSettings),
    D7Sms(D7SmsSettings),
    D7Whatsapp(D7WhatsappSettings),
    Twilio(TwilioSettings),
    Vonage(VonageSettings),
    DevOutbox,
}

impl ProviderSpec {
    /// Validates `settings` and `secrets` for `kind` on `channel`. Returns the settings in
    /// their normalised form (what is stored and shown).
    pub fn validate(
        kind: ProviderKind,
        channel: Channel,
        settings: &Value,
        secrets: &ProviderSecrets,
    ) -> Result<(Self, Value), FieldError> {
        if !kind.supports(channel) {
            return Err(FieldError::new(
                "kind",
                format!("a {kind} provider cannot send {channel} messages"),
            ));
        }
        let (known, required) = secret_fields(kind);
        for name in required {
            if secrets.get(name).is_none() {
                return Err(FieldError::new(
                    format!("secrets.{name}"),
                    format!("a {kind} provider needs secrets.{name}"),
                ));
            }
        }
        for name in secrets.names() {
            if name != crate::secrets::WEBHOOK_SECRET && !known.contains(&name) {
                return Err(FieldError::new(
                    format!("secrets.{name}"),
                    format!(
                        "a {kind} provider has no secret named {name} (it accepts: {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
        }
        let settings = if settings.is_null() {
            Value::Object(Default::default())
        } else {
            settings.clone()
        };
        let spec = match kind {
            ProviderKind::Custom => {
                let s: CustomSettings = parse(&settings)?;
                Self::Custom(s.validated(channel, secrets)?)
            }
            ProviderKind::D7Sms => Self::D7Sms(parse::<D7SmsSettings>(&settings)?.validated()?),
            ProviderKind::D7Whatsapp => {
                Self::D7Whatsapp(parse::<D7WhatsappSettings>(&settings)?.validated()?)
            }
            ProviderKind::Twilio => Self::Twilio(parse::<TwilioSettings>(&settings)?.validated()?),
            ProviderKind::Vonage => Self::Vonage(parse::<VonageSettings>(&settings)?.validated()?),
            ProviderKind::DevOutbox => {
                if settings.as_object().is_some_and(|o| !o.is_empty()) {
                    return Err(FieldError::new(
                        "settings",
                        "a dev-outbox provider has no settings",
                    ));
                }
                Self::DevOutbox
            }
        };
        let normalised = spec.settings_json();
        Ok((spec, normalised))
    }

    fn settings_json(&self) -> Value {
        let v = match self {
            Self::Custom(s) => serde_json::to_value(s),
            Self::D7Sms(s) => serde_json::to_value(s),
            Self::D7Whatsapp(s) => serde_json::to_value(s),
            Self::Twilio(s) => serde_json::to_value(s),
            Self::Vonage(s) => serde_json::to_value(s),
            Self::DevOutbox => Ok(Value::Object(Default::default())),
        };
        v.unwrap_or_else(|_| Value::Object(Default::default()))
    }

    /// The attempt timeout this provider asks for, if it overrides the default.
    pub fn timeout(&self) -> Option<Duration> {
        let ms = match self {
            Self::Custom(s) => s.timeout_ms,
            Self::D7Sms(s) => s.timeout_ms,
            Self::D7Whatsapp(s) => s.timeout_ms,
            Self::Twilio(s) => s.timeout_ms,
            Self::Vonage(s) => s.timeout_ms,
            Self::DevOutbox => None,
        };
        ms.map(Duration::from_millis)
    }

    /// Whether this provider signs its requests and so needs a signing secret (which the
    /// API generates when none is given).
    pub fn signs_requests(&self) -> bool {
        matches!(self, Self::Custom(s) if s.sign_requests)
    }

    /// Whether the kind sends delivery reports to idgate's D7 webhook.
    pub fn uses_d7_webhook(&self) -> bool {
        matches!(self, Self::D7Sms(_) | Self::D7Whatsapp(_) | Self::Custom(_))
    }
}

/// What a provider needs besides its own settings.
#[derive(Clone)]
pub struct BuildContext {
    pub client: reqwest::Client,
    pub outbox: Option<SharedOutbox>,
    /// The delivery-report URL for this provider (`…/hooks/<kind>/<id>/<secret>`).
    pub report_url: Option<String>,
}

/// Makes a sending provider out of a validated spec.
pub fn build(
    spec: ProviderSpec,
    name: &str,
    secrets: &ProviderSecrets,
    ctx: &BuildContext,
) -> Result<Arc<dyn Provider>, FieldError> {
    let token = |n: &str| {
        secrets
            .get(n)
            .map(|s| secrecy::SecretString::from(s.to_string()))
            .ok_or_else(|| FieldError::new(format!("secrets.{n}"), "the secret is not set"))
    };
    Ok(match spec {
        ProviderSpec::Custom(s) => {
            Arc::new(CustomProvider::new(name, s, secrets, ctx.client.clone())?)
        }
        ProviderSpec::D7Sms(s) => Arc::new(D7SmsProvider::new(
            name,
            s,
            token("api_token")?,
            ctx.report_url.clone(),
            ctx.client.clone(),
        )),
        ProviderSpec::D7Whatsapp(s) => Arc::new(D7WhatsappProvider::new(
            name,
            s,
            token("api_token")?,
            ctx.report_url.clone(),
            ctx.client.clone(),
        )),
        ProviderSpec::Twilio(s) => Arc::new(TwilioProvider::new(
            name,
            s,
            token("auth_token")?,
            ctx.report_url.clone(),
            ctx.client.clone(),
        )),
        ProviderSpec::Vonage(s) => Arc::new(VonageProvider::new(
            name,
            s,
            token("api_secret")?,
            ctx.report_url.clone(),
            ctx.client.clone(),
        )),
        ProviderSpec::DevOutbox => {
            let outbox = ctx.outbox.clone().ok_or_else(|| {
                FieldError::new(
                    "kind",
                    "the dev outbox is not enabled on this server (dev_outbox.enabled)",
                )
            })?;
            Arc::new(DevOutboxProvider::new(outbox).with_name(name))
        }
    })
}

/// Every secret value a provider's gateway may echo back: its secrets (the webhook secret
/// included: it is in the report URL), each header value, Twilio's HTTP Basic
/// credentials as sent, Vonage's API key. The dispatcher scrubs them out of gateway text.
pub fn echoable_secrets(spec: &ProviderSpec, secrets: &ProviderSecrets) -> Vec<String> {
    use base64::Engine;
    let mut out: Vec<String> = secrets
        .names()
        .filter_map(|n| secrets.get(n))
        .map(str::to_string)
        .collect();
    if let Ok(headers) = custom::headers(secrets) {
        out.extend(headers.into_iter().map(|(_, v)| v));
    }
    match spec {
        ProviderSpec::Twilio(s) => {
            if let Some(token) = secrets.get("auth_token") {
                out.push(
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("{}:{token}", s.account_sid)),
                );
            }
        }
        ProviderSpec::Vonage(s) => out.push(s.api_key.clone()),
        _ => {}
    }
    out
}

/// The names (never the values) of a custom provider's headers, for the API.
pub fn custom_header_names(secrets: &ProviderSecrets) -> Vec<String> {
    custom::headers(secrets)
        .map(|h| h.into_iter().map(|(n, _)| n).collect())
        .unwrap_or_default()
}

/// Deserialises a kind's settings, naming the field at fault.
fn parse<T: DeserializeOwned>(settings: &Value) -> Result<T, FieldError> {
    serde_json::from_value(settings.clone()).map_err(|e| {
        let msg = e.to_string();
        let field = ["unknown field `", "missing field `"]
            .iter()
            .find_map(|p| msg.split_once(p).map(|(_, rest)| rest))
            .and_then(|rest| rest.split('`').next())
            .map(|f| format!("settings.{f}"))
            .unwrap_or_else(|| "settings".to_string());
        FieldError::new(field, msg)
    })
}

/// Checks an overridable base URL: http(s), a host, no query.
pub(crate) fn check_base_url(field: &str, url: &str) -> Result<String, FieldError> {
    let trimmed = url.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(trimmed)
        .map_err(|e| FieldError::new(field, format!("not a valid URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(FieldError::new(
            field,
            "must be an http:// or https:// URL with a host",
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(FieldError::new(field, "must not have a query or fragment"));
    }
    Ok(trimmed.to_string())
}

pub(crate) fn check_timeout(t: Option<u64>) -> Result<Option<u64>, FieldError> {
    match t {
        Some(0) => Err(FieldError::new(
            "settings.timeout_ms",
            "must be at least 1 (milliseconds)",
        )),
        Some(ms) if ms > MAX_TIMEOUT_MS => Err(FieldError::new(
            "settings.timeout_ms",
            format!("must be at most {MAX_TIMEOUT_MS} ms"),
        )),
        other => Ok(other),
    }
}

pub(crate) fn require(field: &str, value: &str, what: &str) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        Err(FieldError::new(field, format!("{what} is required")))
    } else {
        Ok(v.to_string())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
