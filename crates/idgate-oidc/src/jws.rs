//! Compact JWS signing with a key parsed once.
//!
//! `jsonwebtoken::encode` parses the PKCS#8 key on every call (for P-256 that includes a
//! public-key check): measured, that was two thirds of each signature and ~4% of the
//! server's CPU during sign-ins, which sign two JWTs each. Here the aws-lc key pair is
//! built when the key ring loads and reused; verification stays with `jsonwebtoken`.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::keys::{KeyError, SigningAlg};

/// The private half of one active signing key.
pub(crate) enum SigningKey {
    Es256(EcdsaKeyPair),
    Rs256(aws_lc_rs::rsa::KeyPair),
}

impl SigningKey {
    /// Parses a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) for `alg`.
    pub(crate) fn from_pem(alg: SigningAlg, pem: &str) -> Result<Self, String> {
        let der = pem_der(pem).ok_or("not a PKCS#8 PEM private key")?;
        match alg {
            SigningAlg::Es256 => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                .map(Self::Es256)
                .map_err(|e| format!("not a P-256 key: {e}")),
            SigningAlg::Rs256 => aws_lc_rs::rsa::KeyPair::from_pkcs8(&der)
                .map(Self::Rs256)
                .map_err(|e| format!("not an RSA key: {e}")),
        }
    }

    fn alg(&self) -> SigningAlg {
        match self {
            Self::Es256(_) => SigningAlg::Es256,
            Self::Rs256(_) => SigningAlg::Rs256,
        }
    }

    fn signature(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        let failed = |_| KeyError::Sign("the signing key refused to sign".into());
        match self {
            Self::Es256(pair) => pair
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(failed),
            Self::Rs256(pair) => {
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut out)
                    .map_err(failed)?;
                Ok(out)
            }
        }
    }

    /// `header.payload.signature` (RFC 7515 compact serialization) with `kid` and `typ`
    /// in the protected header.
    pub(crate) fn sign<T: Serialize>(
        &self,
        kid: &str,
        typ: &str,
        claims: &T,
    ) -> Result<String, KeyError> {
        #[derive(Serialize)]
        struct Header<'a> {
            typ: &'a str,
            alg: &'a str,
            kid: &'a str,
        }
        let unserializable = |e: serde_json::Error| KeyError::Sign(e.to_string());
        let header = serde_json::to_vec(&Header {
            typ,
            alg: self.alg().as_str(),
            kid,
        })
        .map_err(unserializable)?;
        let payload = serde_json::to_vec(claims).map_err(unserializable)?;
        let mut out = String::with_capacity(4 * (header.len() + payload.len()) / 3 + 360);
        URL_SAFE_NO_PAD.encode_string(&header, &mut out);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut out);
        let signature = self.signature(out.as_bytes())?;
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut out);
        Ok(out)
    }
}

/// The DER inside a `PRIVATE KEY` PEM block.
fn pem_der(pem: &str) -> Option<Zeroizing<Vec<u8>>> {
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN PRIVATE KEY-----")?
        .strip_suffix("-----END PRIVATE KEY-----")?;
    let b64: Zeroizing<String> = Zeroizing::new(body.split_whitespace().collect());
    STANDARD.decode(b64.as_bytes()).ok().map(Zeroizing::new)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_private_key_pem() {
        for bad in [
            "",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            for alg in SigningAlg::ALL {
                assert!(
                    SigningKey::from_pem(alg, bad).is_err(),
                    "{bad:?} as {alg:?}"
                );
            }
        }
    }

    #[test]
    fn a_key_of_one_algorithm_is_refused_as_the_other() {
        let ec = crate::keys::generate(SigningAlg::Es256).unwrap();
        assert!(SigningKey::from_pem(SigningAlg::Es256, &ec.private_pem).is_ok());
        assert!(SigningKey::from_pem(SigningAlg::Rs256, &ec.private_pem).is_err());
    }
}
