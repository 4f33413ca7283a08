//! Signing keys: generation (aws-lc-rs), the key ring that signs and verifies JWTs
//! (jsonwebtoken with the aws-lc backend), and the published JWKS.
//!
//! ES256 is the default; RS256 exists because OIDC requires it and some relying parties
//! know nothing else. RSA signing goes through aws-lc, never the `rsa` crate
//! (RUSTSEC-2023-0071). Private keys travel as PKCS#8 PEM so one format serves both.

use std::collections::HashMap;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::jws::SigningKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    Es256,
    Rs256,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 2] = [SigningAlg::Es256, SigningAlg::Rs256];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ES256" => Some(Self::Es256),
            "RS256" => Some(Self::Rs256),
            _ => None,
        }
    }

    fn jwt(self) -> Algorithm {
        match self {
            Self::Es256 => Algorithm::ES256,
            Self::Rs256 => Algorithm::RS256,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed")]
    Generate,
    #[error("stored signing key {0} is unusable: {1}")]
    Bad(String, String),
    #[error("no active {0} signing key")]
    NoActive(&'static str),
    #[error("signing failed: {0}")]
    Sign(String),
    #[error("token rejected: {0}")]
    Invalid(String),
}

/// A freshly generated key: its id (RFC 7638 thumbprint), private PEM and public JWK.
pub struct GeneratedKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub private_pem: Zeroizing<String>,
    pub public_jwk: String,
}

impl std::fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Generates a new key pair for `alg` (P-256, or RSA 2048).
pub fn generate(alg: SigningAlg) -> Result<GeneratedKey, KeyError> {
    let der: Zeroizing<Vec<u8>> = match alg {
        SigningAlg::Es256 => {
            let doc = EcdsaKeyPair::generate_pkcs8(
                &ECDSA_P256_SHA256_FIXED_SIGNING,
                &SystemRandom::new(),
            )
            .map_err(|_| KeyError::Generate)?;
            Zeroizing::new(doc.as_ref().to_vec())
        }
        SigningAlg::Rs256 => {
            let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(|_| KeyError::Generate)?;
            let der = pair.as_der().map_err(|_| KeyError::Generate)?;
            Zeroizing::new(der.as_ref().to_vec())
        }
    };
    let private_pem = Zeroizing::new(pem("PRIVATE KEY", &der));
    let (kid, jwk) = public_jwk(alg, &private_pem)?;
    Ok(GeneratedKey {
        kid,
        alg,
        private_pem,
        public_jwk: serde_json::to_string(&jwk)
            .map_err(|e| KeyError::Bad("new".into(), e.to_string()))?,
    })
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn encoding_key(alg: SigningAlg, pem: &str) -> Result<EncodingKey, jsonwebtoken::errors::Error> {
    match alg {
        SigningAlg::Es256 => EncodingKey::from_ec_pem(pem.as_bytes()),
        SigningAlg::Rs256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
    }
}

/// The public JWK of a private key, with `kid` = its SHA-256 thumbprint.
fn public_jwk(alg: SigningAlg, pem: &str) -> Result<(String, Jwk), KeyError> {
    let bad = |e: jsonwebtoken::errors::Error| KeyError::Bad("new".into(), e.to_string());
    let key = encoding_key(alg, pem).map_err(bad)?;
    let mut jwk = Jwk::from_encoding_key(&key, alg.jwt()).map_err(bad)?;
    let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(bad)?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    Ok((kid, jwk))
}

/// A stored key, decrypted, as the ring loads it.
pub struct LoadedKey<'a> {
    pub kid: &'a str,
    pub alg: &'a str,
    pub private_pem: &'a str,
    pub public_jwk: &'a str,
    pub active: bool,
}

/// The keys in force: one active signer per algorithm, every published key for
/// verification, and the JWKS document.
pub struct KeyRing {
    signers: HashMap<SigningAlg, (String, SigningKey)>,
    verifiers: HashMap<String, (SigningAlg, DecodingKey)>,
    /// Serialized once; served as shared bytes (no copy per request).
    jwks: bytes::Bytes,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("kids", &self.verifiers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Builds the ring from stored keys (newest first; the first active key of an
    /// algorithm signs).
    pub fn load<'a>(keys: impl IntoIterator<Item = LoadedKey<'a>>) -> Result<Self, KeyError> {
        let mut signers = HashMap::new();
        let mut verifiers = HashMap::new();
        let mut jwks = JwkSet { keys: Vec::new() };
        for k in keys {
            let bad = |e: String| KeyError::Bad(k.kid.to_string(), e);
            let alg =
                SigningAlg::parse(k.alg).ok_or_else(|| bad(format!("unknown alg {}", k.alg)))?;
            let jwk: Jwk = serde_json::from_str(k.public_jwk).map_err(|e| bad(e.to_string()))?;
            let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| bad(e.to_string()))?;
            if k.active && !signers.contains_key(&alg) {
                let key = SigningKey::from_pem(alg, k.private_pem).map_err(bad)?;
                signers.insert(alg, (k.kid.to_string(), key));
            }
            verifiers.insert(k.kid.to_string(), (alg, decoding));
            jwks.keys.push(jwk);
        }
        let jwks: bytes::Bytes = serde_json::to_vec(&jwks)
            .map_err(|e| KeyError::Bad("jwks".into(), e.to_string()))?
            .into();
        Ok(Self {
            signers,
            verifiers,
            jwks,
        })
    }

    /// The JWKS document (`{"keys":[…]}`), ready to serve.
    pub fn jwks_json(&self) -> &str {
        std::str::from_utf8(&self.jwks).unwrap_or("{\"keys\":[]}")
    }

    /// The JWKS document as bytes to send (a reference-counted view, not a copy).
    pub fn jwks_bytes(&self) -> bytes::Bytes {
        self.jwks.clone()
    }

    pub fn has_signer(&self, alg: SigningAlg) -> bool {
        self.signers.contains_key(&alg)
    }

    /// Signs `claims` as a JWT with the active key of `alg`; `typ` sets the header's type
    /// (`JWT` for ID tokens, `at+jwt` for access tokens, RFC 9068).
    pub fn sign<T: Serialize>(
        &self,
        alg: SigningAlg,
        typ: &str,
        claims: &T,
    ) -> Result<String, KeyError> {
        let (kid, key) = self
            .signers
            .get(&alg)
            .ok_or(KeyError::NoActive(alg.as_str()))?;
        key.sign(kid, typ, claims)
    }

    /// Verifies a JWT we issued: known `kid`, signature, `exp`, and `iss`; the `typ`
    /// header must be `typ` (so an ID token is never accepted as an access token).
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        issuer: &str,
        typ: &str,
    ) -> Result<T, KeyError> {
        self.verify_inner(token, issuer, typ, true)
    }

    /// Like [`KeyRing::verify`] but accepts an expired token: for `id_token_hint` at
    /// logout, where the hint only identifies the session (OIDC RP-Initiated Logout §2).
    pub fn verify_hint<T: DeserializeOwned>(
        &self,
        token: &str,
        issuer: &str,
    ) -> Result<T, KeyError> {
        self.verify_inner(token, issuer, crate::claims::ID_TOKEN_TYP, false)
    }

    fn verify_inner<T: DeserializeOwned>(
        &self,
        token: &str,
        issuer: &str,
        typ: &str,
        check_exp: bool,
    ) -> Result<T, KeyError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| KeyError::Invalid(e.to_string()))?;
        if header.typ.as_deref() != Some(typ) {
            return Err(KeyError::Invalid("wrong token type".into()));
        }
        let kid = header
            .kid
            .ok_or_else(|| KeyError::Invalid("no kid".into()))?;
        let (alg, key) = self
            .verifiers
            .get(&kid)
            .ok_or_else(|| KeyError::Invalid("unknown kid".into()))?;
        let mut validation = Validation::new(alg.jwt());
        validation.set_issuer(&[issuer]);
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.validate_exp = check_exp;
        if !check_exp {
            validation.required_spec_claims.remove("exp");
        }
        jsonwebtoken::decode::<T>(token, key, &validation)
            .map(|d| d.claims)
            .map_err(|e| KeyError::Invalid(e.to_string()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct C {
        iss: String,
        exp: i64,
        sub: String,
    }

    fn ring(keys: &[(&GeneratedKey, bool)]) -> KeyRing {
        KeyRing::load(keys.iter().map(|(k, active)| LoadedKey {
            kid: &k.kid,
            alg: k.alg.as_str(),
            private_pem: &k.private_pem,
            public_jwk: &k.public_jwk,
            active: *active,
        }))
        .unwrap()
    }

    #[test]
    fn sign_verify_both_algorithms_and_jwks() {
        let es = generate(SigningAlg::Es256).unwrap();
        let rs = generate(SigningAlg::Rs256).unwrap();
        let r = ring(&[(&es, true), (&rs, true)]);
        let claims = C {
            iss: "https://id.example".into(),
            exp: 4_000_000_000,
            sub: "u".into(),
        };
        for alg in SigningAlg::ALL {
            let t = r.sign(alg, "JWT", &claims).unwrap();
            assert_eq!(
                r.verify::<C>(&t, "https://id.example", "JWT").unwrap(),
                claims
            );
            assert!(r.verify::<C>(&t, "https://other", "JWT").is_err());
            assert!(r.verify::<C>(&t, "https://id.example", "at+jwt").is_err());
        }
        let jwks: serde_json::Value = serde_json::from_str(r.jwks_json()).unwrap();
        let kids: Vec<_> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(kids, vec![es.kid.clone(), rs.kid.clone()]);
        assert_eq!(jwks["keys"][0]["kty"], "EC");
        assert_eq!(jwks["keys"][1]["kty"], "RSA");
        assert!(jwks["keys"][0].get("d").is_none(), "no private parts");
    }

    #[test]
    fn retired_keys_verify_but_do_not_sign() {
        let old = generate(SigningAlg::Es256).unwrap();
        let r_old = ring(&[(&old, true)]);
        let claims = C {
            iss: "i".into(),
            exp: 4_000_000_000,
            sub: "u".into(),
        };
        let t = r_old.sign(SigningAlg::Es256, "JWT", &claims).unwrap();
        let new = generate(SigningAlg::Es256).unwrap();
        let r = ring(&[(&new, true), (&old, false)]);
        assert!(r.verify::<C>(&t, "i", "JWT").is_ok());
        let t2 = r.sign(SigningAlg::Es256, "JWT", &claims).unwrap();
        let h = jsonwebtoken::decode_header(&t2).unwrap();
        assert_eq!(h.kid.as_deref(), Some(new.kid.as_str()));
    }
}
