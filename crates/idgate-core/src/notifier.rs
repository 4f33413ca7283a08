//! The delivery port: the OTP engine hands a code to a [`Notifier`], which renders the
//! channel's message template and sends it through the channel's providers
//! (`idgate-notify` implements it).

use async_trait::async_trait;

use crate::limits::{GuardError, Refusal};
use crate::otp::Channel;
use crate::phone::PhoneNumber;

/// One code to deliver.
#[derive(Clone)]
pub struct Delivery<'a> {
    pub verification_id: &'a str,
    pub channel: Channel,
    /// Channels the caller accepts if `channel` cannot deliver (channel fallback).
    pub fallback: Option<Channel>,
    /// Asked before the code goes out on the fallback channel (`channel` itself was
    /// admitted by the caller); `None`: no abuse rules apply.
    pub gate: Option<&'a dyn ChannelGate>,
    pub to: &'a PhoneNumber,
    pub code: &'a str,
    pub expiry_minutes: u32,
    pub application_name: Option<&'a str>,
    pub user_name: Option<&'a str>,
    pub locale: Option<&'a str>,
}

impl std::fmt::Debug for Delivery<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("verification_id", &self.verification_id)
            .field("channel", &self.channel)
            .field("to", &self.to)
            .field("code", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Where the code went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The channel that carried it (differs from the requested one after a fallback).
    pub channel: Channel,
    pub message_id: String,
    pub provider: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error("the {0} channel has no provider configured")]
    NoProvider(Channel),
    #[error("the {0} channel is disabled")]
    ChannelDisabled(Channel),
    /// Every provider was tried; `reason` is the providers' own reasons, scrubbed of the
    /// code, the number and the providers' secrets (for the log and the message log, not
    /// for API callers: they get a fixed text and `message_id`).
    #[error("no provider could send the {channel} message {message_id}: {reason}")]
    AllFailed {
        channel: Channel,
        message_id: String,
        reason: String,
    },
    /// `channel` could not deliver and the fallback channel's own abuse rules refused
    /// the code (destination rules, prefix guard or hourly budget of that channel).
    #[error(
        "the {channel} channel could not send, and the {fallback} fallback was refused: {refusal}"
    )]
    FallbackRefused {
        channel: Channel,
        fallback: Channel,
        refusal: Refusal,
    },
    #[error("delivery failed: {0}")]
    Internal(String),
}

/// The abuse rules of the channel that really carries a code. The caller admits the
/// requested channel before delivering; a notifier that falls back to another channel
/// asks the gate first, so that channel's country lists, number-type rules, prefix
/// guard and hourly budget apply to what it sends (see `crate::limits::Guard`).
#[async_trait]
pub trait ChannelGate: Send + Sync {
    async fn admit(&self, channel: Channel, to: &PhoneNumber) -> Result<(), GuardError>;
}

#[async_trait]
pub trait Notifier: Send + Sync + 'static {
    async fn deliver(&self, delivery: Delivery<'_>) -> Result<Delivered, DeliveryError>;
    /// Whether `channel` has at least one provider (a disabled channel is refused up
    /// front with a 4xx instead of a failed verification).
    async fn channel_enabled(&self, channel: Channel) -> bool;
}
