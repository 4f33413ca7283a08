//! Messages: one delivery of a verification's code through a provider.

use serde::{Deserialize, Serialize};

use crate::UnixTime;
use crate::otp::Channel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Queued,
    Sent,
    Delivered,
    Undelivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Undelivered => "undelivered",
            Self::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "undelivered" => Self::Undelivered,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// A message as logged: the text has its code redacted, the recipient is masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub id: String,
    pub verification_id: Option<String>,
    pub channel: Channel,
    pub provider: String,
    pub to_masked: String,
    pub body_redacted: String,
    pub status: DeliveryStatus,
    pub provider_message_id: Option<String>,
    pub error: Option<String>,
    pub attempts: u32,
    pub latency_ms: Option<u32>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}
