//! `d7-whatsapp`: D7's `/whatsapp/v2/send` with a Meta-approved authentication template
//! whose URL button carries the code (`action_payload`, at most 15 characters).

use async_trait::async_trait;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::d7_sms::check_originator;
use super::{D7_BASE_URL, FieldError, check_base_url, check_timeout, d7, require};
use crate::http_client::{self, Body, HttpRequest};
use crate::provider::{OutgoingMessage, Provider, SendError, SendReceipt};

/// D7 refuses a longer `action_payload`.
pub const MAX_ACTION_PAYLOAD_CHARS: usize = 15;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct D7WhatsappSettings {
    /// The WhatsApp Business number approved by Meta.
    pub originator: String,
    /// The authentication template registered in the D7 dashboard.
    pub template_id: String,
    #[serde(default = "default_language")]
    pub language: String,
    #[serde(default = "default_base")]
    pub base_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

fn default_language() -> String {
    "en".into()
}

fn default_base() -> String {
    D7_BASE_URL.to_string()
}

impl D7WhatsappSettings {
    pub(crate) fn validated(mut self) -> Result<Self, FieldError> {
        self.originator = check_originator(&self.originator)?;
        self.template_id = require("settings.template_id", &self.template_id, "the template id")?;
        self.language = require("settings.language", &self.language, "the template language")?;
        self.base_url = check_base_url("settings.base_url", &self.base_url)?;
        self.timeout_ms = check_timeout(self.timeout_ms)?;
        Ok(self)
    }
}

pub struct D7WhatsappProvider {
    name: String,
    settings: D7WhatsappSettings,
    token: SecretString,
    report_url: Option<String>,
    client: reqwest::Client,
}

impl D7WhatsappProvider {
    pub fn new(
        name: &str,
        settings: D7WhatsappSettings,
        token: SecretString,
        report_url: Option<String>,
        client: reqwest::Client,
    ) -> Self {
        Self {
            name: name.to_string(),
            settings,
            token,
            report_url,
            client,
        }
    }

    pub fn body(&self, msg: &OutgoingMessage) -> serde_json::Value {
        let mut m = json!({
            "originator": self.settings.originator,
            "content": {
                "message_type": "TEMPLATE",
                "template": {
                    "template_id": self.settings.template_id,
                    "language": self.settings.language,
                    "buttons": {"actions": [{
                        "action_index": "0",
                        "action_type": "url",
                        "action_payload": msg.code.expose_secret(),
                    }]}
                }
            },
            "recipients": [{"recipient": msg.to.as_str(), "recipient_type": "individual"}],
            "client_ref": msg.message_id,
        });
        if let Some(url) = &self.report_url {
            m["report_url"] = json!(url);
        }
        json!({ "messages": [m] })
    }
}

#[async_trait]
impl Provider for D7WhatsappProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "d7-whatsapp"
    }

    async fn send(&self, msg: &OutgoingMessage) -> Result<SendReceipt, SendError> {
        let len = msg.code.expose_secret().chars().count();
        if len == 0 || len > MAX_ACTION_PAYLOAD_CHARS {
            return Err(SendError::permanent(format!(
                "a WhatsApp authentication template carries a code of 1–{MAX_ACTION_PAYLOAD_CHARS} characters; this code has {len}"
            )));
        }
        let req = HttpRequest {
            method: Method::POST,
            url: format!("{}/whatsapp/v2/send", self.settings.base_url),
            headers: vec![(
                "Authorization".into(),
                format!("Bearer {}", self.token.expose_secret()),
            )],
            basic_auth: None,
            body: Body::Json(self.body(msg).to_string()),
        };
        let answer = http_client::send(&self.client, req).await?;
        d7::outcome(&answer, msg)
    }
}
