//! The sending port: what every provider (D7, custom HTTP, Twilio, Vonage, dev outbox) does.
//!
//! A provider gets one rendered message and either hands it to its gateway or says why not,
//! and whether trying again (here or at the next provider) can help. Timeouts, retries and
//! failover belong to the dispatcher, not to providers.

use std::fmt;
use std::time::Instant;

use async_trait::async_trait;
use std::sync::Arc;

use idgate_core::clock::{SharedClock, SystemClock};
use idgate_core::otp::Channel;
use idgate_core::phone::PhoneNumber;
use secrecy::{ExposeSecret, SecretString};

use crate::message_template::REDACTED_CODE;
use crate::outbox::{OutboxEntry, SharedOutbox};
use crate::payload_template::PayloadValues;

/// The longest [`SendError::reason`] kept: gateway error bodies can be whole HTML pages.
pub const MAX_REASON_CHARS: usize = 300;

/// One message to deliver.
#[derive(Clone)]
pub struct OutgoingMessage {
    /// idgate's id for this delivery (sent to gateways that accept a client reference).
    pub message_id: String,
    pub channel: Channel,
    pub to: PhoneNumber,
    /// The rendered text, code included.
    pub text: String,
    /// The bare code, for gateways with a code field (WhatsApp authentication templates).
    pub code: SecretString,
}

impl OutgoingMessage {
    pub fn new(
        message_id: impl Into<String>,
        channel: Channel,
        to: PhoneNumber,
        text: impl Into<String>,
        code: &str,
    ) -> Self {
        Self {
            message_id: message_id.into(),
            channel,
            to,
            text: text.into(),
            code: SecretString::from(code),
        }
    }

    /// The text with the code replaced, for logs.
    pub fn redacted_text(&self) -> String {
        redact_code(&self.text, self.code.expose_secret())
    }

    /// The values a payload or URL template is rendered with.
    pub fn payload_values(&self) -> PayloadValues<'_> {
        PayloadValues {
            mobile: self.to.as_str(),
            body: &self.text,
            otp: self.code.expose_secret(),
            message_id: &self.message_id,
        }
    }
}

impl fmt::Debug for OutgoingMessage {
    /// Code redacted and number masked: a message formatted into a log line leaks neither.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingMessage")
            .field("message_id", &self.message_id)
            .field("channel", &self.channel)
            .field("to", &self.to)
            .field("text", &self.redacted_text())
            .field("code", &REDACTED_CODE)
            .finish()
    }
}

fn redact_code(text: &str, code: &str) -> String {
    if code.is_empty() {
        text.to_string()
    } else {
        text.replace(code, REDACTED_CODE)
    }
}

/// A gateway's acceptance of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReceipt {
    /// The gateway's id for the message (D7's `request_id`), to match delivery reports.
    pub provider_message_id: Option<String>,
    pub http_status: Option<u16>,
    pub latency_ms: u32,
}

/// Why a message was not accepted. `reason` is shown to operators and logged, so it never
/// holds the code, the number or a secret: build it with [`SendError::scrubbed`] whenever
/// it includes text from a gateway (gateways echo requests back in their errors); the
/// dispatcher scrubs the provider's secrets out of it before it is stored or logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct SendError {
    /// Whether trying again (later, or with the next provider) may succeed.
    pub retryable: bool,
    /// The gateway may have accepted the message (a timeout, a connection broken after
    /// the request went out). The dispatcher does not repeat such a request on the same
    /// gateway; it fails over, with the same code.
    pub ambiguous: bool,
    pub reason: String,
    pub http_status: Option<u16>,
}

impl SendError {
    /// A failure that may pass on another try (timeouts, 429, 5xx).
    pub fn retryable(reason: impl Into<String>) -> Self {
        Self {
            retryable: true,
            ambiguous: false,
            reason: reason.into(),
            http_status: None,
        }
    }

    /// A failure after which the gateway may hold the message (timeout, broken
    /// connection): fail over rather than repeat it on the same gateway.
    pub fn ambiguous(reason: impl Into<String>) -> Self {
        Self {
            retryable: true,
            ambiguous: true,
            reason: reason.into(),
            http_status: None,
        }
    }

    /// A failure that will repeat (bad credentials, rejected number, invalid request).
    pub fn permanent(reason: impl Into<String>) -> Self {
        Self {
            retryable: false,
            ambiguous: false,
            reason: reason.into(),
            http_status: None,
        }
    }

    /// A failure from an HTTP status, retryable when the status says so.
    pub fn from_status(status: u16, reason: impl Into<String>) -> Self {
        Self {
            retryable: is_retryable_status(status),
            ambiguous: false,
            reason: reason.into(),
            http_status: Some(status),
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        self
    }

    /// Removes the code and the number (any written form) from the reason. The
    /// dispatcher then removes the provider's secrets and caps the length (capping here
    /// could cut a secret in two and leave half of it).
    pub fn scrubbed(mut self, msg: &OutgoingMessage) -> Self {
        self.reason = crate::scrub::scrub_number_and_code(&self.reason, msg);
        self
    }
}

/// Statuses worth another try: timeouts, rate limits, server errors.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 425 | 429) || (500..=599).contains(&status)
}

/// `text` without the message's code or its number in any written form, at most
/// [`MAX_REASON_CHARS`] long. The dispatcher also removes the provider's secrets
/// ([`crate::scrub::Scrubber`]).
pub fn scrub(text: &str, msg: &OutgoingMessage) -> String {
    crate::scrub::Scrubber::default().scrub(text, msg)
}

