//! What the OIDC and sign-in handlers share: the key ring (a cache of the store's
//! keys, reloaded every [`RING_TTL`] so a rotation on another node reaches this one),
//! lifetimes, branding, and the bounded pool for password hashing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use idgate_core::clock::SharedClock;
use idgate_core::crypto::Keys;
use idgate_core::password::{
    Argon2Params, HashMemory, PasswordError, dummy_hash, verify_password_in,
};
use idgate_core::store::Store;
use idgate_core::store::StoreError;
use idgate_oidc::keystore::{self, KeyStoreError};
use idgate_oidc::{KeyRing, Lifetimes, SigningAlg};
use std::sync::RwLock;
use tokio::sync::Semaphore;

use crate::pages::Brand;

/// How long a loaded key ring is trusted before re-reading the store.
const RING_TTL: Duration = Duration::from_secs(30);

/// Settings the binary passes in from the configuration.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub lifetimes: Lifetimes,
    pub session_ttl: i64,
    pub argon2: Argon2Params,
    pub brand: Brand,
}

impl Default for OidcSettings {
    fn default() -> Self {
        Self {
            lifetimes: Lifetimes::default(),
            session_ttl: 12 * 3600,
            argon2: Argon2Params::default(),
            brand: Brand::default(),
        }
    }
}

/// How tokens for one application are made: its lifetimes (the server's, with the
/// application's overrides) and its ID-token algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientTokens {
    pub lifetimes: Lifetimes,
    pub id_token_alg: SigningAlg,
}

#[derive(Debug, thiserror::Error)]
pub enum OidcStartError {
    #[error(transparent)]
    Keys(#[from] KeyStoreError),
    #[error("preparing the password hasher: {0}")]
    Password(#[from] PasswordError),
}

pub struct OidcState {
    pub lifetimes: Lifetimes,
    pub session_ttl: i64,
    pub brand: Brand,
    /// Parameters for new password hashes (admin password resets).
    pub argon2: Argon2Params,
    dummy_hash: String,
    hashing: Semaphore,
    /// Argon2 working memory, one per hash that may run at once (`hashing`'s permits),
    /// reused instead of allocated per verification.
    hash_memory: std::sync::Mutex<Vec<HashMemory>>,
    /// A std lock, not tokio's: it is never held across an await, and tokio's read guard
    /// takes a mutex on every release, which the two cores fought over on each JWKS
    /// answer and each signature.
    ring: RwLock<(Arc<KeyRing>, Instant)>,
    store: Arc<dyn Store>,
    keys: Arc<Keys>,
    clock: SharedClock,
}

impl std::fmt::Debug for OidcState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OidcState")
    }
}

impl OidcState {
    /// Creates the signing keys on first start and loads them.
    pub async fn start(
        store: Arc<dyn Store>,
        keys: Arc<Keys>,
        clock: SharedClock,
        settings: OidcSettings,
    ) -> Result<Self, OidcStartError> {
        let now = clock.now();
        keystore::ensure_keys(store.as_ref(), &keys, now).await?;
        let ring = keystore::load(store.as_ref(), &keys, now).await?;
        let params = settings.argon2;
        let dummy = tokio::task::spawn_blocking(move || dummy_hash(&params))
            .await
            .map_err(|e| PasswordError::Hash(e.to_string()))??;
        // One core fewer than the machine has (at least one): a login storm queues here
        // and leaves a core for code checks, token requests and everything else.
        let permits =
            std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1));
        Ok(Self {
            lifetimes: settings.lifetimes,
            session_ttl: settings.session_ttl,
            brand: settings.brand,
            argon2: params,
            dummy_hash: dummy,
            hashing: Semaphore::new(permits),
            hash_memory: std::sync::Mutex::new(Vec::new()),
            ring: RwLock::new((Arc::new(ring), Instant::now())),
            store,
            keys,
            clock,
        })
    }

    /// Lifetimes and ID-token algorithm for `client_id`, read from the store (one query),
    /// so a change made on any node applies to the next token.
    pub async fn client_tokens(&self, client_id: &str) -> Result<ClientTokens, StoreError> {
        let s = self.store.get_client_oidc_settings(client_id).await?;
        Ok(ClientTokens {
            lifetimes: self.lifetimes.with_overrides(&s.token_lifetimes),
            id_token_alg: s
                .signing_alg
                .as_deref()
                .and_then(SigningAlg::parse)
                .unwrap_or(SigningAlg::Es256),
        })
    }

    /// The current key ring, reloaded from the store when stale.
    pub async fn ring(&self) -> Result<Arc<KeyRing>, KeyStoreError> {
        {
            // A poisoned lock still holds a whole ring (writes replace it in one move).
            let r = self.ring.read().unwrap_or_else(|e| e.into_inner());
            if r.1.elapsed() < RING_TTL {
                return Ok(r.0.clone());
            }
        }
        self.reload().await
    }

    /// Re-reads the keys now (after a rotation, or on an unknown `kid`).
    pub async fn reload(&self) -> Result<Arc<KeyRing>, KeyStoreError> {
        let ring =
            Arc::new(keystore::load(self.store.as_ref(), &self.keys, self.clock.now()).await?);
        *self.ring.write().unwrap_or_else(|e| e.into_inner()) = (ring.clone(), Instant::now());
        Ok(ring)
    }

    /// Verifies a password on the blocking pool, at most one hash per core at a time so a
    /// login storm queues instead of starving everything else. `None` (unknown user)
    /// verifies against a dummy hash, so it costs the same as a real one.
    pub async fn verify_password(&self, password: &str, hash: Option<&str>) -> bool {
        let Ok(_permit) = self.hashing.acquire().await else {
            return false;
        };
        let known = hash.is_some();
        let hash = hash.unwrap_or(&self.dummy_hash).to_string();
        let password = zeroize::Zeroizing::new(password.to_string());
        // Holding a permit, at most `permits` buffers are ever out (or kept) at once.
        let mut memory = self
            .hash_memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default();
        let done = tokio::task::spawn_blocking(move || {
            let ok = verify_password_in(&password, &hash, &mut memory);
            (ok, memory)
        })
        .await;
        match done {
            Ok((ok, memory)) => {
                self.hash_memory
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(memory);
                ok && known
            }
            Err(_) => false,
        }
    }
}
