//! The provider URL, with placeholders for GET-style gateways
//! (`https://gw.example/send?to={{mobile}}&text={{body}}`).
//!
//! Values are percent-encoded as RFC 3986 components (everything but `A–Z a–z 0–9 - . _ ~`),
//! which is correct in both path and query. Placeholders may not reach the host: a value
//! must never choose where idgate sends a request.

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{
    Part, PayloadError, PayloadPlaceholder, PayloadValues, SAMPLE_EMPTY, SAMPLE_TRICKY, parse_parts,
};

/// RFC 3986 `unreserved` stays as is; everything else is encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A parsed, validated http(s) URL template.
#[derive(Clone, PartialEq, Eq)]
pub struct UrlTemplate {
    text: String,
    parts: Vec<Part>,
}

impl UrlTemplate {
    /// Parses a provider URL. It must be http or https with a host; placeholders are allowed
    /// in the path and query only.
    pub fn parse(url: &str) -> Result<Self, PayloadError> {
        let text = url.trim();
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(PayloadError::UrlScheme {
                scheme: text
                    .split_once(':')
                    .map(|(s, _)| s)
                    .unwrap_or("")
                    .to_string(),
            });
        };
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return Err(PayloadError::UrlScheme {
                scheme: scheme.to_string(),
            });
        }
        let parts = parse_parts(text)?;
        let authority_end = scheme.len() + 3 + rest.find(['/', '?', '#']).unwrap_or(rest.len());
        for part in &parts {
            if let Part::Placeholder { placeholder, range } = part
                && range.start < authority_end
            {
                return Err(PayloadError::PlaceholderInHost {
                    name: placeholder.name().to_string(),
                });
            }
        }
        let template = Self {
            text: text.to_string(),
            parts,
        };
        for sample in [SAMPLE_TRICKY, SAMPLE_EMPTY] {
            let rendered = template.render(&sample);
            let parsed = reqwest::Url::parse(&rendered).map_err(|e| PayloadError::InvalidUrl {
                reason: e.to_string(),
            })?;
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err(PayloadError::InvalidUrl {
                    reason: "it has no host".into(),
                });
            }
        }
        Ok(template)
    }

    /// The URL as the operator wrote it (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the URL uses a placeholder.
    pub fn uses(&self, p: PayloadPlaceholder) -> bool {
        self.parts
            .iter()
            .any(|part| matches!(part, Part::Placeholder { placeholder, .. } if *placeholder == p))
    }

    /// The URL with values percent-encoded. If it uses `{{body}}` or `{{otp}}` the result
    /// holds the code: never log it.
    pub fn render(&self, values: &PayloadValues<'_>) -> String {
        let mut out = String::with_capacity(self.text.len() + 128);
        for part in &self.parts {
            match part {
                Part::Literal(range) => {
                    out.push_str(self.text.get(range.clone()).unwrap_or_default())
                }
                Part::Placeholder { placeholder, .. } => {
                    out.extend(utf8_percent_encode(values.get(*placeholder), COMPONENT));
                }
            }
        }
        out
    }
}

impl fmt::Debug for UrlTemplate {
    /// Only scheme and host: the query often carries an API key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = reqwest::Url::parse(&self.render(&SAMPLE_EMPTY))
            .map(|u| format!("{}://{}/…", u.scheme(), u.host_str().unwrap_or_default()))
            .unwrap_or_else(|_| "…".to_string());
        f.debug_tuple("UrlTemplate").field(&shown).finish()
    }
}
