//! Message texts: what the person's phone shows, per channel and locale.
//!
//! Operators edit these texts, so they are parsed once (at save or start) and every
//! mistake is refused with a message that names it — WSO2 leaves an unknown placeholder in
//! the SMS as literal `{{…}}` text and truncates the expiry to "0 minutes"; idgate does
//! neither. Placeholders are WSO2's, so texts copied from a WSO2 setup keep working.

mod catalog;
mod segments;

use std::fmt;
use std::ops::Range;

use idgate_core::otp::Channel;
use serde::{Deserialize, Serialize};

use crate::placeholder::{self, Piece};

pub use catalog::{DEFAULT_LOCALE, TemplateCatalog, normalise_locale};
pub use segments::{Encoding, SegmentInfo, segments};

/// The longest template accepted, in characters: ten GSM-7 parts. A longer text is a
/// mistake (or a pasted document) and would be billed per part.
pub const MAX_TEMPLATE_CHARS: usize = 1600;

/// What replaces the code in texts kept for the message log.
pub const REDACTED_CODE: &str = "••••••";

/// WSO2's default SMS OTP text (template type `SMSOTP`, locale `en_US`), word for word.
pub const DEFAULT_SMS_TEXT: &str = "Your one-time password for the {{application-name}} is {{confirmation-code}}. This expires in {{otp-expiry-time}} minutes.";

/// WhatsApp authentication templates (D7, Meta) carry only the code — at most 15
/// characters — and Meta supplies the surrounding words, so the text is the code alone.
pub const DEFAULT_WHATSAPP_TEXT: &str = "{{confirmation-code}}";

/// A placeholder a message text may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessagePlaceholder {
    ConfirmationCode,
    OtpExpiryTime,
    ApplicationName,
    UserName,
    OrganizationName,
    CurrentYear,
}

impl MessagePlaceholder {
    pub const ALL: [MessagePlaceholder; 6] = [
        Self::ConfirmationCode,
        Self::OtpExpiryTime,
        Self::ApplicationName,
        Self::UserName,
        Self::OrganizationName,
        Self::CurrentYear,
    ];

    /// The name between the braces.
    pub fn name(self) -> &'static str {
        match self {
            Self::ConfirmationCode => "confirmation-code",
            Self::OtpExpiryTime => "otp-expiry-time",
            Self::ApplicationName => "application-name",
            Self::UserName => "user-name",
            Self::OrganizationName => "organization-name",
            Self::CurrentYear => "current-year",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

const KNOWN: [&str; 6] = [
    "confirmation-code",
    "otp-expiry-time",
    "application-name",
    "user-name",
    "organization-name",
    "current-year",
];

/// Names people reach for, mapped to the placeholder they meant (for error hints only).
const ALIASES: [(&str, &str); 14] = [
    ("code", "confirmation-code"),
    ("otp", "confirmation-code"),
    ("otp-code", "confirmation-code"),
    ("pin", "confirmation-code"),
    ("body", "confirmation-code"),
    ("expiry", "otp-expiry-time"),
    ("expiry-time", "otp-expiry-time"),
    ("expiry-minutes", "otp-expiry-time"),
    ("app", "application-name"),
    ("app-name", "application-name"),
    ("user", "user-name"),
    ("org", "organization-name"),
    ("tenant-name", "organization-name"),
    ("year", "current-year"),
];

/// Why a message text was refused. Each names what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("the message text is empty")]
    Empty,
    #[error("the message text has {chars} characters; at most {max} are allowed")]
    TooLong { chars: usize, max: usize },
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
    #[error(
        "the message text must contain {{{{confirmation-code}}}}: a code message without the code is useless"
    )]
    MissingCode,
    #[error(
        "\"{0}\" is not a locale: write a language code, optionally with a region (en, en-US, si-LK)"
    )]
    BadLocale(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(Range<usize>),
    Placeholder(MessagePlaceholder),
}

/// A parsed, valid message text. Serialises as its text.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MessageTemplate {
    text: String,
    parts: Vec<Part>,
}

/// The values a message text is rendered with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MessageContext<'a> {
    /// The one-time code itself.
    pub code: &'a str,
    /// Minutes until the code expires, already rounded up and never 0
    /// ([`idgate_core::otp::OtpPolicy::expiry_minutes`]).
    pub expiry_minutes: u32,
    pub application_name: &'a str,
    pub user_name: &'a str,
    pub organization_name: &'a str,
    pub current_year: i32,
}

impl MessageContext<'static> {
    /// Values for previews in the console ("what will the phone show?").
    pub fn sample() -> Self {
        Self {
            code: "123456",
            expiry_minutes: 5,
            application_name: "Example App",
            user_name: "alice",
            organization_name: "Example Org",
            current_year: 2025,
        }
    }
}

impl fmt::Debug for MessageContext<'_> {
    /// The code is left out: a context formatted into a log line must not leak it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageContext")
            .field("code", &REDACTED_CODE)
            .field("expiry_minutes", &self.expiry_minutes)
            .field("application_name", &self.application_name)
            .field("user_name", &self.user_name)
            .field("organization_name", &self.organization_name)
            .field("current_year", &self.current_year)
            .finish()
    }
}

