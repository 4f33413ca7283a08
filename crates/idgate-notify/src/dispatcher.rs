//! The dispatcher: idgate's [`Notifier`]. It renders the channel's message template,
//! hands the message to the channel's providers in failover order — with timeouts and
//! retries (see [`crate::retry`]) — falls back to the other channel when the caller allows
//! it, and records the message and every attempt in the message log, code redacted.
//!
//! It never reports a message as sent that no gateway accepted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use idgate_core::clock::SharedClock;
use idgate_core::crypto::Keys;
use idgate_core::limits::GuardError;
use idgate_core::message::{DeliveryStatus, MessageRecord};
use idgate_core::notifier::{Delivered, Delivery, DeliveryError, Notifier};
use idgate_core::otp::Channel;
use idgate_core::phone::PhoneNumber;
use idgate_core::provider_config::{MessageAttempt, ProviderKind};
use idgate_core::store::Store;

use crate::http_client::{build_client, elapsed_ms};
use crate::message_template::{MessageContext, MessageTemplate, default_template};
use crate::outbox::DevOutbox;
use crate::provider::{OutgoingMessage, SendError, SendReceipt};
use crate::registry::{Configured, Registry};
use crate::retry::RetryPolicy;

/// The settings key of a channel's message template in a locale.
pub fn template_key(channel: Channel, locale: &str) -> String {
    format!("template.{}.{}", channel.as_str(), locale)
}

/// The text of an SMS test message (`POST /api/v1/channels/sms/test`).
pub const TEST_TEXT: &str = "This is a test message from idgate: your provider works.";
/// The "code" a test message carries (WhatsApp authentication templates need one).
pub const TEST_CODE: &str = "000000";

/// The text of a test message on `channel`. On WhatsApp it is the sample code alone, like
/// a real WhatsApp text: D7's guide puts the custom provider's `{{body}}` into an
/// authentication template's button (`action_payload`), which takes at most 15 characters.
pub fn test_text(channel: Channel) -> &'static str {
    match channel {
        Channel::Sms => TEST_TEXT,
        Channel::Whatsapp => TEST_CODE,
    }
}

/// Counter: codes handed to a provider, by `channel`, `provider` (its kind) and `outcome`.
pub const CODES_SENT_TOTAL: &str = "idgate_codes_sent_total";

/// Describes the dispatcher's counters (Prometheus `HELP`) and creates every series at 0,
/// so that `increase()` sees the first event. Call after the recorder is installed;
/// calling again is harmless.
pub fn describe_metrics() {
    metrics::describe_counter!(
        CODES_SENT_TOTAL,
        "Codes handed to a provider, by channel, provider kind and outcome: sent (the gateway accepted the code) or failed (the provider failed it after its retries; failover follows). Test messages are not counted."
    );
    for channel in Channel::ALL {
        for kind in ProviderKind::ALL
            .into_iter()
            .filter(|k| k.supports(channel))
        {
            for outcome in ["sent", "failed"] {
                metrics::counter!(CODES_SENT_TOTAL, "channel" => channel.as_str(), "provider" => kind.as_str(), "outcome" => outcome)
                    .increment(0);
            }
        }
    }
}

fn count_code(channel: Channel, kind: ProviderKind, outcome: &'static str) {
    metrics::counter!(CODES_SENT_TOTAL, "channel" => channel.as_str(), "provider" => kind.as_str(), "outcome" => outcome)
        .increment(1);
}

pub struct Dispatcher {
    store: Arc<dyn Store>,
    clock: SharedClock,
    registry: Arc<Registry>,
    policy: RetryPolicy,
    organization_name: String,
}

/// What a test send did.
#[derive(Debug, Clone)]
pub struct TestReport {
    pub message_id: String,
    pub sent: bool,
    pub channel: Channel,
    /// The text that was sent ([`test_text`]).
    pub text: &'static str,
    pub provider: Option<String>,
    pub provider_message_id: Option<String>,
    pub attempts: Vec<MessageAttempt>,
    pub reason: Option<String>,
}

/// One channel's outcome inside a delivery.
struct Success {
    provider: Arc<Configured>,
    receipt: SendReceipt,
}

impl Dispatcher {
    pub fn new(store: Arc<dyn Store>, clock: SharedClock, outbox: Option<Arc<DevOutbox>>) -> Self {
        // Building a rustls client only fails when the platform has no usable TLS setup;
        // the default client then reports the same problem on first use.
        let client = build_client().unwrap_or_default();
        Self {
            registry: Arc::new(Registry::new(store.clone(), client, outbox)),
            store,
            clock,
            policy: RetryPolicy::default(),
            organization_name: "idgate".into(),
        }
    }

