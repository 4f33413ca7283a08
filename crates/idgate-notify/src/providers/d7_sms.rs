//! `d7-sms`: D7's `/messages/v1/send`, built from D7's documented body (no template to get
//! wrong). The delivery report comes back to idgate's webhook through `report_url`.

use async_trait::async_trait;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{D7_BASE_URL, FieldError, check_base_url, check_timeout, d7, require};
use crate::http_client::{self, Body, HttpRequest};
use crate::provider::{OutgoingMessage, Provider, SendError, SendReceipt};

/// D7's `data_coding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataCoding {
    /// D7 picks GSM 03.38 or Unicode from the text.
    #[default]
    Auto,
    Text,
    Unicode,
}

impl DataCoding {
    fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Text => "text",
            Self::Unicode => "unicode",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct D7SmsSettings {
    /// A registered sender id (≤ 11 characters) or a number with country code.
    pub originator: String,
    #[serde(default)]
    pub data_coding: DataCoding,
    #[serde(default = "default_base")]
    pub base_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

fn default_base() -> String {
    D7_BASE_URL.to_string()
}

impl D7SmsSettings {
    pub(crate) fn validated(mut self) -> Result<Self, FieldError> {
        self.originator = check_originator(&self.originator)?;
        self.base_url = check_base_url("settings.base_url", &self.base_url)?;
        self.timeout_ms = check_timeout(self.timeout_ms)?;
        Ok(self)
    }
}

/// D7: a sender id of at most 11 letters/digits/spaces, or a phone number.
pub(crate) fn check_originator(o: &str) -> Result<String, FieldError> {
    let o = require("settings.originator", o, "the originator (sender id)")?;
    let digits = o.strip_prefix('+').unwrap_or(&o);
    let is_number = (6..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit());
    let is_sender_id = o.chars().count() <= 11
        && o.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-' || c == '.');
    if is_number || is_sender_id {
        Ok(o)
    } else {
        Err(FieldError::new(
            "settings.originator",
            "must be a registered sender id of at most 11 letters and digits, or a number with country code",
        ))
    }
}

pub struct D7SmsProvider {
    name: String,
    settings: D7SmsSettings,
    token: SecretString,
    report_url: Option<String>,
    client: reqwest::Client,
}

impl D7SmsProvider {
    pub fn new(
        name: &str,
        settings: D7SmsSettings,
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

    /// D7's documented body. `client_ref` carries idgate's message id.
    pub fn body(&self, msg: &OutgoingMessage) -> serde_json::Value {
        let mut m = json!({
            "channel": "sms",
            "recipients": [msg.to.as_str()],
            "content": msg.text,
            "msg_type": "text",
            "data_coding": self.settings.data_coding.as_str(),
            "originator": self.settings.originator,
            "client_ref": msg.message_id,
        });
        if let Some(url) = &self.report_url {
            m["report_url"] = json!(url);
        }
        json!({ "messages": [m] })
    }
}

#[async_trait]
impl Provider for D7SmsProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "d7-sms"
    }

    async fn send(&self, msg: &OutgoingMessage) -> Result<SendReceipt, SendError> {
        let req = HttpRequest {
            method: Method::POST,
            url: format!("{}/messages/v1/send", self.settings.base_url),
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
