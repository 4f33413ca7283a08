//! The custom provider's request: WSO2's "Custom SMS provider" payload template, made safe.
//!
//! Semantics are WSO2's so that templates from a WSO2 setup (and the D7 guide) paste
//! verbatim: in JSON mode a placeholder becomes a complete, quoted JSON string; in FORM
//! mode it becomes a form-encoded value. What WSO2 gets wrong is fixed here: values are
//! escaped (WSO2 breaks on a `"` in the text), unknown placeholders are refused instead of
//! sent as literal braces, and a JSON template that cannot produce valid JSON is refused
//! when it is saved — with the line and column in the operator's own text — not discovered
//! when a person is waiting for a code.

mod headers;
mod json_check;
mod url;

use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::placeholder::{self, Piece};

pub use headers::{parse_header_pairs, parse_headers};
pub use url::UrlTemplate;

/// The longest payload template accepted, in bytes.
pub const MAX_PAYLOAD_TEMPLATE_BYTES: usize = 64 * 1024;

/// How the payload is encoded and sent (WSO2's `contentType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContentType {
    /// `application/json`; placeholders become JSON string literals.
    #[serde(alias = "JSON")]
    Json,
    /// `application/x-www-form-urlencoded`; placeholders become form-encoded values.
    #[serde(alias = "FORM")]
    Form,
}

impl ContentType {
    /// Reads WSO2's `JSON`/`FORM` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Some(Self::Json),
            "form" => Some(Self::Form),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Form => "form",
        }
    }

    /// The `Content-Type` header value.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Form => "application/x-www-form-urlencoded",
        }
    }
}

/// A placeholder a payload or URL template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadPlaceholder {
    /// `{{mobile}}`: the recipient in E.164 (`+94771234567`).
    Mobile,
    /// `{{body}}`: the whole rendered message text (WSO2's meaning).
    Body,
    /// `{{otp}}`: the bare code, for gateways with a separate code field.
    Otp,
    /// `{{message-id}}`: idgate's message id, to correlate delivery reports.
    MessageId,
}

impl PayloadPlaceholder {
    pub const ALL: [PayloadPlaceholder; 4] = [Self::Mobile, Self::Body, Self::Otp, Self::MessageId];

    pub fn name(self) -> &'static str {
        match self {
            Self::Mobile => "mobile",
            Self::Body => "body",
            Self::Otp => "otp",
            Self::MessageId => "message-id",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

pub(crate) const KNOWN: [&str; 4] = ["mobile", "body", "otp", "message-id"];

pub(crate) const ALIASES: [(&str, &str); 16] = [
    ("to", "mobile"),
    ("phone", "mobile"),
    ("phone-number", "mobile"),
    ("number", "mobile"),
    ("recipient", "mobile"),
    ("msisdn", "mobile"),
    ("mobile-number", "mobile"),
    ("text", "body"),
    ("message", "body"),
    ("content", "body"),
    ("code", "otp"),
    ("confirmation-code", "otp"),
    ("otp-code", "otp"),
    ("id", "message-id"),
    ("msg-id", "message-id"),
    ("client-ref", "message-id"),
];

/// The values a payload is rendered with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PayloadValues<'a> {
    pub mobile: &'a str,
    pub body: &'a str,
    pub otp: &'a str,
    pub message_id: &'a str,
}

impl<'a> PayloadValues<'a> {
    fn get(&self, p: PayloadPlaceholder) -> &'a str {
        match p {
            PayloadPlaceholder::Mobile => self.mobile,
            PayloadPlaceholder::Body => self.body,
            PayloadPlaceholder::Otp => self.otp,
            PayloadPlaceholder::MessageId => self.message_id,
        }
    }
}

impl fmt::Debug for PayloadValues<'_> {
    /// Body and code are left out and the number masked: values formatted into a log
    /// line must not leak a code (WSO2 logs the whole payload at DEBUG).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayloadValues")
            .field("mobile", &idgate_core::phone::mask_for_logs(self.mobile))
            .field(
                "body",
                &format_args!("<{} chars>", self.body.chars().count()),
            )
            .field("otp", &"••••••")
            .field("message_id", &self.message_id)
            .finish()
    }
}

