//! The dispatcher: idgate's [`Notifier`]. It renders the channel's message template,
//! hands the message to the channel's providers in order, and records every message in
//! the message log with its code redacted.

use std::sync::Arc;

use async_trait::async_trait;
use idgate_core::clock::SharedClock;
use idgate_core::message::{DeliveryStatus, MessageRecord};
use idgate_core::notifier::{Delivered, Delivery, DeliveryError, Notifier};
use idgate_core::otp::Channel;
use idgate_core::store::Store;

use crate::message_template::{MessageContext, MessageTemplate, default_template};
use crate::outbox::{DevOutbox, DevOutboxProvider};
use crate::provider::{OutgoingMessage, Provider};

/// The settings key of a channel's message template in a locale.
pub fn template_key(channel: Channel, locale: &str) -> String {
    format!("template.{}.{}", channel.as_str(), locale)
}

pub struct Dispatcher {
    store: Arc<dyn Store>,
    clock: SharedClock,
    outbox: Option<Arc<DevOutboxProvider>>,
    organization_name: String,
}

impl Dispatcher {
    pub fn new(store: Arc<dyn Store>, clock: SharedClock, outbox: Option<Arc<DevOutbox>>) -> Self {
        Self {
            store,
            clock,
            outbox: outbox.map(|o| Arc::new(DevOutboxProvider::new(o))),
            organization_name: "idgate".into(),
        }
    }

    /// The providers of a channel, in failover order.
    fn providers(&self, _channel: Channel) -> Vec<Arc<dyn Provider>> {
        let mut list: Vec<Arc<dyn Provider>> = Vec::new();
        if let Some(o) = &self.outbox {
            list.push(o.clone());
        }
        list
    }

    /// The operator's template for the channel and locale, falling back to the
    /// language alone (`en-US` → `en`), then to `en`, then to the built-in default.
    async fn template(&self, channel: Channel, locale: Option<&str>) -> MessageTemplate {
        let mut candidates: Vec<String> = Vec::new();
        if let Some(l) = locale {
            candidates.push(l.to_string());
            if let Some((lang, _)) = l.split_once(['-', '_']) {
                candidates.push(lang.to_string());
            }
        }
        candidates.push("en".into());
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

    async fn log(&self, record: &MessageRecord) {
        if let Err(e) = self.store.insert_message(record).await {
            tracing::error!(error = %e, message = %record.id, "could not record the message in the message log");
        }
    }
}

#[async_trait]
impl Notifier for Dispatcher {
    async fn channel_enabled(&self, channel: Channel) -> bool {
        !self.providers(channel).is_empty()
    }

    async fn deliver(&self, d: Delivery<'_>) -> Result<Delivered, DeliveryError> {
        let providers = self.providers(d.channel);
        if providers.is_empty() {
            return Err(DeliveryError::NoProvider(d.channel));
        }
        let template = self.template(d.channel, d.locale).await;
        let now = self.clock.now();
        let year = time::OffsetDateTime::from_unix_timestamp(now)
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
        let message_id = idgate_core::new_id();
        let msg = OutgoingMessage::new(
            message_id.clone(),
            d.channel,
            d.to.clone(),
            template.render(&ctx),
            d.code,
        );
        let mut record = MessageRecord {
            id: message_id.clone(),
            verification_id: Some(d.verification_id.to_string()),
            channel: d.channel,
            provider: String::new(),
            to_masked: d.to.masked(),
            body_redacted: template.render_redacted(&ctx),
            status: DeliveryStatus::Failed,
            provider_message_id: None,
            error: None,
            attempts: 0,
            latency_ms: None,
            created_at: now,
            updated_at: now,
        };
        let mut last_error = String::from("no provider was tried");
        for provider in providers {
            record.provider = provider.name().to_string();
            record.attempts += 1;
            match provider.send(&msg).await {
                Ok(receipt) => {
                    record.status = if provider.kind() == "dev-outbox" {
                        DeliveryStatus::Delivered
                    } else {
                        DeliveryStatus::Sent
                    };
                    record.provider_message_id = receipt.provider_message_id;
                    record.latency_ms = Some(receipt.latency_ms);
                    record.error = None;
                    record.updated_at = self.clock.now();
                    self.log(&record).await;
                    tracing::info!(message = %message_id, provider = %record.provider, channel = %d.channel, to = %d.to, "message sent");
                    return Ok(Delivered {
                        channel: d.channel,
                        message_id,
                        provider: record.provider,
                    });
                }
                Err(e) => {
                    tracing::warn!(message = %message_id, provider = %record.provider, reason = %e.reason, "provider failed");
                    last_error = format!("{}: {}", record.provider, e.reason);
                    record.error = Some(last_error.clone());
                }
            }
        }
        record.status = DeliveryStatus::Failed;
        record.updated_at = self.clock.now();
        self.log(&record).await;
        Err(DeliveryError::AllFailed {
            channel: d.channel,
            reason: last_error,
        })
    }
}
