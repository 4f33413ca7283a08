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

/// Hex digits of a [`time_ordered_token`]'s time prefix (milliseconds since the Unix
/// epoch: 12 digits last until the year 10889).
const TIME_PREFIX_LEN: usize = 12;

/// Random bytes in a [`time_ordered_token`] (256 bits: 43 URL-safe characters).
const TIME_ORDERED_RANDOM_BYTES: usize = 32;

/// A bearer secret the store finds by its hash — session cookie, authorization code,
/// refresh token: its creation time (milliseconds, 12 hex digits) followed by 256
/// random bits, URL-safe.
///
/// Why the prefix: [`Keys::lookup_hash`] keeps it in front of the HMAC, so these rows'
/// keys sort by creation time. A plain hash puts every new row at a random place in its
/// index; each sign-in then dirtied about six random index pages, every one written to
/// the write-ahead log and checkpointed again (the largest share of SQLite's work per
/// sign-in). Ordered keys land on the same few pages at the index's right edge, and the
/// later update or delete of a young row finds its page still hot. The prefix tells the
/// holder only when the token was made; all of the entropy is in the random part.
pub fn time_ordered_token() -> Result<String, CryptoError> {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let random = random_token(TIME_ORDERED_RANDOM_BYTES)?;
    Ok(format!("{:0width$x}{random}", ms, width = TIME_PREFIX_LEN))
}

/// The time prefix of a token made by [`time_ordered_token`], if `token` has that shape
/// (tokens issued before idgate made them time-ordered do not: 43 random characters).
fn time_prefix(token: &str) -> Option<&str> {
    let random_len = (TIME_ORDERED_RANDOM_BYTES * 4).div_ceil(3);
    let prefix = token.get(..TIME_PREFIX_LEN)?;
    (token.len() == TIME_PREFIX_LEN + random_len
        && prefix
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    .then_some(prefix)
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

    /// The key under which the store keeps a bearer secret it looks up: for a
    /// [`time_ordered_token`], its (non-secret) time prefix followed by
    /// [`token_hash`](Self::token_hash), so keys sort by creation time; for any other
    /// token (one issued by an earlier version) the plain hash, so it is still found.
    /// The two shapes differ in length and never collide.
    pub fn lookup_hash(&self, token: &str) -> String {
        match time_prefix(token) {
            Some(prefix) => {
                let mut key = String::with_capacity(TIME_PREFIX_LEN + 64);
                key.push_str(prefix);
                key.push_str(&self.token_hash(token));
                key
            }
            None => self.token_hash(token),
        }
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

    #[test]
    fn time_ordered_tokens_sort_by_creation_and_keep_their_prefix_in_the_key() {
        let k = keys();
        let a = time_ordered_token().unwrap_or_default();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = time_ordered_token().unwrap_or_default();
        assert_eq!(
            a.len(),
            55,
            "12 hex digits of time + 43 random characters: {a}"
        );
        assert!(a < b, "a later token sorts after an earlier one: {a} {b}");
        let (ka, kb) = (k.lookup_hash(&a), k.lookup_hash(&b));
        assert!(ka < kb, "and so do their keys: {ka} {kb}");
        assert_eq!(&ka[..12], &a[..12]);
        assert_eq!(
            &ka[12..],
            k.token_hash(&a),
            "the rest is the HMAC of the whole token"
        );
        assert!(!ka.contains(&a[12..]), "the random part is not in the key");
        // Two tokens of the same millisecond differ in their random part.
        assert_ne!(time_ordered_token().ok(), time_ordered_token().ok());
    }

    #[test]
    fn tokens_of_other_shapes_are_keyed_by_their_plain_hash() {
        let k = keys();
        // A token issued before time-ordered ones (43 random characters).
        let old = random_token(32).unwrap_or_default();
        assert_eq!(k.lookup_hash(&old), k.token_hash(&old));
        // The right length but a prefix that is not lowercase hex.
        let odd = format!("0192ABCDEF01{}", random_token(32).unwrap_or_default());
        assert_eq!(k.lookup_hash(&odd), k.token_hash(&odd));
        // Non-ASCII at the prefix boundary does not panic.
        let multibyte = format!("0192abcdef0é{}", "x".repeat(42));
        assert_eq!(k.lookup_hash(&multibyte), k.token_hash(&multibyte));
    }
}
