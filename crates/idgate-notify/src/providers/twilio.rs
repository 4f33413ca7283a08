//! `twilio`: Twilio's Messages API (form body, HTTP Basic with the account SID and auth
//! token). WhatsApp goes through the same API with `whatsapp:` addresses.

use async_trait::async_trait;
use idgate_core::otp::Channel;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{FieldError, TWILIO_BASE_URL, check_base_url, check_timeout, require};
use crate::http_client::{self, Body, HttpRequest};
use crate::provider::{OutgoingMessage, Provider, SendError, SendReceipt};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioSettings {
    pub account_sid: String,
    /// The sending number (E.164) or alphanumeric sender; or use `messaging_service_sid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_service_sid: Option<String>,
    #[serde(default = "default_base")]
    pub base_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

fn default_base() -> String {
    TWILIO_BASE_URL.to_string()
}

impl TwilioSettings {
    pub(crate) fn validated(mut self) -> Result<Self, FieldError> {
        self.account_sid = require("settings.account_sid", &self.account_sid, "the account SID")?;
        if !self.account_sid.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(FieldError::new(
                "settings.account_sid",
                "must be letters and digits (AC…)",
            ));
        }
        self.from = self
            .from
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        self.messaging_service_sid = self
            .messaging_service_sid
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        if self.from.is_none() && self.messaging_service_sid.is_none() {
            return Err(FieldError::new(
                "settings.from",
                "set the sending number (from) or a messaging_service_sid",
            ));
        }
        self.base_url = check_base_url("settings.base_url", &self.base_url)?;
        self.timeout_ms = check_timeout(self.timeout_ms)?;
        Ok(self)
    }
}

pub struct TwilioProvider {
    name: String,
    settings: TwilioSettings,
    token: SecretString,
    status_callback: Option<String>,
    client: reqwest::Client,
}

impl TwilioProvider {
    pub fn new(
        name: &str,
        settings: TwilioSettings,
        token: SecretString,
        report_url: Option<String>,
        client: reqwest::Client,
    ) -> Self {
        // The D7-style report URL is rewritten to the Twilio hook of the same provider.
        let status_callback = report_url.map(|u| u.replacen("/hooks/d7/", "/hooks/twilio/", 1));
        Self {
            name: name.to_string(),
            settings,
            token,
            status_callback,
            client,
        }
    }
}

#[async_trait]
impl Provider for TwilioProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "twilio"
    }

    async fn send(&self, msg: &OutgoingMessage) -> Result<SendReceipt, SendError> {
        let prefix = if msg.channel == Channel::Whatsapp {
            "whatsapp:"
        } else {
            ""
        };
        // Built in a block: the serializer is not `Send` and must not live across an await.
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("To", &format!("{prefix}{}", msg.to.as_str()));
            match (&self.settings.messaging_service_sid, &self.settings.from) {
                (Some(sid), _) => form.append_pair("MessagingServiceSid", sid),
                (None, Some(from)) => form.append_pair("From", &format!("{prefix}{from}")),
                (None, None) => return Err(SendError::permanent("no sender configured")),
            };
            form.append_pair("Body", &msg.text);
            if let Some(cb) = &self.status_callback {
                form.append_pair("StatusCallback", cb);
            }
            form.finish()
        };
        let req = HttpRequest {
            method: Method::POST,
            url: format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                self.settings.base_url, self.settings.account_sid
            ),
            headers: vec![],
            basic_auth: Some((
                self.settings.account_sid.clone(),
                self.token.expose_secret().to_string(),
            )),
            body: Body::Form(body),
        };
        let answer = http_client::send(&self.client, req).await?;
        let json = answer.json();
        if answer.is_success() {
            return match json
                .as_ref()
                .and_then(|j| j.get("sid"))
                .and_then(Value::as_str)
            {
                Some(sid) => Ok(SendReceipt {
                    provider_message_id: Some(sid.to_string()),
                    http_status: Some(answer.status),
                    latency_ms: answer.latency_ms,
                }),
                None => Err(SendError::ambiguous(format!(
                    "Twilio answered {} without a message sid",
                    answer.status
                ))
                .with_status(answer.status)),
            };
        }
        let code = json
            .as_ref()
            .and_then(|j| j.get("code"))
            .map(Value::to_string);
        let message = json
            .as_ref()
            .and_then(|j| j.get("message"))
            .and_then(Value::as_str)
            .unwrap_or(answer.body.trim());
        let reason = match code {
            Some(c) => format!("Twilio answered {} (error {c}): {message}", answer.status),
            None => format!("Twilio answered {}: {message}", answer.status),
        };
        Err(SendError::from_status(answer.status, reason).scrubbed(msg))
    }
}
