//! Configured providers and message attempts: what the delivery side stores.
//!
//! A provider row is a kind, its plain settings (a JSON document the notify crate
//! validates) and its secrets (API tokens, auth headers, the webhook secret) as one
//! AES-256-GCM ciphertext bound to the provider id. The store never sees a secret in
//! plaintext, and nothing here interprets the settings: the kinds' rules live next to the
//! code that sends (`idgate-notify`).

use serde::{Deserialize, Serialize};

use crate::UnixTime;
use crate::otp::Channel;

/// How a provider sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProviderKind {
    /// Any HTTP gateway, through WSO2's payload template.
    #[serde(rename = "custom")]
    Custom,
    /// D7 Networks `/messages/v1/send`.
    #[serde(rename = "d7-sms")]
    D7Sms,
    /// D7 Networks `/whatsapp/v2/send` with an authentication template.
    #[serde(rename = "d7-whatsapp")]
    D7Whatsapp,
    /// Twilio Messages API.
    #[serde(rename = "twilio")]
    Twilio,
    /// Vonage (Nexmo) SMS API.
    #[serde(rename = "vonage")]
    Vonage,
    /// The in-memory dev outbox.
    #[serde(rename = "dev-outbox")]
    DevOutbox,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 6] = [
        Self::Custom,
        Self::D7Sms,
        Self::D7Whatsapp,
        Self::Twilio,
        Self::Vonage,
        Self::DevOutbox,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Custom => "custom",
            Self::D7Sms => "d7-sms",
            Self::D7Whatsapp => "d7-whatsapp",
            Self::Twilio => "twilio",
            Self::Vonage => "vonage",
            Self::DevOutbox => "dev-outbox",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the kind can carry messages of `channel`.
    pub fn supports(self, channel: Channel) -> bool {
        match self {
            Self::D7Sms | Self::Vonage => channel == Channel::Sms,
            Self::D7Whatsapp => channel == Channel::Whatsapp,
            Self::Custom | Self::Twilio | Self::DevOutbox => true,
        }
    }
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A configured provider as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderRecord {
    pub id: String,
    pub channel: Channel,
    /// Unique per channel.
    pub name: String,
    pub kind: ProviderKind,
    /// Failover order within the channel: lower first.
    pub position: i64,
    pub enabled: bool,
    /// Plain settings (URL, originator, template…): a JSON object.
    pub settings: serde_json::Value,
    /// `Keys::encrypt(secrets JSON, context = id)`.
    pub secrets_ciphertext: Vec<u8>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

impl std::fmt::Debug for ProviderRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderRecord")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("position", &self.position)
            .field("enabled", &self.enabled)
            .field("secrets", &"[encrypted]")
            .finish_non_exhaustive()
    }
}

/// One try of one provider for one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAttempt {
    pub message_id: String,
    /// 1-based, in the order the attempts were made (across providers and channels).
    pub seq: u32,
    pub channel: Channel,
    /// The provider's id (`None` for the implicit dev outbox).
    pub provider_id: Option<String>,
    pub provider: String,
    pub http_status: Option<u16>,
    pub provider_message_id: Option<String>,
    /// Why it failed (scrubbed of the code and the number); `None` when it succeeded.
    pub error: Option<String>,
    pub latency_ms: u32,
    pub at: UnixTime,
}