impl MessageTemplate {
    /// Parses an operator's text. Refuses empty texts, texts over [`MAX_TEMPLATE_CHARS`],
    /// unknown or malformed placeholders, and texts without `{{confirmation-code}}`.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        if text.trim().is_empty() {
            return Err(TemplateError::Empty);
        }
        let chars = text.chars().count();
        if chars > MAX_TEMPLATE_CHARS {
            return Err(TemplateError::TooLong {
                chars,
                max: MAX_TEMPLATE_CHARS,
            });
        }
        let pieces =
            placeholder::scan(text).map_err(|miss| TemplateError::MalformedPlaceholder {
                suggestion: placeholder::suggest(&miss.inner, &KNOWN, &ALIASES),
                found: miss.found,
            })?;
        let mut parts = Vec::with_capacity(pieces.len());
        for piece in pieces {
            parts.push(match piece {
                Piece::Literal(range) => Part::Literal(range),
                Piece::Placeholder { name, .. } => {
                    let name = text.get(name).unwrap_or_default();
                    let p = MessagePlaceholder::from_name(name).ok_or_else(|| {
                        TemplateError::UnknownPlaceholder {
                            name: name.to_string(),
                            suggestion: placeholder::suggest(name, &KNOWN, &ALIASES),
                        }
                    })?;
                    Part::Placeholder(p)
                }
            });
        }
        if !parts.contains(&Part::Placeholder(MessagePlaceholder::ConfirmationCode)) {
            return Err(TemplateError::MissingCode);
        }
        Ok(Self {
            text: text.to_string(),
            parts,
        })
    }

    /// The text as the operator wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the text is the code and nothing else (what WhatsApp authentication
    /// templates require).
    pub fn is_code_only(&self) -> bool {
        self.parts == [Part::Placeholder(MessagePlaceholder::ConfirmationCode)]
    }

    /// Whether the text uses a placeholder.
    pub fn uses(&self, p: MessagePlaceholder) -> bool {
        self.parts.contains(&Part::Placeholder(p))
    }

    /// The text with every placeholder replaced. Values are inserted once, never
    /// re-scanned: an application called `{{confirmation-code}}` stays that name.
    pub fn render(&self, ctx: &MessageContext<'_>) -> String {
        self.render_with(ctx, ctx.code)
    }

    /// The same text with the code replaced by [`REDACTED_CODE`], for the message log
    /// (which must never hold a code).
    pub fn render_redacted(&self, ctx: &MessageContext<'_>) -> String {
        self.render_with(ctx, REDACTED_CODE)
    }

    fn render_with(&self, ctx: &MessageContext<'_>, code: &str) -> String {
        let mut out = String::with_capacity(self.text.len() + 32);
        for part in &self.parts {
            match part {
                Part::Literal(range) => out.push_str(self.text.get(range.clone()).unwrap_or("")),
                Part::Placeholder(p) => match p {
                    MessagePlaceholder::ConfirmationCode => out.push_str(code),
                    MessagePlaceholder::OtpExpiryTime => {
                        out.push_str(&ctx.expiry_minutes.to_string())
                    }
                    MessagePlaceholder::ApplicationName => out.push_str(ctx.application_name),
                    MessagePlaceholder::UserName => out.push_str(ctx.user_name),
                    MessagePlaceholder::OrganizationName => out.push_str(ctx.organization_name),
                    MessagePlaceholder::CurrentYear => out.push_str(&ctx.current_year.to_string()),
                },
            }
        }
        out
    }

    /// The text alone, `{{confirmation-code}}`, built without parsing.
    fn code_only() -> Self {
        Self {
            text: DEFAULT_WHATSAPP_TEXT.to_string(),
            parts: vec![Part::Placeholder(MessagePlaceholder::ConfirmationCode)],
        }
    }
}

/// The built-in text for a channel: WSO2's SMS text, or the code alone for WhatsApp.
pub fn default_template(channel: Channel) -> MessageTemplate {
    match channel {
        // The constant parses (tested); the fallback only keeps this function total.
        Channel::Sms => MessageTemplate::parse(DEFAULT_SMS_TEXT)
            .unwrap_or_else(|_| MessageTemplate::code_only()),
        Channel::Whatsapp => MessageTemplate::code_only(),
    }
}

/// A rendered sample and what it costs to send, for the console's template editor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preview {
    pub text: String,
    pub segments: SegmentInfo,
}

/// Renders `template` with `ctx` (usually [`MessageContext::sample`]) and counts its parts.
pub fn preview(template: &MessageTemplate, ctx: &MessageContext<'_>) -> Preview {
    let text = template.render(ctx);
    let segments = segments(&text);
    Preview { text, segments }
}

impl fmt::Debug for MessageTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MessageTemplate").field(&self.text).finish()
    }
}

impl fmt::Display for MessageTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TryFrom<String> for MessageTemplate {
    type Error = TemplateError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<MessageTemplate> for String {
    fn from(t: MessageTemplate) -> String {
        t.text
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
