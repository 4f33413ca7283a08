//! Texts per channel and locale, with fallback to the built-in defaults.
//!
//! Lookup goes from the most specific locale to the least (`zh-Hant-TW` → `zh-Hant` →
//! `zh`), then to the operator's text for [`DEFAULT_LOCALE`], then to the built-in text:
//! a person always gets a message, in the closest language the operator wrote.

use std::collections::HashMap;

use idgate_core::otp::Channel;

use super::{MessageTemplate, TemplateError, default_template};

/// The locale a text without a locale is filed under.
pub const DEFAULT_LOCALE: &str = "en";

/// Normalises `en_US`, `EN-us` and `en-US` to `en-US` (BCP 47 casing; WSO2 writes `en_US`).
pub fn normalise_locale(input: &str) -> Result<String, TemplateError> {
    let bad = || TemplateError::BadLocale(input.to_string());
    let trimmed = input.trim();
    let mut out = Vec::new();
    for (i, sub) in trimmed.split(['-', '_']).enumerate() {
        if sub.is_empty() || sub.len() > 8 || !sub.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        let formatted = if i == 0 {
            if !(2..=3).contains(&sub.len()) || !sub.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(bad());
            }
            sub.to_ascii_lowercase()
        } else if sub.len() == 2 && sub.chars().all(|c| c.is_ascii_alphabetic()) {
            sub.to_ascii_uppercase()
        } else if sub.len() == 4 && sub.chars().all(|c| c.is_ascii_alphabetic()) {
            let lower = sub.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        } else {
            sub.to_ascii_lowercase()
        };
        out.push(formatted);
    }
    Ok(out.join("-"))
}

/// The operator's texts, by channel and normalised locale.
#[derive(Debug, Clone)]
pub struct TemplateCatalog {
    texts: HashMap<(Channel, String), MessageTemplate>,
    builtin_sms: MessageTemplate,
    builtin_whatsapp: MessageTemplate,
}

impl Default for TemplateCatalog {
    fn default() -> Self {
        Self::new()
    }
}

impl TemplateCatalog {
    /// A catalog holding only the built-in texts.
    pub fn new() -> Self {
        Self {
            texts: HashMap::new(),
            builtin_sms: default_template(Channel::Sms),
            builtin_whatsapp: default_template(Channel::Whatsapp),
        }
    }

    /// Sets the text for a channel and locale, replacing any previous one.
    pub fn insert(
        &mut self,
        channel: Channel,
        locale: &str,
        template: MessageTemplate,
    ) -> Result<(), TemplateError> {
        let locale = normalise_locale(locale)?;
        self.texts.insert((channel, locale), template);
        Ok(())
    }

    /// Removes an operator's text; lookups fall back again.
    pub fn remove(&mut self, channel: Channel, locale: &str) -> Option<MessageTemplate> {
        let locale = normalise_locale(locale).ok()?;
        self.texts.remove(&(channel, locale))
    }

    /// The text to send on `channel` to someone preferring `locale` (an unparsable or
    /// absent locale means [`DEFAULT_LOCALE`]).
    pub fn resolve(&self, channel: Channel, locale: Option<&str>) -> &MessageTemplate {
        let mut candidate = locale
            .and_then(|l| normalise_locale(l).ok())
            .unwrap_or_else(|| DEFAULT_LOCALE.to_string());
        loop {
            if let Some(t) = self.texts.get(&(channel, candidate.clone())) {
                return t;
            }
            match candidate.rfind('-') {
                Some(cut) => candidate.truncate(cut),
                None => break,
            }
        }
        if let Some(t) = self.texts.get(&(channel, DEFAULT_LOCALE.to_string())) {
            return t;
        }
        match channel {
            Channel::Sms => &self.builtin_sms,
            Channel::Whatsapp => &self.builtin_whatsapp,
        }
    }

    /// The operator's texts, sorted by channel and locale (for the console).
    pub fn entries(&self) -> Vec<(Channel, &str, &MessageTemplate)> {
        let mut all: Vec<_> = self
            .texts
            .iter()
            .map(|((c, l), t)| (*c, l.as_str(), t))
            .collect();
        all.sort_by(|a, b| (a.0.as_str(), a.1).cmp(&(b.0.as_str(), b.1)));
        all
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn locales_normalise() {
        assert_eq!(normalise_locale("en_US").unwrap(), "en-US");
        assert_eq!(normalise_locale(" EN-us ").unwrap(), "en-US");
        assert_eq!(normalise_locale("zh_hant_tw").unwrap(), "zh-Hant-TW");
        assert_eq!(normalise_locale("es-419").unwrap(), "es-419");
        for bad in ["", "e", "english", "en-", "en US", "1a", "en-toolongsubtag"] {
            assert!(normalise_locale(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resolves_with_fallback() {
        let mut c = TemplateCatalog::new();
        let builtin = default_template(Channel::Sms);
        assert_eq!(c.resolve(Channel::Sms, Some("si-LK")), &builtin);

        let en = MessageTemplate::parse("EN {{confirmation-code}}").unwrap();
        let si = MessageTemplate::parse("SI {{confirmation-code}}").unwrap();
        let si_lk = MessageTemplate::parse("SI-LK {{confirmation-code}}").unwrap();
        c.insert(Channel::Sms, "en", en.clone()).unwrap();
        c.insert(Channel::Sms, "si", si.clone()).unwrap();
        assert_eq!(c.resolve(Channel::Sms, Some("si_LK")), &si);
        c.insert(Channel::Sms, "si_lk", si_lk.clone()).unwrap();
        assert_eq!(c.resolve(Channel::Sms, Some("si-LK")), &si_lk);
        assert_eq!(c.resolve(Channel::Sms, Some("si")), &si);
        assert_eq!(c.resolve(Channel::Sms, Some("fr-FR")), &en);
        assert_eq!(c.resolve(Channel::Sms, Some("not a locale")), &en);
        assert_eq!(c.resolve(Channel::Sms, None), &en);
        // Other channel untouched.
        assert!(c.resolve(Channel::Whatsapp, Some("si")).is_code_only());
        assert!(c.insert(Channel::Sms, "???", en.clone()).is_err());
        assert_eq!(c.entries().len(), 3);
        assert_eq!(c.remove(Channel::Sms, "EN"), Some(en));
        assert_eq!(c.resolve(Channel::Sms, Some("fr")), &builtin);
    }
}