/// Values that exercise escaping: a quote, a backslash, a newline, non-ASCII.
pub(crate) const SAMPLE_TRICKY: PayloadValues<'static> = PayloadValues {
    mobile: "+94771234567",
    body: "Your code is 123456. A \"quote\", a \\ backslash,\na new line and ünïcödé ✓",
    otp: "123456",
    message_id: "0190b1e4-7c3a-7d2e-9f10-3c5a8e2b4d61",
};

/// Empty values: a template must also work when a value happens to be empty.
pub(crate) const SAMPLE_EMPTY: PayloadValues<'static> = PayloadValues {
    mobile: "",
    body: "",
    otp: "",
    message_id: "",
};

/// Why a payload, URL or header setting was refused. Each names what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the payload template is empty")]
    Empty,
    #[error("the payload template has {bytes} bytes; at most {max} are allowed")]
    TooLong { bytes: usize, max: usize },
    #[error(
        "unknown placeholder {{{{{name}}}}}{}; known placeholders: {}",
        placeholder::did_you_mean(.suggestion),
        placeholder::list(&KNOWN)
    )]
    UnknownPlaceholder {
        name: String,
        suggestion: Option<&'static str>,
    },
    #[error(
        "\"{found}\" is not a placeholder: write the name between double braces without spaces{}; known placeholders: {}",
        placeholder::did_you_mean(.suggestion),
        placeholder::list(&KNOWN)
    )]
    MalformedPlaceholder {
        found: String,
        suggestion: Option<&'static str>,
    },
    /// Line and column (1-based, column in characters) are in the operator's template.
    #[error(
        "the payload template does not produce valid JSON: {message} at line {line}, column {column}, near `{snippet}`{}",
        hint_suffix(.hint)
    )]
    InvalidJson {
        line: usize,
        column: usize,
        message: String,
        snippet: String,
        hint: Option<String>,
    },
    /// The URL itself is not repeated: its query may hold an API key.
    #[error("the provider URL is not valid: {reason}")]
    InvalidUrl { reason: String },
    #[error("the provider URL must start with http:// or https:// (its scheme is \"{scheme}\")")]
    UrlScheme {
        /// What stood before `://` (or before the first `:`), empty if nothing did.
        scheme: String,
    },
    #[error(
        "{{{{{name}}}}} is in the URL's host part; placeholders may only be used in the path and query"
    )]
    PlaceholderInHost { name: String },
    #[error("header entry {entry} ({shown}) is malformed: {reason}")]
    Header {
        /// 1-based position in the list.
        entry: usize,
        /// The header name, or the start of the entry when no name could be read (never
        /// the value: it is usually a token).
        shown: String,
        reason: String,
    },
}

fn hint_suffix(hint: &Option<String>) -> String {
    hint.as_ref().map(|h| format!(". {h}")).unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    Literal(Range<usize>),
    /// `range`: where `{{name}}` sits in the template text.
    Placeholder {
        placeholder: PayloadPlaceholder,
        range: Range<usize>,
    },
}

/// Scans `text` and resolves placeholder names (shared with [`UrlTemplate`]).
pub(crate) fn parse_parts(text: &str) -> Result<Vec<Part>, PayloadError> {
    let pieces = placeholder::scan(text).map_err(|miss| PayloadError::MalformedPlaceholder {
        suggestion: placeholder::suggest(&miss.inner, &KNOWN, &ALIASES),
        found: miss.found,
    })?;
    pieces
        .into_iter()
        .map(|piece| match piece {
            Piece::Literal(range) => Ok(Part::Literal(range)),
            Piece::Placeholder { range, name } => {
                let name = text.get(name).unwrap_or_default();
                let placeholder = PayloadPlaceholder::from_name(name).ok_or_else(|| {
                    PayloadError::UnknownPlaceholder {
                        name: name.to_string(),
                        suggestion: placeholder::suggest(name, &KNOWN, &ALIASES),
                    }
                })?;
                Ok(Part::Placeholder { placeholder, range })
            }
        })
        .collect()
}

