//! The configured providers of each channel, built into senders.
//!
//! The truth is the `providers` table; this keeps a short-lived copy per channel (a TTL
//! of a couple of seconds, cleared at once on a local change) so a send does not decrypt
//! and rebuild every provider, while a change made on another node is seen within the TTL.
//! With no enabled provider for a channel and the dev outbox on, the outbox serves it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use idgate_core::crypto::Keys;
use idgate_core::otp::Channel;
use idgate_core::provider_config::{ProviderKind, ProviderRecord};
use idgate_core::store::{Store, StoreError};

use crate::outbox::{DevOutboxProvider, SharedOutbox};
use crate::provider::Provider;
use crate::providers::{BuildContext, ProviderSpec, build, echoable_secrets};
use crate::scrub::Scrubber;
use crate::secrets::{ProviderSecrets, WEBHOOK_SECRET};

/// How long a channel's provider list is reused.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(2);

/// A provider ready to send, with what the dispatcher needs to know about it.
pub struct Configured {
    /// `None` for the implicit dev outbox (no row).
    pub id: Option<String>,
    pub name: String,
    pub kind: ProviderKind,
    /// Overrides the policy's attempt timeout.
    pub timeout: Option<Duration>,
    pub provider: Arc<dyn Provider>,
    /// Removes this provider's secrets (and the number, the code) from gateway text.
    pub scrubber: Arc<Scrubber>,
}

type Cached = (Instant, Arc<Vec<Arc<Configured>>>);

pub struct Registry {
    store: Arc<dyn Store>,
    keys: Option<Arc<Keys>>,
    client: reqwest::Client,
    outbox: Option<SharedOutbox>,
    issuer: Option<String>,
    ttl: Duration,
    cache: Mutex<HashMap<Channel, Cached>>,
}

impl Registry {
    pub fn new(
        store: Arc<dyn Store>,
        client: reqwest::Client,
        outbox: Option<SharedOutbox>,
    ) -> Self {
        Self {
            store,
            keys: None,
            client,
            outbox,
            issuer: None,
            ttl: DEFAULT_CACHE_TTL,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn set_keys(&mut self, keys: Arc<Keys>) {
        self.keys = Some(keys);
    }

    pub fn set_issuer(&mut self, issuer: &str) {
        self.issuer = Some(issuer.trim_end_matches('/').to_string());
    }

    pub fn set_ttl(&mut self, ttl: Duration) {
        self.ttl = ttl;
    }

    pub fn outbox(&self) -> Option<&SharedOutbox> {
        self.outbox.as_ref()
    }

    /// Forgets every cached list (after a change through this node's API).
    pub fn invalidate(&self) {
        if let Ok(mut c) = self.cache.lock() {
            c.clear();
        }
    }

    /// The channel's enabled providers in failover order.
    pub async fn providers(
        &self,
        channel: Channel,
    ) -> Result<Arc<Vec<Arc<Configured>>>, StoreError> {
        if let Ok(c) = self.cache.lock()
            && let Some((at, list)) = c.get(&channel)
            && at.elapsed() < self.ttl
        {
            return Ok(list.clone());
        }
        let rows = self.store.list_providers(Some(channel)).await?;
        let mut list = Vec::new();
        for row in rows.iter().filter(|r| r.enabled) {
            match self.build(row) {
                Ok(p) => list.push(Arc::new(p)),
                // A broken row must not stop the others from sending.
                Err(reason) => tracing::error!(
                    provider = %row.name, channel = %channel, %reason,
                    "provider skipped: it cannot be built"
                ),
            }
        }
        if list.is_empty()
            && let Some(outbox) = &self.outbox
        {
            list.push(Arc::new(Configured {
                id: None,
                name: DevOutboxProvider::KIND.to_string(),
                kind: ProviderKind::DevOutbox,
                timeout: None,
                provider: Arc::new(DevOutboxProvider::new(outbox.clone())),
                scrubber: Arc::default(),
            }));
        }
        let list = Arc::new(list);
        if let Ok(mut c) = self.cache.lock() {
            c.insert(channel, (Instant::now(), list.clone()));
        }
        Ok(list)
    }

    /// One configured provider (for a test send of a named provider).
    pub async fn provider(&self, id: &str) -> Result<Option<Configured>, String> {
        match self.store.get_provider(id).await {
            Ok(Some(row)) => self.build(&row).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Decrypts, validates and builds a row.
    pub fn build(&self, row: &ProviderRecord) -> Result<Configured, String> {
        let secrets = self.secrets(row)?;
        let (spec, _) = ProviderSpec::validate(row.kind, row.channel, &row.settings, &secrets)
            .map_err(|e| e.to_string())?;
        let timeout = spec.timeout();
        let scrubber = Arc::new(Scrubber::new(echoable_secrets(&spec, &secrets)));
        let report_url = self.report_url(row, &secrets);
        let ctx = BuildContext {
            client: self.client.clone(),
            outbox: self.outbox.clone(),
            report_url,
        };
        let provider = build(spec, &row.name, &secrets, &ctx).map_err(|e| e.to_string())?;
        Ok(Configured {
            id: Some(row.id.clone()),
            name: row.name.clone(),
            kind: row.kind,
            timeout,
            provider,
            scrubber,
        })
    }

    /// A row's secrets, decrypted (the webhooks check signatures with them).
    pub fn secrets(&self, row: &ProviderRecord) -> Result<ProviderSecrets, String> {
        let keys = self
            .keys
            .as_ref()
            .ok_or_else(|| "no keys to decrypt provider secrets".to_string())?;
        ProviderSecrets::open(keys, &row.id, &row.secrets_ciphertext).map_err(|e| e.to_string())
    }

    /// The delivery-report URL of a provider: `<issuer>/hooks/d7/<id>/<secret>` (Twilio
    /// rewrites it to its own hook).
    pub fn report_url(&self, row: &ProviderRecord, secrets: &ProviderSecrets) -> Option<String> {
        let issuer = self.issuer.as_ref()?;
        let secret = secrets.get(WEBHOOK_SECRET)?;
        Some(format!("{issuer}/hooks/d7/{}/{secret}", row.id))
    }
}
