//! idgate's outgoing messages: what a one-time code message says, and how it leaves.
//!
//! - [`message_template`]: the operator's texts per channel and locale (WSO2's placeholders),
//!   rendering, redaction for the message log, and SMS part counting.
//! - [`payload_template`]: the custom provider's request — WSO2's payload template with
//!   proper escaping and save-time validation, URL templates and header lists.
//! - [`provider`]: the sending port every provider implements, and the dev-outbox provider.
//! - [`outbox`]: the in-memory fake phone behind the dev-outbox provider.
//! - [`providers`]: the provider kinds (`custom`, `d7-sms`, `d7-whatsapp`, `twilio`,
//!   `vonage`, `dev-outbox`): save-time validation and the senders.
//! - [`secrets`]: a provider's write-only secrets, sealed under the master secret.
//! - [`signatures`]: inbound webhook signatures (Twilio, Vonage) and Standard Webhooks
//!   signing of custom providers' requests.
//! - [`scrub`]: removes configured secrets and every written form of the number from
//!   gateway text before it is stored or logged.
//! - [`http_client`]: the one outbound client (no redirects, bounded reads).
//! - [`retry`]: attempt timeouts, backoff and the delivery deadline.
//! - [`registry`]: the configured providers per channel, built and briefly cached.
//! - [`dlr`]: delivery reports (D7, Twilio) and their effect on the message log.
//! - [`dispatcher`]: idgate-core's `Notifier`: renders the channel's text, sends it through
//!   the channel's providers (retries, failover, channel fallback) and records it and
//!   every attempt (code redacted) in the message log.
//!
//! Codes never leave this crate in a log line: `Debug` output of every type that holds one
//! redacts it, and error reasons are scrubbed of codes and full numbers.

mod placeholder;

pub mod dispatcher;
pub mod dlr;
pub mod http_client;
pub mod message_template;
pub mod outbox;
pub mod payload_template;
pub mod provider;
pub mod providers;
pub mod registry;
pub mod retry;
pub mod scrub;
pub mod secrets;
pub mod signatures;

pub use message_template::{
    DEFAULT_LOCALE, DEFAULT_SMS_TEXT, DEFAULT_WHATSAPP_TEXT, Encoding, MessageContext,
    MessagePlaceholder, MessageTemplate, Preview, REDACTED_CODE, SegmentInfo, TemplateCatalog,
    TemplateError, default_template, normalise_locale, preview, segments,
};
pub use outbox::{DEFAULT_OUTBOX_CAPACITY, DevOutbox, OutboxEntry, SharedOutbox};
pub use payload_template::{
    ContentType, PayloadError, PayloadPlaceholder, PayloadTemplate, PayloadValues, UrlTemplate,
    parse_header_pairs, parse_headers,
};
pub use provider::{
    DevOutboxProvider, OutgoingMessage, Provider, SendError, SendReceipt, is_retryable_status,
    scrub,
};
