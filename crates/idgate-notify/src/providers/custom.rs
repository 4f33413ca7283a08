//! `custom`: WSO2's "Custom SMS provider" — any HTTP gateway, through a URL, a method, a
//! content type, headers and a payload template — plus `GET` with a URL template, which
//! WSO2 lacks. Headers are secrets (they usually carry the gateway's token).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{FieldError, check_timeout, d7};
use crate::http_client::{self, Body, HttpRequest};
use crate::payload_template::{
    ContentType, PayloadPlaceholder, PayloadTemplate, UrlTemplate, parse_header_pairs,
    parse_headers,
};
use crate::provider::{OutgoingMessage, Provider, SendError, SendReceipt};
use crate::secrets::{ProviderSecrets, SIGNING_SECRET};
use crate::signatures::{self, StandardWebhookSigner};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Method {
    #[default]
    #[serde(rename = "POST", alias = "post")]
    Post,
    #[serde(rename = "PUT", alias = "put")]
    Put,
    #[serde(rename = "GET", alias = "get")]
    Get,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Get => "GET",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "POST" => Some(Self::Post),
            "PUT" => Some(Self::Put),
            "GET" => Some(Self::Get),
            _ => None,
        }
    }
}

fn default_content_type() -> ContentType {
    ContentType::Json
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomSettings {
    /// http(s); may carry `{{mobile}}`, `{{body}}`, `{{otp}}`, `{{message-id}}` in path
    /// and query.
    pub url: String,
    #[serde(default)]
    pub method: Method,
    #[serde(default = "default_content_type")]
    pub content_type: ContentType,
    /// Required for POST and PUT; not allowed for GET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_template: Option<String>,
    /// A JSON pointer (`/request_id`) to the gateway's message id in its answer. When
    /// set, a 2xx answer without it is a failure; unset, common fields are looked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id_pointer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Sign every request the Standard Webhooks way (`webhook-id`, `webhook-timestamp`,
    /// `webhook-signature`) with `secrets.signing_secret` (generated when not given).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sign_requests: bool,
}

impl CustomSettings {
    pub(crate) fn validated(
        mut self,
        _channel: idgate_core::otp::Channel,
        secrets: &ProviderSecrets,
    ) -> Result<Self, FieldError> {
        let url = UrlTemplate::parse(&self.url)
            .map_err(|e| FieldError::new("settings.url", e.to_string()))?;
        self.url = url.as_str().to_string();
        let template = match (self.method, &self.payload_template) {
            (Method::Get, Some(t)) if !t.trim().is_empty() => {
                return Err(FieldError::new(
                    "settings.payload_template",
                    "a GET request has no body: put the placeholders in the URL's query",
                ));
            }
            (Method::Get, _) => {
                self.payload_template = None;
                None
            }
            (_, None) => {
                return Err(FieldError::new(
                    "settings.payload_template",
                    format!(
                        "a {} request needs a payload template",
                        self.method.as_str()
                    ),
                ));
            }
            (_, Some(t)) => Some(
                PayloadTemplate::parse(t, self.content_type)
                    .map_err(|e| FieldError::new("settings.payload_template", e.to_string()))?,
            ),
        };
        let uses = |p| url.uses(p) || template.as_ref().is_some_and(|t| t.uses(p));
        if !uses(PayloadPlaceholder::Mobile) {
            return Err(FieldError::new(
                if template.is_some() {
                    "settings.payload_template"
                } else {
                    "settings.url"
                },
                "the request never names the recipient: use {{mobile}}",
            ));
        }
        if !uses(PayloadPlaceholder::Body) && !uses(PayloadPlaceholder::Otp) {
            return Err(FieldError::new(
                if template.is_some() {
                    "settings.payload_template"
                } else {
                    "settings.url"
                },
                "the request never carries the message: use {{body}} (or {{otp}})",
            ));
        }
        if let Some(p) = &self.message_id_pointer
            && !(p.is_empty() || p.starts_with('/'))
        {
            return Err(FieldError::new(
                "settings.message_id_pointer",
                "must be a JSON pointer such as /request_id or /messages/0/id",
            ));
        }
        headers(secrets)?;
        if let Some(secret) = secrets.get(SIGNING_SECRET) {
            signatures::signing_key(secret)
                .map_err(|e| FieldError::new("secrets.signing_secret", e))?;
        }
        self.timeout_ms = check_timeout(self.timeout_ms)?;
        Ok(self)
    }
}

/// The headers secret: WSO2's comma string, or a JSON list of `{name, value}`.
pub(crate) fn headers(secrets: &ProviderSecrets) -> Result<Vec<(String, String)>, FieldError> {
    let Some(raw) = secrets.get("headers") else {
        return Ok(Vec::new());
    };
    let field = |e: crate::payload_template::PayloadError| {
        FieldError::new("secrets.headers", e.to_string())
    };
    if raw.trim_start().starts_with('[') {
        let list: Vec<HeaderPair> = serde_json::from_str(raw).map_err(|_| {
            FieldError::new(
                "secrets.headers",
                "must be \"Name: value, Name2: value2\" or a list of {\"name\", \"value\"}",
            )
        })?;
        parse_header_pairs(list.into_iter().map(|h| (h.name, h.value))).map_err(field)
    } else {
        parse_headers(raw).map_err(field)
    }
}

#[derive(Deserialize, Serialize)]
pub(crate) struct HeaderPair {
    pub name: String,
    pub value: String,
}

pub struct CustomProvider {
    name: String,
    settings: CustomSettings,
    url: UrlTemplate,
    template: Option<PayloadTemplate>,
    headers: Vec<(String, String)>,
    signer: Option<StandardWebhookSigner>,
    client: reqwest::Client,
}

impl CustomProvider {
    pub fn new(
        name: &str,
        settings: CustomSettings,
        secrets: &ProviderSecrets,
        client: reqwest::Client,
    ) -> Result<Self, FieldError> {
        let url = UrlTemplate::parse(&settings.url)
            .map_err(|e| FieldError::new("settings.url", e.to_string()))?;
        let template = settings
            .payload_template
            .as_deref()
            .map(|t| PayloadTemplate::parse(t, settings.content_type))
            .transpose()
            .map_err(|e| FieldError::new("settings.payload_template", e.to_string()))?;
        let signer = if settings.sign_requests {
            let secret = secrets.get(SIGNING_SECRET).ok_or_else(|| {
                FieldError::new(
                    "secrets.signing_secret",
                    "sign_requests is on but no signing secret is stored; save the provider again to have one generated",
                )
            })?;
            Some(
                StandardWebhookSigner::new(secret)
                    .map_err(|e| FieldError::new("secrets.signing_secret", e))?,
            )
        } else {
            None
        };
        Ok(Self {
            name: name.to_string(),
            headers: headers(secrets)?,
            signer,
            settings,
            url,
            template,
            client,
        })
    }

    /// The request for `msg` (tests use it to see what would be sent).
    pub fn request(&self, msg: &OutgoingMessage) -> HttpRequest {
        let values = msg.payload_values();
        let body = match &self.template {
            None => Body::None,
            Some(t) => match t.content_type() {
                ContentType::Json => Body::Json(t.render(&values)),
                ContentType::Form => Body::Form(t.render(&values)),
            },
        };
        let method = match self.settings.method {
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Get => reqwest::Method::GET,
        };
        HttpRequest {
            method,
            url: self.url.render(&values),
            headers: self.headers.clone(),
            basic_auth: None,
            body,
        }
    }

    fn message_id(&self, json: Option<&Value>) -> Result<Option<String>, ()> {
        let as_id = |v: &Value| match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        match self
            .settings
            .message_id_pointer
            .as_deref()
            .filter(|p| !p.is_empty())
        {
            Some(p) => json
                .and_then(|j| j.pointer(p))
                .and_then(as_id)
                .map(Some)
                .ok_or(()),
            None => Ok(json.and_then(|j| {
                [
                    "/request_id",
                    "/message_id",
                    "/messageId",
                    "/id",
                    "/sid",
                    "/messages/0/message-id",
                    "/messages/0/id",
                ]
                .iter()
                .find_map(|p| j.pointer(p).and_then(as_id))
            })),
        }
    }
}

#[async_trait]
impl Provider for CustomProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "custom"
    }

    async fn send(&self, msg: &OutgoingMessage) -> Result<SendReceipt, SendError> {
        let mut req = self.request(msg);
        if let Some(signer) = &self.signer {
            let body = match &req.body {
                Body::None => "",
                Body::Json(b) | Body::Form(b) => b.as_str(),
            };
            // The gateway compares the timestamp with its own clock: wall time, not
            // the server's (test-movable) clock.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                .unwrap_or_default();
            let signed = signer.headers(now, body.as_bytes()).map_err(|_| {
                SendError::retryable("the request could not be signed (no randomness)")
            })?;
            req.headers.extend(signed);
        }
        let answer = http_client::send(&self.client, req).await?;
        let json = answer.json();
        if answer.is_success() {
            return match self.message_id(json.as_ref()) {
                Ok(id) => Ok(SendReceipt {
                    provider_message_id: id,
                    http_status: Some(answer.status),
                    latency_ms: answer.latency_ms,
                }),
                Err(()) => Err(SendError::ambiguous(format!(
                    "the gateway answered {} without a message id at {}",
                    answer.status,
                    self.settings
                        .message_id_pointer
                        .as_deref()
                        .unwrap_or_default()
                ))
                .with_status(answer.status)),
            };
        }
        let reason = if json.as_ref().is_some_and(|j| j.get("detail").is_some()) {
            d7::reason(answer.status, json.as_ref(), &answer.body)
        } else if answer.body.trim().is_empty() {
            format!("the gateway answered {}", answer.status)
        } else {
            format!(
                "the gateway answered {}: {}",
                answer.status,
                answer.body.trim()
            )
        };
        Err(SendError::from_status(answer.status, reason).scrubbed(msg))
    }
}
