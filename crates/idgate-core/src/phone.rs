//! Phone numbers: parsed and normalised to E.164 with libphonenumber's metadata.

use std::fmt;

use phonenumber::{Mode, PhoneNumber as Parsed, country};
use serde::{Deserialize, Serialize};

/// A valid phone number in E.164 form (`+14155550100`).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("the phone number is empty")]
    Empty,
    #[error(
        "\"{0}\" has no country code and no default region is configured: write it in international form (+country code …) or set phone.default_region"
    )]
    NoRegion(String),
    #[error("the default region \"{0}\" is not an ISO 3166 country code (e.g. US, LK, IN)")]
    BadRegion(String),
    #[error("\"{0}\" is not a phone number: {1}")]
    Unparsable(String, String),
    #[error("\"{0}\" is not a valid phone number for its country (check the number of digits)")]
    Invalid(String),
    #[error("\"{0}\" is a {1} number; one-time codes cannot be sent to it")]
    RefusedType(String, &'static str),
}

/// Parses a region code such as `US` or `lk`.
pub fn parse_region(region: &str) -> Result<country::Id, PhoneError> {
    region
        .trim()
        .to_ascii_uppercase()
        .parse::<country::Id>()
        .map_err(|_| PhoneError::BadRegion(region.to_string()))
}

impl PhoneNumber {
    /// Parses user input. Numbers without `+` are read in `default_region`.
    /// Premium-rate and shared-cost numbers are refused: a code sent there costs the
    /// operator money and can be used to pump SMS revenue.
    pub fn parse(input: &str, default_region: Option<&str>) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        // Errors are shown (API problems, console and CLI messages) and may be logged:
        // they name the input masked, never the full number typed.
        let shown = mask_for_logs(trimmed);
        let international = trimmed.starts_with('+') || trimmed.starts_with("00");
        let region = match default_region {
            Some(r) if !r.trim().is_empty() => Some(parse_region(r)?),
            _ => None,
        };
        if !international && region.is_none() {
            return Err(PhoneError::NoRegion(shown));
        }
        if !trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        {
            return Err(PhoneError::Unparsable(
                shown,
                "only digits, spaces, +, -, ( ) and . are allowed".into(),
            ));
        }
        let parsed: Parsed = phonenumber::parse(region, trimmed)
            .map_err(|e| PhoneError::Unparsable(shown.clone(), e.to_string()))?;
        if !phonenumber::is_valid(&parsed) {
            return Err(PhoneError::Invalid(shown));
        }
        use phonenumber::metadata::DATABASE;
        let kind = parsed.number_type(&DATABASE);
        match kind {
            phonenumber::Type::PremiumRate => {
                return Err(PhoneError::RefusedType(shown, "premium-rate"));
            }
            phonenumber::Type::SharedCost => {
                return Err(PhoneError::RefusedType(shown, "shared-cost"));
            }
            _ => {}
        }
        let e164 = parsed.format().mode(Mode::E164).to_string();
        // Some inputs read in a region format to an E.164 string that does not parse back
        // as a valid number (found by fuzzing: "0078443434580" in LK). Stored, it would
        // break every later use of the number (resends, limits), so it is refused now.
        match phonenumber::parse(None, &e164) {
            Ok(again) if phonenumber::is_valid(&again) => {}
            _ => return Err(PhoneError::Invalid(shown)),
        }
        Ok(Self(e164))
    }

    /// A number this server stored after [`PhoneNumber::parse`] accepted it: only its
    /// E.164 shape is checked (`+`, a non-zero digit, 8 to 15 digits in all). Reading
    /// users is on every sign-in's path and a full libphonenumber parse costs tens of
    /// microseconds (measured: a tenth of the server's CPU during sign-ins); numbers are
    /// validated once, where they enter (API, CLI, enrolment), never again on the way out.
    pub fn from_stored(stored: &str) -> Result<Self, PhoneError> {
        let digits = stored.strip_prefix('+').unwrap_or_default();
        let shaped = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if shaped {
            Ok(Self(stored.to_string()))
        } else {
            Err(PhoneError::Invalid(mask_for_logs(stored)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For logs and audit: country code and the last two digits (`+9477•••••53`).
    pub fn masked(&self) -> String {
        mask_for_logs(&self.0)
    }

    /// For people: only the last four digits (`••••••2453`), as sign-in pages show it.
    pub fn masked_last4(&self) -> String {
        let digits: Vec<char> = self.0.chars().filter(|c| c.is_ascii_digit()).collect();
        let keep = digits.len().min(4);
        let mut out: String = "•".repeat(6);
        out.extend(&digits[digits.len() - keep..]);
        out
    }
}

/// Masks any E.164-ish string for logs: keeps `+` and the first four digits, and the
/// last two digits (`+9477•••••53`). Short strings are masked whole.
pub fn mask_for_logs(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 8 {
        return "•".repeat(chars.len());
    }
    let head: String = chars[..5].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "•".repeat(chars.len() - 7))
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value, None)
    }
}

