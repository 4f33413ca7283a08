//! Keys derived from the master secret, and the few primitives idgate needs:
//! HMAC for codes and tokens, constant-time comparison, authenticated encryption.
//!
//! One master secret feeds HKDF-SHA256; each purpose gets its own key, so a key used
//! to hash codes can never decrypt a provider credential.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

type HmacSha256 = Hmac<Sha256>;

/// Minimum master secret length, in bytes of entropy after decoding.
pub const MASTER_SECRET_MIN_BYTES: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error(
        "the master secret is too short: it needs at least {MASTER_SECRET_MIN_BYTES} bytes (generate one with `openssl rand -hex 32`)"
    )]
    MasterTooShort,
    #[error(
        "a stored secret could not be decrypted: it is corrupt or was encrypted under another master secret"
    )]
    Decrypt,
    #[error("the system random number generator failed")]
    Rng,
}

/// Fills `buf` from the operating system's CSPRNG.
pub fn fill_random(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|_| CryptoError::Rng)
}

/// A URL-safe random token with `bytes` bytes of entropy (used for client secrets,
/// admin tokens, session ids).
pub fn random_token(bytes: usize) -> Result<String, CryptoError> {
    let mut buf = vec![0u8; bytes];
    fill_random(&mut buf)?;
    let token = URL_SAFE_NO_PAD.encode(&buf);
    buf.zeroize();
    Ok(token)
}

/// Constant-time equality for secrets of any length (length itself is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The keys idgate derives from its master secret.
pub struct Keys {
    // HMAC keys are one SHA-256 block long, so they are used as-is (no pre-hashing).
    code_hmac: SecretBox<[u8; 64]>,
    token_hmac: SecretBox<[u8; 64]>,
    encryption: SecretBox<[u8; 32]>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(…)")
    }
}

impl Keys {
    /// Derives the keys. The master secret is used as given (UTF-8 bytes): hex, base64
    /// or a passphrase of enough length all work.
    pub fn derive(master: &SecretString) -> Result<Self, CryptoError> {
        let ikm = master.expose_secret().trim().as_bytes();
        if ikm.len() < MASTER_SECRET_MIN_BYTES {
            return Err(CryptoError::MasterTooShort);
        }
        let hk = Hkdf::<Sha256>::new(Some(b"idgate/v1"), ikm);
        // The lengths asked for are far below HKDF-SHA256's limit of 255*32 bytes, so
        // expansion cannot fail.
        let expand64 = |info: &[u8]| {
            let mut okm = Box::new([0u8; 64]);
            let _ = hk.expand(info, okm.as_mut());
            SecretBox::new(okm)
        };
        let mut enc = Box::new([0u8; 32]);
        let _ = hk.expand(b"secret-encryption", enc.as_mut());
        Ok(Self {
            code_hmac: expand64(b"otp-code-hmac"),
            token_hmac: expand64(b"token-hmac"),
            encryption: SecretBox::new(enc),
        })
    }

    /// HMAC-SHA256 of a one-time code, bound to its verification so a hash cannot be
    /// replayed onto another verification.
    pub fn code_hmac(&self, verification_id: &str, code: &str) -> Vec<u8> {
        let mut mac = hmac_with(self.code_hmac.expose_secret());
        mac.update(verification_id.as_bytes());
        mac.update(&[0]);
        mac.update(code.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// HMAC-SHA256 of a high-entropy bearer secret (admin token, client secret),
    /// hex-encoded for storage and lookup. These secrets carry 256 bits of entropy, so
    /// a keyed hash is enough; a slow password hash would only cost latency.
    pub fn token_hash(&self, token: &str) -> String {
        let mut mac = hmac_with(self.token_hmac.expose_secret());
        mac.update(token.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Encrypts with AES-256-GCM; output is `nonce || ciphertext`. `context` is bound as
    /// associated data (e.g. the row id) so a ciphertext cannot be moved to another row.
    pub fn encrypt(&self, plaintext: &[u8], context: &str) -> Result<Vec<u8>, CryptoError> {
        let cipher = Aes256Gcm::new(self.encryption.expose_secret().into());
        let mut nonce = [0u8; 12];
        fill_random(&mut nonce)?;
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                aes_gcm::aead::Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)?;
        let mut out = nonce.to_vec();
        out.extend(ct);
        Ok(out)
    }

    pub fn decrypt(&self, data: &[u8], context: &str) -> Result<Vec<u8>, CryptoError> {
        if data.len() < 12 {
            return Err(CryptoError::Decrypt);
        }
        let cipher = Aes256Gcm::new(self.encryption.expose_secret().into());
        let (nonce, ct) = data.split_at(12);
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                aes_gcm::aead::Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)
    }
}

fn hmac_with(key: &[u8; 64]) -> HmacSha256 {
    <HmacSha256 as KeyInit>::new(key.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::derive(&SecretString::from("x".repeat(40))).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn short_master_refused() {
        assert_eq!(
            Keys::derive(&SecretString::from("short")).err(),
            Some(CryptoError::MasterTooShort)
        );
    }

    #[test]
    fn encrypt_roundtrip_and_context_binding() {
        let k = keys();
        let ct = k.encrypt(b"token", "row-1").unwrap_or_default();
        assert_eq!(k.decrypt(&ct, "row-1").ok(), Some(b"token".to_vec()));
        assert_eq!(k.decrypt(&ct, "row-2").err(), Some(CryptoError::Decrypt));
    }

    #[test]
    fn code_hmac_binds_verification() {
        let k = keys();
        assert_ne!(k.code_hmac("a", "123456"), k.code_hmac("b", "123456"));
        assert!(ct_eq(&k.code_hmac("a", "1"), &k.code_hmac("a", "1")));
    }
}
