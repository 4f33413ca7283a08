//! Gateway text, made safe to store and log.
//!
//! Gateways echo requests back in their errors (many do on a 401): the answer may hold
//! the provider's API token, its header values, the webhook secret of the report URL and
//! the recipient's number in any of its written forms. Before a gateway's text reaches a
//! message attempt, the message log or a log line, [`Scrubber::scrub`] replaces
//!
//! - every configured secret value of the provider (and its URL-encoded and, for header
//!   values like `Bearer <token>`, its word forms) with [`REDACTED_SECRET`];
//! - every written form of the number — E.164, E.164 without `+`, international and
//!   national format with and without spaces/punctuation, the national significant
//!   number, and their URL-encoded forms — with the masked number (`+9477•••••67`);
//! - the code with `••••••`;
//!
//! and caps the text at [`MAX_REASON_CHARS`] (after scrubbing, so a cut cannot leave half
//! a secret behind).

use idgate_core::phone::PhoneNumber;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::{ExposeSecret, SecretString};

use crate::message_template::REDACTED_CODE;
use crate::provider::{MAX_REASON_CHARS, OutgoingMessage};

/// What a secret value is replaced with.
pub const REDACTED_SECRET: &str = "[redacted]";

/// Secret values shorter than this are not searched for (they would match ordinary text).
const MIN_SECRET_CHARS: usize = 4;
/// The fewest digits a number form must have to be searched for.
const MIN_NUMBER_DIGITS: usize = 6;

/// One provider's secret values, in every form they may come back in.
#[derive(Default)]
pub struct Scrubber {
    /// Longest first, so a value is replaced before any shorter value inside it.
    forms: Vec<SecretString>,
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scrubber({} forms)", self.forms.len())
    }
}

impl Scrubber {
    /// A scrubber for these secret values (API tokens, header values, webhook secrets…).
    pub fn new<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut forms: Vec<String> = Vec::new();
        for v in values {
            let v = v.as_ref().trim();
            let mut add = |s: &str| {
                if s.chars().count() >= MIN_SECRET_CHARS && !forms.iter().any(|f| f == s) {
                    forms.push(s.to_string());
                }
            };
            // `Bearer <token>`, `Basic <b64>`: the token alone is the secret too.
            let words = v
                .split([' ', ',', ';', '=', ':'])
                .filter(|w| w.chars().count() >= 8);
            for candidate in std::iter::once(v).chain(words) {
                add(candidate);
                add(&utf8_percent_encode(candidate, NON_ALPHANUMERIC).to_string());
                add(&form_encoded(candidate));
            }
        }
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        Self {
            forms: forms.into_iter().map(SecretString::from).collect(),
        }
    }

    /// `text` without the secrets, the number (any form) or the code, capped at
    /// [`MAX_REASON_CHARS`].
    pub fn scrub(&self, text: &str, msg: &OutgoingMessage) -> String {
        let mut out = self.scrub_secrets(text);
        out = scrub_number_and_code(&out, msg);
        cap(out)
    }

    fn scrub_secrets(&self, text: &str) -> String {
        let mut out = text.to_string();
        for f in &self.forms {
            let f = f.expose_secret();
            if out.contains(f) {
                out = out.replace(f, REDACTED_SECRET);
            }
        }
        out
    }
}

/// `text` without the message's number (any written form) or code; not capped.
pub fn scrub_number_and_code(text: &str, msg: &OutgoingMessage) -> String {
    let masked = msg.to.masked();
    let mut out = text.to_string();
    for form in number_forms(&msg.to) {
        if out.contains(&form) {
            out = out.replace(&form, &masked);
        }
    }
    out = mask_digit_runs(&out, &msg.to, &masked);
    let code = msg.code.expose_secret();
    if !code.is_empty() {
        out = out.replace(code, REDACTED_CODE);
    }
    out
}

