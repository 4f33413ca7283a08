//! `vonage`: Vonage's (Nexmo's) SMS API. It answers 200 even for refusals: the verdict is
//! the per-message `status` (`"0"` = accepted, `"1"` = throttled, anything else refused).
//! Each message names idgate's delivery-receipt webhook in `callback`
//! (`/hooks/vonage/<id>/<secret>`); the receipt's `messageId` is the `message-id` kept
//! from the answer.

use async_trait::async_trait;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{FieldError, VONAGE_BASE_URL, check_base_url, check_timeout, require};
use crate::http_client::{self, Body, HttpRequest};
use crate::message_template::{Encoding, segments};
use crate::provider::{OutgoingMessage, Provider, SendError, SendReceipt};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VonageSettings {
    pub api_key: String,
    /// Sender id or number.
    pub from: String,
    #[serde(default = "default_base")]
    pub base_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

fn default_base() -> String {
    VONAGE_BASE_URL.to_string()
}

impl VonageSettings {
    pub(crate) fn validated(mut self) -> Result<Self, FieldError> {
        self.api_key = require("settings.api_key", &self.api_key, "the API key")?;
        self.from = require("settings.from", &self.from, "the sender (from)")?;
        self.base_url = check_base_url("settings.base_url", &self.base_url)?;
        self.timeout_ms = check_timeout(self.timeout_ms)?;
        Ok(self)
    }
}

pub struct VonageProvider {
    name: String,
    settings: VonageSettings,
    secret: SecretString,
    callback: Option<String>,
    client: reqwest::Client,
}

impl VonageProvider {
    pub fn new(
        name: &str,
        settings: VonageSettings,
        secret: SecretString,
        report_url: Option<String>,
        client: reqwest::Client,
    ) -> Self {
        // The D7-style report URL is rewritten to the Vonage hook of the same provider.
        let callback = report_url.map(|u| u.replacen("/hooks/d7/", "/hooks/vonage/", 1));
        Self {
            name: name.to_string(),
            settings,
            secret,
            callback,
            client,
        }
    }
}

#[async_trait]
impl Provider for VonageProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "vonage"
    }

    async fn send(&self, msg: &OutgoingMessage) -> Result<SendReceipt, SendError> {
        // Built in a block: the serializer is not `Send` and must not live across an await.
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("api_key", &self.settings.api_key);
            form.append_pair("api_secret", self.secret.expose_secret());
            form.append_pair("from", &self.settings.from);
            form.append_pair("to", msg.to.as_str().trim_start_matches('+'));
            form.append_pair("text", &msg.text);
            form.append_pair("client-ref", &msg.message_id);
            if let Some(cb) = &self.callback {
                form.append_pair("callback", cb);
            }
            if segments(&msg.text).encoding == Encoding::Ucs2 {
                form.append_pair("type", "unicode");
            }
            form.finish()
        };
        let req = HttpRequest {
            method: Method::POST,
            url: format!("{}/sms/json", self.settings.base_url),
            headers: vec![],
            basic_auth: None,
            body: Body::Form(body),
        };
        let answer = http_client::send(&self.client, req).await?;
        if !answer.is_success() {
            return Err(SendError::from_status(
                answer.status,
                format!("Vonage answered {}: {}", answer.status, answer.body.trim()),
            )
            .scrubbed(msg));
        }
        let first = answer
            .json()
            .and_then(|j| j.get("messages").and_then(|m| m.get(0)).cloned())
            .unwrap_or(Value::Null);
        let status = first.get("status").and_then(Value::as_str).unwrap_or("");
        match status {
            "0" => Ok(SendReceipt {
                provider_message_id: first
                    .get("message-id")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                http_status: Some(answer.status),
                latency_ms: answer.latency_ms,
            }),
            "" => Err(SendError::ambiguous(
                "Vonage answered without a message status",
            )),
            s => {
                let text = first
                    .get("error-text")
                    .and_then(Value::as_str)
                    .unwrap_or("refused");
                let reason = format!("Vonage status {s}: {text}");
                let e = if s == "1" {
                    SendError::retryable(reason)
                } else {
                    SendError::permanent(reason)
                };
                Err(e.with_status(answer.status).scrubbed(msg))
            }
        }
    }
}
