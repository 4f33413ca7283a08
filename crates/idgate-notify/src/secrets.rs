//! A provider's secrets: API tokens, auth headers and the delivery-report webhook secret.
//!
//! They travel as one JSON object, sealed with `Keys::encrypt` bound to the provider id
//! (a ciphertext copied onto another provider row does not decrypt). Nothing here is ever
//! formatted into a log line or an API answer: `Debug` shows only which names are set.

use std::collections::BTreeMap;

use idgate_core::crypto::{CryptoError, Keys, random_token};
use serde::{Deserialize, Serialize};

/// The name under which the webhook secret is kept.
pub const WEBHOOK_SECRET: &str = "webhook_secret";

/// A custom provider's Standard Webhooks secret (`whsec_…`), for `sign_requests`.
pub const SIGNING_SECRET: &str = "signing_secret";

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProviderSecrets(BTreeMap<String, String>);

impl std::fmt::Debug for ProviderSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl ProviderSecrets {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn set(&mut self, name: &str, value: String) {
        self.0.insert(name.to_string(), value);
    }

    pub fn remove(&mut self, name: &str) {
        self.0.remove(name);
    }

    /// Names of the secrets that hold a value.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, _)| k.as_str())
    }

    /// Adds a fresh webhook secret unless one exists.
    pub fn ensure_webhook_secret(&mut self) -> Result<(), CryptoError> {
        if self.get(WEBHOOK_SECRET).is_none() {
            self.set(WEBHOOK_SECRET, random_token(24)?);
        }
        Ok(())
    }

    /// Adds a fresh signing secret unless one exists; returns it when it was generated
    /// (to be shown once).
    pub fn ensure_signing_secret(&mut self) -> Result<Option<String>, CryptoError> {
        if self.get(SIGNING_SECRET).is_some() {
            return Ok(None);
        }
        let fresh = crate::signatures::new_signing_secret()?;
        self.set(SIGNING_SECRET, fresh.clone());
        Ok(Some(fresh))
    }

    pub fn seal(&self, keys: &Keys, provider_id: &str) -> Result<Vec<u8>, CryptoError> {
        let json = serde_json::to_vec(self).map_err(|_| CryptoError::Decrypt)?;
        keys.encrypt(&json, &context(provider_id))
    }

    pub fn open(keys: &Keys, provider_id: &str, sealed: &[u8]) -> Result<Self, CryptoError> {
        let plain = keys.decrypt(sealed, &context(provider_id))?;
        serde_json::from_slice(&plain).map_err(|_| CryptoError::Decrypt)
    }
}

/// The associated data: the purpose and the row, so a provider ciphertext can be neither
/// moved to another row nor confused with another kind of secret.
fn context(provider_id: &str) -> String {
    format!("provider:{provider_id}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    #[test]
    fn sealed_per_provider_and_never_shown() {
        let keys = Keys::derive(&SecretString::from("k".repeat(40))).unwrap();
        let mut s = ProviderSecrets::default();
        s.set("api_token", "tok-123".into());
        s.ensure_webhook_secret().unwrap();
        let sealed = s.seal(&keys, "p1").unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("tok-123"));
        assert_eq!(ProviderSecrets::open(&keys, "p1", &sealed).unwrap(), s);
        assert!(ProviderSecrets::open(&keys, "p2", &sealed).is_err());
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("tok-123") && shown.contains("api_token"),
            "{shown}"
        );
        let before = s.get(WEBHOOK_SECRET).unwrap().to_string();
        s.ensure_webhook_secret().unwrap();
        assert_eq!(s.get(WEBHOOK_SECRET), Some(before.as_str()));
    }
}