impl From<PhoneNumber> for String {
    fn from(p: PhoneNumber) -> String {
        p.0
    }
}

impl fmt::Display for PhoneNumber {
    /// Display is masked on purpose: a number formatted into a log line never leaks.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_international_and_national() {
        let p = PhoneNumber::parse("+1 415 555 0100", None);
        assert_eq!(p.map(|p| p.0), Ok("+14155550100".to_string()));
        let p = PhoneNumber::parse("(415) 555-0100", Some("us"));
        assert_eq!(p.map(|p| p.0), Ok("+14155550100".to_string()));
        let p = PhoneNumber::parse("077 123 4567", Some("LK"));
        assert_eq!(p.map(|p| p.0), Ok("+94771234567".to_string()));
    }

    #[test]
    fn refuses_bad_numbers() {
        assert!(matches!(
            PhoneNumber::parse("+1 555", None),
            Err(PhoneError::Invalid(_) | PhoneError::Unparsable(..))
        ));
        assert!(matches!(
            PhoneNumber::parse("12ab", Some("US")),
            Err(PhoneError::Unparsable(..))
        ));
        assert!(matches!(
            PhoneNumber::parse("4155550100", None),
            Err(PhoneError::NoRegion(_))
        ));
        // UK premium rate (09xx) and US premium rate (900).
        assert!(matches!(
            PhoneNumber::parse("+44 909 879 0000", None),
            Err(PhoneError::RefusedType(_, "premium-rate"))
        ));
        assert!(matches!(
            PhoneNumber::parse("+1 900 555 0199", None),
            Err(PhoneError::RefusedType(_, "premium-rate"))
        ));
    }

    #[test]
    fn stored_numbers_are_checked_for_shape_only() {
        let stored = PhoneNumber::parse("+94771232453", None).map(|p| p.0);
        let back = stored.as_deref().map(PhoneNumber::from_stored);
        assert_eq!(
            back.map(|p| p.map(|p| p.0)),
            Ok(Ok("+94771232453".to_string()))
        );
        for bad in [
            "",
            "+",
            "94771232453",
            "+0771232453",
            "+1234567",
            "+1234567890123456",
            "+9477 123 2453",
            "+9477123245a",
        ] {
            assert!(
                matches!(PhoneNumber::from_stored(bad), Err(PhoneError::Invalid(_))),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn errors_never_repeat_the_full_number() {
        for (input, region) in [
            ("+1 415 555 01", None),
            ("+44 909 879 0000", None),
            ("4155550100", None),
            ("415x5550100", Some("US")),
        ] {
            let e = PhoneNumber::parse(input, region)
                .map(|_| ())
                .map_err(|e| e.to_string());
            let digits: String = input.chars().filter(char::is_ascii_digit).collect();
            assert!(
                e.as_ref().is_err_and(|m| !m
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
                    .contains(&digits[2..])),
                "{input}: {e:?}"
            );
        }
    }

    #[test]
    fn masks() {
        let p = PhoneNumber::parse("+94771232453", None).map(|p| (p.masked(), p.masked_last4()));
        assert_eq!(
            p,
            Ok(("+9477•••••53".to_string(), "••••••2453".to_string()))
        );
        assert_eq!(
            format!("{}", PhoneNumber("+14155550100".into())),
            "+1415•••••00"
        );
    }

    #[test]
    fn accepted_numbers_parse_back_from_their_e164_form() {
        // The fuzzer's find: read in LK, this formatted to an E.164 that did not parse back.
        if let Ok(n) = PhoneNumber::parse("0078443434580", Some("LK")) {
            let again = PhoneNumber::parse(n.as_str(), None);
            assert_eq!(again.as_ref().map(PhoneNumber::as_str), Ok(n.as_str()));
        }
    }
}