    /// The keys that open provider secrets (without them only the dev outbox sends).
    pub fn with_keys(mut self, keys: Arc<Keys>) -> Self {
        if let Some(r) = Arc::get_mut(&mut self.registry) {
            r.set_keys(keys);
        }
        self
    }

    /// The public base URL, for delivery-report webhooks.
    pub fn with_issuer(mut self, issuer: &str) -> Self {
        if let Some(r) = Arc::get_mut(&mut self.registry) {
            r.set_issuer(issuer);
        }
        self
    }

    /// The value of the `{{organization-name}}` placeholder (and of
    /// `{{application-name}}` when a code belongs to no application).
    pub fn with_organization_name(mut self, name: &str) -> Self {
        self.organization_name = name.to_string();
        self
    }

    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How long a channel's provider list is reused before re-reading the store.
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        if let Some(r) = Arc::get_mut(&mut self.registry) {
            r.set_ttl(ttl);
        }
        self
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// The operator's template for the channel and locale, falling back to the
    /// language alone (`en-US` → `en`), then to `en`, then to the built-in default.
    async fn template(&self, channel: Channel, locale: Option<&str>) -> MessageTemplate {
        let mut candidates: Vec<String> = Vec::new();
        if let Some(l) = locale {
            candidates.push(l.to_string());
            // The console and the API file texts under BCP 47 casing (`si-LK`).
            if let Ok(n) = crate::message_template::normalise_locale(l) {
                candidates.push(n);
            }
            if let Some((lang, _)) = l.split_once(['-', '_']) {
                candidates.push(lang.to_ascii_lowercase());
            }
        }
        candidates.push("en".into());
        candidates.dedup();
        for locale in candidates {
            match self
                .store
                .get_setting(&template_key(channel, &locale))
                .await
            {
                Ok(Some(v)) => {
                    if let Some(t) = v.as_str().and_then(|s| MessageTemplate::parse(s).ok()) {
                        return t;
                    }
                    tracing::warn!(channel = %channel, locale, "stored template is invalid; using the default");
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the message template; using the default")
                }
            }
        }
        default_template(channel)
    }

    /// The message for `channel`: (text with the code, text with the code redacted).
    async fn render(&self, channel: Channel, d: &Delivery<'_>) -> (String, String) {
        let template = self.template(channel, d.locale).await;
        let year = time::OffsetDateTime::from_unix_timestamp(self.clock.now())
            .map(|t| t.year())
            .unwrap_or(1970);
        let ctx = MessageContext {
            code: d.code,
            expiry_minutes: d.expiry_minutes.max(1),
            application_name: d.application_name.unwrap_or(&self.organization_name),
            user_name: d.user_name.unwrap_or(""),
            organization_name: &self.organization_name,
            current_year: year,
        };
        (template.render(&ctx), template.render_redacted(&ctx))
    }

    async fn providers(
        &self,
        channel: Channel,
    ) -> Result<Arc<Vec<Arc<Configured>>>, DeliveryError> {
        self.registry.providers(channel).await.map_err(|e| {
            tracing::error!(error = %e, "could not load providers");
            DeliveryError::Internal("the provider list could not be read".into())
        })
    }