/// A configured sender.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The operator's name for this provider (unique per deployment).
    fn name(&self) -> &str;
    /// The kind: `custom`, `d7-sms`, `d7-whatsapp`, `twilio`, `vonage`, `dev-outbox`.
    fn kind(&self) -> &'static str;
    /// Hands the message to the gateway. Must not retry: the dispatcher does.
    async fn send(&self, msg: &OutgoingMessage) -> Result<SendReceipt, SendError>;
}

/// Delivers into the in-memory [`DevOutbox`](crate::outbox::DevOutbox). Always succeeds.
#[derive(Debug, Clone)]
pub struct DevOutboxProvider {
    name: String,
    outbox: SharedOutbox,
    clock: SharedClock,
}

impl DevOutboxProvider {
    pub const KIND: &'static str = "dev-outbox";

    /// A provider named `dev-outbox` that stamps entries with the system clock.
    pub fn new(outbox: SharedOutbox) -> Self {
        Self {
            name: Self::KIND.to_string(),
            outbox,
            clock: Arc::new(SystemClock),
        }
    }

    /// The operator's name for it, when it is configured as a named provider.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The clock that stamps entries (tests move it).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    pub fn outbox(&self) -> &SharedOutbox {
        &self.outbox
    }
}

#[async_trait]
impl Provider for DevOutboxProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        Self::KIND
    }

    async fn send(&self, msg: &OutgoingMessage) -> Result<SendReceipt, SendError> {
        let started = Instant::now();
        let id = idgate_core::new_id();
        self.outbox.push(OutboxEntry {
            id: id.clone(),
            channel: msg.channel,
            to: msg.to.as_str().to_string(),
            text: msg.text.clone(),
            provider: self.name.clone(),
            created_at: self.clock.now(),
        });
        tracing::debug!(
            provider = %self.name,
            message_id = %msg.message_id,
            to = %msg.to,
            "message delivered to the dev outbox"
        );
        Ok(SendReceipt {
            provider_message_id: Some(id),
            http_status: None,
            latency_ms: u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use idgate_core::clock::{Clock, ManualClock};

    use super::*;
    use crate::outbox::DevOutbox;

    fn message() -> OutgoingMessage {
        OutgoingMessage::new(
            "msg-1",
            Channel::Sms,
            PhoneNumber::parse("+94771234567", None).unwrap(),
            "Your code is 482913.",
            "482913",
        )
    }

    #[test]
    fn debug_leaks_neither_code_nor_number() {
        let shown = format!("{:?}", message());
        assert!(!shown.contains("482913"), "{shown}");
        assert!(!shown.contains("+94771234567"), "{shown}");
        assert!(shown.contains("Your code is ••••••."), "{shown}");
        assert_eq!(message().redacted_text(), "Your code is ••••••.");
    }

    #[test]
    fn payload_values_carry_everything() {
        let m = message();
        let v = m.payload_values();
        assert_eq!(
            (v.mobile, v.body, v.otp, v.message_id),
            ("+94771234567", "Your code is 482913.", "482913", "msg-1")
        );
    }

    #[test]
    fn reasons_are_scrubbed() {
        let m = message();
        let e = SendError::from_status(
            422,
            "invalid recipient +94771234567 (94771234567) for text 'Your code is 482913.'",
        )
        .scrubbed(&m);
        assert!(!e.retryable);
        assert_eq!(e.http_status, Some(422));
        assert_eq!(
            e.reason,
            "invalid recipient +9477•••••67 (+9477•••••67) for text 'Your code is ••••••.'"
        );
        let long = scrub(&"x".repeat(1000), &m);
        assert_eq!(long.chars().count(), MAX_REASON_CHARS + 1);
        assert_eq!(e.to_string(), e.reason);
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 425, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [400, 401, 402, 403, 404, 422] {
            assert!(!is_retryable_status(s), "{s}");
        }
        assert!(SendError::retryable("timeout").retryable);
        assert_eq!(
            SendError::permanent("x").with_status(401).http_status,
            Some(401)
        );
    }

    #[tokio::test]
    async fn dev_outbox_provider_stores_the_full_message() {
        let outbox = DevOutbox::shared(10);
        let clock = Arc::new(ManualClock::new());
        clock.advance(-1_000_000);
        let p = DevOutboxProvider::new(Arc::clone(&outbox))
            .with_name("dev")
            .with_clock(clock.clone());
        assert_eq!((p.name(), p.kind()), ("dev", "dev-outbox"));
        assert_eq!(
            DevOutboxProvider::new(Arc::clone(&outbox)).name(),
            "dev-outbox"
        );
        let provider: &dyn Provider = &p;
        let receipt = provider.send(&message()).await.unwrap();
        let entry = outbox.latest_for("+94771234567", Channel::Sms).unwrap();
        assert_eq!(
            receipt.provider_message_id.as_deref(),
            Some(entry.id.as_str())
        );
        assert_eq!(receipt.http_status, None);
        assert_eq!(entry.text, "Your code is 482913.");
        assert_eq!(entry.to, "+94771234567");
        assert_eq!(entry.provider, "dev");
        assert_eq!(entry.created_at, clock.now());
        assert_ne!(entry.id, "msg-1");
    }
}
