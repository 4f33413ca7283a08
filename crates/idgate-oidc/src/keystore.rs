//! Signing keys in the store: created on first start (one per algorithm), rotated on
//! demand, loaded into a [`KeyRing`]. Private keys are encrypted under the master
//! secret's key with the key id as associated data.

use idgate_core::UnixTime;
use idgate_core::crypto::Keys;
use idgate_core::signing_key::{KeyStatus, SigningKeyRecord};
use idgate_core::store::{Store, StoreError};
use zeroize::Zeroizing;

use crate::keys::{KeyRing, LoadedKey, SigningAlg, generate};

#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    #[error("signing key {0} cannot be decrypted: was the master secret changed?")]
    Decrypt(String),
}

fn record(keys: &Keys, alg: SigningAlg, now: UnixTime) -> Result<SigningKeyRecord, KeyStoreError> {
    let g = generate(alg)?;
    let enc = keys
        .encrypt(
            g.private_pem.as_bytes(),
            &SigningKeyRecord::encryption_context(&g.kid),
        )
        .map_err(|_| KeyStoreError::Decrypt(g.kid.clone()))?;
    Ok(SigningKeyRecord {
        kid: g.kid,
        alg: alg.as_str().to_string(),
        private_key_enc: enc,
        public_jwk: g.public_jwk,
        status: KeyStatus::Active,
        created_at: now,
        retire_until: None,
    })
}

/// Creates an active key for every algorithm that has none. Safe on several nodes at
/// once: the store allows one active key per algorithm, and the loser keeps the winner's.
pub async fn ensure_keys(
    store: &dyn Store,
    keys: &Keys,
    now: UnixTime,
) -> Result<(), KeyStoreError> {
    let existing = store.list_signing_keys(now).await?;
    for alg in SigningAlg::ALL {
        let has = existing
            .iter()
            .any(|k| k.alg == alg.as_str() && k.status == KeyStatus::Active);
        if has {
            continue;
        }
        match store.insert_signing_key(&record(keys, alg, now)?).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Replaces the active key of each algorithm with a new one; the old keys stay in the
/// JWKS until `now + keep_secs` (longer than any token they signed lives).
pub async fn rotate(
    store: &dyn Store,
    keys: &Keys,
    now: UnixTime,
    keep_secs: i64,
) -> Result<Vec<String>, KeyStoreError> {
    let mut kids = Vec::new();
    for alg in SigningAlg::ALL {
        let rec = record(keys, alg, now)?;
        kids.push(format!("{} {}", alg.as_str(), rec.kid));
        store.rotate_signing_key(&rec, now + keep_secs).await?;
    }
    Ok(kids)
}

/// Loads every published key into a ring (decrypting the active ones).
pub async fn load(store: &dyn Store, keys: &Keys, now: UnixTime) -> Result<KeyRing, KeyStoreError> {
    let records = store.list_signing_keys(now).await?;
    let mut pems: Vec<Zeroizing<String>> = Vec::with_capacity(records.len());
    for r in &records {
        if r.status == KeyStatus::Active {
            let plain = keys
                .decrypt(
                    &r.private_key_enc,
                    &SigningKeyRecord::encryption_context(&r.kid),
                )
                .map_err(|_| KeyStoreError::Decrypt(r.kid.clone()))?;
            let pem =
                String::from_utf8(plain).map_err(|_| KeyStoreError::Decrypt(r.kid.clone()))?;
            pems.push(Zeroizing::new(pem));
        } else {
            pems.push(Zeroizing::new(String::new()));
        }
    }
    Ok(KeyRing::load(records.iter().zip(pems.iter()).map(
        |(r, pem)| LoadedKey {
            kid: &r.kid,
            alg: &r.alg,
            private_pem: pem,
            public_jwk: &r.public_jwk,
            active: r.status == KeyStatus::Active,
        },
    ))?)
}