/// A rendered piece, for mapping positions in the rendered text back to the template.
#[derive(Debug, Clone)]
pub(crate) struct Span {
    pub rendered: Range<usize>,
    pub template: Range<usize>,
    pub placeholder: Option<PayloadPlaceholder>,
}

/// A parsed, validated payload template.
#[derive(Clone, PartialEq, Eq)]
pub struct PayloadTemplate {
    text: String,
    content_type: ContentType,
    parts: Vec<Part>,
}

impl PayloadTemplate {
    /// Parses an operator's template. JSON templates are rendered with sample values and
    /// parsed, so one that cannot produce valid JSON is refused here, with its position.
    /// FORM templates are trimmed: a trailing newline from a text box would otherwise end
    /// up in the last value.
    pub fn parse(text: &str, content_type: ContentType) -> Result<Self, PayloadError> {
        let text = match content_type {
            ContentType::Json => text,
            ContentType::Form => text.trim(),
        };
        if text.trim().is_empty() {
            return Err(PayloadError::Empty);
        }
        if text.len() > MAX_PAYLOAD_TEMPLATE_BYTES {
            return Err(PayloadError::TooLong {
                bytes: text.len(),
                max: MAX_PAYLOAD_TEMPLATE_BYTES,
            });
        }
        let template = Self {
            text: text.to_string(),
            content_type,
            parts: parse_parts(text)?,
        };
        if content_type == ContentType::Json {
            for sample in [SAMPLE_TRICKY, SAMPLE_EMPTY] {
                let (rendered, spans) = template.render_mapped(&sample);
                json_check::check(&template.text, &rendered, &spans)?;
            }
        }
        Ok(template)
    }

    /// The template as the operator wrote it (FORM: trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn content_type(&self) -> ContentType {
        self.content_type
    }

    /// Whether the template uses a placeholder (a template without `{{mobile}}` only
    /// makes sense if the URL carries it).
    pub fn uses(&self, p: PayloadPlaceholder) -> bool {
        self.parts
            .iter()
            .any(|part| matches!(part, Part::Placeholder { placeholder, .. } if *placeholder == p))
    }

    /// The request body. The result holds the code: send it, never log it.
    pub fn render(&self, values: &PayloadValues<'_>) -> String {
        self.render_mapped(values).0
    }

    fn render_mapped(&self, values: &PayloadValues<'_>) -> (String, Vec<Span>) {
        let mut out = String::with_capacity(self.text.len() + 256);
        let mut spans = Vec::with_capacity(self.parts.len());
        for part in &self.parts {
            let start = out.len();
            let (template, placeholder) = match part {
                Part::Literal(range) => {
                    out.push_str(self.text.get(range.clone()).unwrap_or_default());
                    (range.clone(), None)
                }
                Part::Placeholder { placeholder, range } => {
                    let value = values.get(*placeholder);
                    match self.content_type {
                        ContentType::Json => out.push_str(&json_string(value)),
                        ContentType::Form => {
                            out.extend(form_urlencoded::byte_serialize(value.as_bytes()))
                        }
                    }
                    (range.clone(), Some(*placeholder))
                }
            };
            spans.push(Span {
                rendered: start..out.len(),
                template,
                placeholder,
            });
        }
        (out, spans)
    }
}

/// `value` as a quoted, escaped JSON string literal.
fn json_string(value: &str) -> String {
    // Serialising a `str` cannot fail; the fallback keeps the output valid JSON anyway.
    serde_json::to_string(value).unwrap_or_else(|_| "\"\"".to_string())
}

impl fmt::Debug for PayloadTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayloadTemplate")
            .field("content_type", &self.content_type)
            .field("text", &self.text)
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