    /// Tries `providers` in order until one accepts `msg`, within one deadline. With
    /// `count`, each provider's verdict is counted in [`CODES_SENT_TOTAL`].
    async fn try_channel(
        &self,
        providers: &[Arc<Configured>],
        msg: &OutgoingMessage,
        attempts: &mut Vec<MessageAttempt>,
        reasons: &mut Vec<String>,
        count: bool,
    ) -> Option<Success> {
        let deadline = Instant::now() + self.policy.deadline;
        for p in providers {
            let mut tries = 0u32;
            loop {
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining.is_zero() {
                    reasons.push(format!(
                        "{}: not tried, the delivery deadline had passed",
                        p.name
                    ));
                    break;
                }
                tries += 1;
                let timeout = p
                    .timeout
                    .unwrap_or(self.policy.attempt_timeout)
                    .min(remaining);
                let started = Instant::now();
                let result = match tokio::time::timeout(timeout, p.provider.send(msg)).await {
                    Ok(r) => r,
                    Err(_) => Err(SendError::ambiguous(format!(
                        "no answer within {} ms",
                        timeout.as_millis()
                    ))),
                };
                let latency = elapsed_ms(started);
                let seq = u32::try_from(attempts.len() + 1).unwrap_or(u32::MAX);
                let mut attempt = MessageAttempt {
                    message_id: msg.message_id.clone(),
                    seq,
                    channel: msg.channel,
                    provider_id: p.id.clone(),
                    provider: p.name.clone(),
                    http_status: None,
                    provider_message_id: None,
                    error: None,
                    latency_ms: latency,
                    at: self.clock.now(),
                };
                match result {
                    Ok(receipt) => {
                        attempt.http_status = receipt.http_status;
                        attempt.provider_message_id = receipt.provider_message_id.clone();
                        attempts.push(attempt);
                        if count {
                            count_code(msg.channel, p.kind, "sent");
                        }
                        return Some(Success {
                            provider: p.clone(),
                            receipt,
                        });
                    }
                    Err(mut e) => {
                        // Gateway text may echo the request: no secret, number or code
                        // goes further than this.
                        e.reason = p.scrubber.scrub(&e.reason, msg);
                        tracing::warn!(
                            message = %msg.message_id, provider = %p.name, attempt = tries,
                            status = ?e.http_status, reason = %e.reason, "provider attempt failed"
                        );
                        attempt.http_status = e.http_status;
                        attempt.error = Some(e.reason.clone());
                        attempts.push(attempt);
                        let again = e.retryable
                            && !e.ambiguous
                            && tries < self.policy.max_attempts_per_provider;
                        if again {
                            let wait = self.policy.backoff(tries);
                            if Instant::now() + wait < deadline {
                                tokio::time::sleep(wait).await;
                                continue;
                            }
                        }
                        reasons.push(format!("{}: {}", p.name, e.reason));
                        if count {
                            count_code(msg.channel, p.kind, "failed");
                        }
                        break;
                    }
                }
            }
        }
        None
    }

    async fn record(&self, record: &MessageRecord, attempts: &[MessageAttempt]) {
        if let Err(e) = self.store.record_message(record, attempts).await {
            tracing::error!(error = %e, message = %record.id, "could not record the message in the message log");
        }
    }

    /// Sends a test message through a channel's providers (or one provider), records it,
    /// and says what happened.
    pub async fn send_test(
        &self,
        channel: Channel,
        to: &PhoneNumber,
        provider_id: Option<&str>,
    ) -> Result<TestReport, DeliveryError> {
        let providers: Vec<Arc<Configured>> = match provider_id {
            Some(id) => match self.registry.provider(id).await {
                Ok(Some(p)) => vec![Arc::new(p)],
                Ok(None) => return Err(DeliveryError::Internal("no such provider".into())),
                Err(e) => return Err(DeliveryError::Internal(e)),
            },
            None => self.providers(channel).await?.as_ref().clone(),
        };
        if providers.is_empty() {
            return Err(DeliveryError::NoProvider(channel));
        }
        let message_id = idgate_core::new_id();
        let text = test_text(channel);
        let msg = OutgoingMessage::new(message_id.clone(), channel, to.clone(), text, TEST_CODE);
        let started = Instant::now();
        let mut attempts = Vec::new();
        let mut reasons = Vec::new();
        let success = self
            .try_channel(&providers, &msg, &mut attempts, &mut reasons, false)
            .await;
        let now = self.clock.now();
        let record = MessageRecord {
            id: message_id.clone(),
            verification_id: None,
            channel,
            provider: success
                .as_ref()
                .map(|s| s.provider.name.clone())
                .or_else(|| attempts.last().map(|a| a.provider.clone()))
                .unwrap_or_default(),
            to_masked: to.masked(),
            body_redacted: text.into(),
            status: match &success {
                Some(s) if s.provider.kind == ProviderKind::DevOutbox => DeliveryStatus::Delivered,
                Some(_) => DeliveryStatus::Sent,
                None => DeliveryStatus::Failed,
            },
            provider_message_id: success
                .as_ref()
                .and_then(|s| s.receipt.provider_message_id.clone()),
            error: (!reasons.is_empty() && success.is_none()).then(|| reasons.join("; ")),
            attempts: u32::try_from(attempts.len()).unwrap_or(u32::MAX),
            latency_ms: Some(elapsed_ms(started)),
            created_at: now,
            updated_at: now,
        };
        self.record(&record, &attempts).await;
        Ok(TestReport {
            message_id,
            sent: success.is_some(),
            channel,
            text,
            provider: success.as_ref().map(|s| s.provider.name.clone()),
            provider_message_id: record.provider_message_id.clone(),
            attempts,
            reason: record.error,
        })
    }
}

#[async_trait]
impl Notifier for Dispatcher {
    async fn channel_enabled(&self, channel: Channel) -> bool {
        self.providers(channel).await.is_ok_and(|p| !p.is_empty())
    }

