//! A verification: one code's life from issue to an end state.

use serde::{Deserialize, Serialize};

use crate::UnixTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sms,
    Whatsapp,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Sms, Channel::Whatsapp];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sms" => Some(Channel::Sms),
            "whatsapp" => Some(Channel::Whatsapp),
            _ => None,
        }
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationStatus {
    Pending,
    Approved,
    Expired,
    MaxAttemptsReached,
    Canceled,
    Failed,
}

impl VerificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Expired => "expired",
            Self::MaxAttemptsReached => "max_attempts_reached",
            Self::Canceled => "canceled",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "expired" => Self::Expired,
            "max_attempts_reached" => Self::MaxAttemptsReached,
            "canceled" => Self::Canceled,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Login,
    Enrollment,
    Api,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Enrollment => "enrollment",
            Self::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "login" => Self::Login,
            "enrollment" => Self::Enrollment,
            "api" => Self::Api,
            _ => return None,
        })
    }
}

/// A verification as stored. The code itself is never here: only its HMAC, and — when
/// the policy resends the same code — its ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub id: String,
    pub application_id: Option<String>,
    pub user_id: Option<String>,
    pub purpose: Purpose,
    pub channel: Channel,
    /// E.164; needed to resend. Never logged, never returned unmasked.
    pub destination: String,
    pub code_hmac: Vec<u8>,
    pub code_ciphertext: Option<Vec<u8>>,
    pub status: VerificationStatus,
    pub attempts: u32,
    pub max_attempts: u32,
    pub resends: u32,
    pub max_resends: u32,
    pub resend_cooldown: u32,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    pub expires_at: UnixTime,
    pub last_sent_at: UnixTime,
    pub finished_at: Option<UnixTime>,
}

impl Verification {
    /// The status a reader should see at `now`: a pending code past its expiry is expired
    /// even before the store has written so.
    pub fn effective_status(&self, now: UnixTime) -> VerificationStatus {
        if self.status == VerificationStatus::Pending && now >= self.expires_at {
            VerificationStatus::Expired
        } else {
            self.status
        }
    }

    pub fn attempts_left(&self) -> u32 {
        self.max_attempts.saturating_sub(self.attempts)
    }

    /// Seconds until a resend is allowed (0 = now).
    pub fn resend_wait(&self, now: UnixTime) -> i64 {
        (self.last_sent_at + i64::from(self.resend_cooldown) - now).max(0)
    }
}
