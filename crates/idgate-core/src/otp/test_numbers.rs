//! Test numbers: phone numbers with a fixed code, for app-store review accounts and
//! staging. A code "sent" to one never reaches a provider: the verification is created
//! as usual (attempts, expiry, single approval and send limits all apply) with the fixed
//! code, the message log gets a `test-number` message (delivered, nothing sent) and the
//! audit log an `otp.test_number_used` event.
//!
//! Entries come from the config file (`[[otp.test_numbers]]`, read-only) or from the
//! admin API and console (stored together in the setting `otp_test_numbers`, each code
//! encrypted under the master key and never shown again; one setting, so the send path
//! reads one cached value whatever the number). An entry without `applications`
//! applies to every application.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::UnixTime;
use crate::crypto::{CryptoError, Keys};
use crate::phone::PhoneNumber;

/// The setting holding the entries made through the admin API and console.
pub const SETTING: &str = "otp_test_numbers";
/// Most entries the admin API and console keep.
pub const MAX_STORED: usize = 100;
/// The provider name the message log shows for a test number's message.
pub const PROVIDER: &str = "test-number";
/// Shortest and longest fixed code (digits only).
pub const CODE_LENGTH: std::ops::RangeInclusive<usize> = 4..=10;
/// Most applications one entry may name.
pub const MAX_APPLICATIONS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TestNumberError {
    #[error("code must be 4 to 10 digits (0-9), e.g. \"246810\"")]
    BadCode,
    #[error("applications[{0}] must be a client id (1 to 128 characters)")]
    BadApplication(usize),
    #[error("applications: at most 50 client ids")]
    TooManyApplications,
    #[error(
        "test numbers sign in with a fixed code: in production mode an entry is refused unless it says allow_in_production = true"
    )]
    NotAllowedInProduction,
}

/// Checks a fixed code: 4–10 ASCII digits.
pub fn validate_code(code: &str) -> Result<(), TestNumberError> {
    if CODE_LENGTH.contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(TestNumberError::BadCode)
    }
}

/// Checks the client ids an entry names (existence is the caller's business).
pub fn validate_applications(apps: &[String]) -> Result<(), TestNumberError> {
    if apps.len() > MAX_APPLICATIONS {
        return Err(TestNumberError::TooManyApplications);
    }
    for (i, a) in apps.iter().enumerate() {
        if a.trim().is_empty() || a.len() > 128 || a.trim() != a {
            return Err(TestNumberError::BadApplication(i));
        }
    }
    Ok(())
}

/// Where an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// `[[otp.test_numbers]]` in the config file: changed only there.
    Config,
    /// The admin API or the console.
    Admin,
}

/// One test number, with its code in plaintext (held in memory only).
#[derive(Clone)]
pub struct TestNumber {
    pub number: PhoneNumber,
    pub code: SecretString,
    /// Client ids; empty: every application.
    pub applications: Vec<String>,
    pub allow_in_production: bool,
    pub source: Source,
    pub created_at: Option<UnixTime>,
}

impl std::fmt::Debug for TestNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestNumber")
            .field("number", &self.number)
            .field("code", &"[redacted]")
            .field("applications", &self.applications)
            .finish_non_exhaustive()
    }
}

impl TestNumber {
    /// Whether this entry answers a send for `client_id` (`None`: a send outside any
    /// application, which only an entry for every application answers).
    pub fn applies_to(&self, client_id: Option<&str>) -> bool {
        self.applications.is_empty()
            || client_id.is_some_and(|c| self.applications.iter().any(|a| a == c))
    }

    /// Whether the entry is in force: in production mode only with `allow_in_production`.
    pub fn active(&self, production: bool) -> bool {
        !production || self.allow_in_production
    }
}

/// A stored entry (the settings value): the code encrypted, bound to the number.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredTestNumber {
    pub number: String,
    /// Base64 of `nonce || AES-256-GCM(code)`, associated data `otp_test_number:<number>`.
    pub code_ciphertext: String,
    #[serde(default)]
    pub applications: Vec<String>,
    #[serde(default)]
    pub allow_in_production: bool,
    pub created_at: UnixTime,
}

impl StoredTestNumber {
    /// Encrypts `code` for `number`.
    pub fn seal(
        keys: &Keys,
        number: &PhoneNumber,
        code: &str,
        applications: Vec<String>,
        allow_in_production: bool,
        now: UnixTime,
    ) -> Result<Self, CryptoError> {
        use base64::Engine;
        let ct = keys.encrypt(code.as_bytes(), &aad(number))?;
        Ok(Self {
            number: number.as_str().to_string(),
            code_ciphertext: base64::engine::general_purpose::STANDARD.encode(ct),
            applications,
            allow_in_production,
            created_at: now,
        })
    }

    /// Decrypts the entry (a ciphertext moved to another number does not open).
    pub fn open(&self, keys: &Keys) -> Result<TestNumber, CryptoError> {
        use base64::Engine;
        let number = PhoneNumber::from_stored(&self.number).map_err(|_| CryptoError::Decrypt)?;
        let ct = base64::engine::general_purpose::STANDARD
            .decode(&self.code_ciphertext)
            .map_err(|_| CryptoError::Decrypt)?;
        let code = String::from_utf8(keys.decrypt(&ct, &aad(&number))?)
            .map_err(|_| CryptoError::Decrypt)?;
        Ok(TestNumber {
            number,
            code: SecretString::from(code),
            applications: self.applications.clone(),
            allow_in_production: self.allow_in_production,
            source: Source::Admin,
            created_at: Some(self.created_at),
        })
    }
}

/// The associated data binding a stored code to its number.
fn aad(number: &PhoneNumber) -> String {
    format!("otp_test_number:{}", number.as_str())
}

/// The fixed code of a test number, exposed for the engine only.
pub(crate) fn code_of(t: &TestNumber) -> &str {
    t.code.expose_secret()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_four_to_ten_digits() {
        assert_eq!(validate_code("2468"), Ok(()));
        assert_eq!(validate_code("0123456789"), Ok(()));
        for bad in ["", "123", "12345678901", "12a456", "12 456", "１２３４５６"] {
            assert_eq!(validate_code(bad), Err(TestNumberError::BadCode), "{bad:?}");
        }
    }

    #[test]
    fn an_entry_without_applications_applies_to_all() {
        let n = PhoneNumber::parse("+14155550100", None).unwrap_or_else(|_| unreachable!());
        let mut t = TestNumber {
            number: n,
            code: SecretString::from("246810"),
            applications: vec![],
            allow_in_production: false,
            source: Source::Config,
            created_at: None,
        };
        assert!(t.applies_to(Some("a")) && t.applies_to(None));
        t.applications = vec!["a".into()];
        assert!(t.applies_to(Some("a")) && !t.applies_to(Some("b")) && !t.applies_to(None));
        assert!(t.active(false) && !t.active(true));
        assert!(!format!("{t:?}").contains("246810"));
    }
}
