//! Signing keys as stored: the private key encrypted under the master secret's key
//! (bound to the key id), the public half as a JWK for the JWKS.

use serde::{Deserialize, Serialize};

use crate::UnixTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    /// Signs new tokens (one per algorithm).
    Active,
    /// Only verifies: published in the JWKS until `retire_until`, then dropped.
    Retired,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    /// `ES256` or `RS256`.
    pub alg: String,
    /// AES-256-GCM of the PKCS#8 PEM, associated data = `signing-key:<kid>`.
    pub private_key_enc: Vec<u8>,
    /// The public JWK as JSON text.
    pub public_jwk: String,
    pub status: KeyStatus,
    pub created_at: UnixTime,
    /// For retired keys: when they leave the JWKS.
    pub retire_until: Option<UnixTime>,
}

impl SigningKeyRecord {
    /// The associated data binding a key's ciphertext to its id.
    pub fn encryption_context(kid: &str) -> String {
        format!("signing-key:{kid}")
    }
}