    async fn deliver(&self, d: Delivery<'_>) -> Result<Delivered, DeliveryError> {
        let started = Instant::now();
        let primary = self.providers(d.channel).await?;
        let fallback = match d.fallback.filter(|c| *c != d.channel) {
            Some(c) => Some((c, self.providers(c).await?)).filter(|(_, l)| !l.is_empty()),
            None => None,
        };
        if primary.is_empty() && fallback.is_none() {
            return Err(DeliveryError::NoProvider(d.channel));
        }
        let message_id = idgate_core::new_id();
        let mut attempts = Vec::new();
        let mut reasons = Vec::new();
        let mut plan = vec![(d.channel, primary)];
        plan.extend(fallback);
        let mut last_redacted = String::new();
        let mut refused = None;
        for (channel, providers) in plan {
            if providers.is_empty() {
                continue;
            }
            if channel != d.channel
                && let Err(e) = admit_fallback(&d, channel, &message_id).await
            {
                reasons.push(e.to_string());
                if matches!(e, DeliveryError::FallbackRefused { .. }) {
                    refused = Some(e);
                }
                continue;
            }
            let (text, redacted) = self.render(channel, &d).await;
            last_redacted = redacted.clone();
            let msg = OutgoingMessage::new(message_id.clone(), channel, d.to.clone(), text, d.code);
            if channel != d.channel {
                tracing::info!(message = %message_id, from = %d.channel, to_channel = %channel, "falling back to the other channel");
            }
            if let Some(s) = self
                .try_channel(&providers, &msg, &mut attempts, &mut reasons, true)
                .await
            {
                let now = self.clock.now();
                let record = MessageRecord {
                    id: message_id.clone(),
                    verification_id: Some(d.verification_id.to_string()),
                    channel,
                    provider: s.provider.name.clone(),
                    to_masked: d.to.masked(),
                    body_redacted: redacted,
                    status: if s.provider.kind == ProviderKind::DevOutbox {
                        DeliveryStatus::Delivered
                    } else {
                        DeliveryStatus::Sent
                    },
                    provider_message_id: s.receipt.provider_message_id.clone(),
                    error: None,
                    attempts: u32::try_from(attempts.len()).unwrap_or(u32::MAX),
                    latency_ms: Some(elapsed_ms(started)),
                    created_at: now,
                    updated_at: now,
                };
                self.record(&record, &attempts).await;
                tracing::info!(message = %message_id, provider = %record.provider, channel = %channel, to = %d.to, attempts = record.attempts, "message sent");
                return Ok(Delivered {
                    channel,
                    message_id,
                    provider: record.provider,
                });
            }
        }
        let now = self.clock.now();
        let reason = if reasons.is_empty() {
            "no provider was tried".to_string()
        } else {
            reasons.join("; ")
        };
        let record = MessageRecord {
            id: message_id.clone(),
            verification_id: Some(d.verification_id.to_string()),
            channel: d.channel,
            provider: attempts
                .last()
                .map(|a| a.provider.clone())
                .unwrap_or_default(),
            to_masked: d.to.masked(),
            body_redacted: last_redacted,
            status: DeliveryStatus::Failed,
            provider_message_id: None,
            error: Some(reason.clone()),
            attempts: u32::try_from(attempts.len()).unwrap_or(u32::MAX),
            latency_ms: Some(elapsed_ms(started)),
            created_at: now,
            updated_at: now,
        };
        self.record(&record, &attempts).await;
        Err(refused.unwrap_or(DeliveryError::AllFailed {
            channel: d.channel,
            message_id,
            reason,
        }))
    }
}

/// Whether the code may go out on the fallback `channel`: that channel's own abuse rules
/// decide (the caller admitted only the requested one). A store failure while checking
/// keeps the fallback closed.
async fn admit_fallback(
    d: &Delivery<'_>,
    channel: Channel,
    message_id: &str,
) -> Result<(), DeliveryError> {
    let Some(gate) = d.gate else {
        return Ok(());
    };
    match gate.admit(channel, d.to).await {
        Ok(()) => Ok(()),
        Err(GuardError::Refused(refusal)) => {
            tracing::warn!(message = %message_id, from = %d.channel, to_channel = %channel, reason = %refusal, "channel fallback refused by that channel's abuse rules");
            Err(DeliveryError::FallbackRefused {
                channel: d.channel,
                fallback: channel,
                refusal,
            })
        }
        Err(GuardError::Store(e)) => {
            tracing::error!(message = %message_id, error = %e, "checking the fallback channel's abuse rules failed");
            Err(DeliveryError::Internal(format!(
                "the {channel} fallback's abuse rules could not be checked"
            )))
        }
    }
}