/// Replaces any run of digits and separators (` -.()+`) whose digits hold the number's
/// national significant number — a format no list of forms foresaw (`415-555-0123`,
/// `77.123.45.67`).
fn mask_digit_runs(text: &str, number: &PhoneNumber, masked: &str) -> String {
    let Some(nsn) = phonenumber::parse(None, number.as_str())
        .ok()
        .map(|p| p.national().value().to_string())
        .filter(|n| n.len() >= MIN_NUMBER_DIGITS)
    else {
        return text.to_string();
    };
    let in_run = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '+');
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let digits: String = run.chars().filter(char::is_ascii_digit).collect();
        if digits.contains(&nsn) {
            let lead = run.len() - run.trim_start().len();
            let trail = run.len() - run.trim_end().len();
            out.push_str(&run[..lead]);
            out.push_str(masked);
            out.push_str(&run[run.len() - trail..]);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if in_run(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// At most [`MAX_REASON_CHARS`] characters (and `…` when cut).
pub fn cap(text: String) -> String {
    if text.chars().count() > MAX_REASON_CHARS {
        text.chars().take(MAX_REASON_CHARS).collect::<String>() + "…"
    } else {
        text
    }
}

/// Every way a gateway may write `number`, longest first.
pub fn number_forms(number: &PhoneNumber) -> Vec<String> {
    let e164 = number.as_str();
    let mut bases = vec![e164.to_string()];
    if let Ok(p) = phonenumber::parse(None, e164) {
        bases.push(
            p.format()
                .mode(phonenumber::Mode::International)
                .to_string(),
        );
        bases.push(p.format().mode(phonenumber::Mode::National).to_string());
        bases.push(p.national().value().to_string());
    }
    let mut forms: Vec<String> = Vec::new();
    let mut add = |s: String| {
        let digits = s.chars().filter(char::is_ascii_digit).count();
        if digits >= MIN_NUMBER_DIGITS && !forms.contains(&s) {
            forms.push(s);
        }
    };
    for b in bases {
        let compact: String = b.chars().filter(|c| *c != ' ').collect();
        let digits: String = b.chars().filter(char::is_ascii_digit).collect();
        let plus_digits = if b.starts_with('+') {
            format!("+{digits}")
        } else {
            digits.clone()
        };
        for v in [b.clone(), compact, digits, plus_digits, b.replace(' ', "-")] {
            add(utf8_percent_encode(&v, NON_ALPHANUMERIC).to_string());
            add(utf8_percent_encode(&v, NON_ALPHANUMERIC)
                .to_string()
                .to_lowercase());
            add(form_encoded(&v));
            add(v.replace('+', "\\u002b"));
            add(v.replace('+', "\\u002B"));
            add(v);
        }
    }
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms
}

/// `application/x-www-form-urlencoded` form of `v` (spaces as `+`).
fn form_encoded(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use idgate_core::otp::Channel;

    use super::*;

    fn msg(to: &str) -> OutgoingMessage {
        OutgoingMessage::new(
            "m1",
            Channel::Sms,
            PhoneNumber::parse(to, None).unwrap(),
            "Your code is 482913.",
            "482913",
        )
    }

    #[test]
    fn every_form_of_the_number_goes() {
        let m = msg("+94771234567");
        let text = "to=%2B94771234567 national=077 123 4567 compact=0771234567 \
                    nsn=771234567 intl=+94 77 123 4567 plain=94771234567 form=077+123+4567 \
                    pct=077%20123%204567 e164=+94771234567 code=482913";
        let out = Scrubber::default().scrub(text, &m);
        for bad in [
            "771234567",
            "77 123 4567",
            "123+4567",
            "123%204567",
            "482913",
        ] {
            assert!(!out.contains(bad), "{bad} in {out}");
        }
        assert!(out.contains("+9477•••••67"), "{out}");
        let us = msg("+14155550123");
        let out = Scrubber::default().scrub(
            "(415) 555-0123 / (415)555-0123 / 415-555-0123 / 4155550123 / +1 415-555-0123 / %28415%29%20555%2D0123",
            &us,
        );
        for bad in ["555-0123", "5550123", "555%2D0123"] {
            assert!(!out.contains(bad), "{bad} in {out}");
        }
    }

    #[test]
    fn secrets_in_every_form_go() {
        let s = Scrubber::new([
            "Bearer tok/en+123456",
            "Authorization: Bearer tok/en+123456",
        ]);
        let m = msg("+94771234567");
        let out = s.scrub(
            "header Bearer tok/en+123456; query tok%2Fen%2B123456; form tok%2Fen%2B123456; bare tok/en+123456",
            &m,
        );
        assert!(!out.contains("tok"), "{out}");
        assert_eq!(out.matches(REDACTED_SECRET).count(), 4, "{out}");
        let long = s.scrub(&format!("{}tok/en+123456", "x".repeat(295)), &m);
        assert!(!long.contains("tok/"), "capped after scrubbing: {long}");
        assert!(!format!("{s:?}").contains("tok"));
    }
}
