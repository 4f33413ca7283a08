//! What every handler can reach. Passed in by the binary, never global.

use std::sync::Arc;

use idgate_core::clock::SharedClock;
use idgate_core::crypto::Keys;
use idgate_core::otp::OtpEngine;
use idgate_core::store::Store;
use idgate_notify::dispatcher::Dispatcher;
use idgate_notify::outbox::DevOutbox;

/// Settings the web layer needs from the configuration.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// The public base URL (OIDC issuer).
    pub issuer: String,
    pub dev_mode: bool,
    /// Region for phone numbers typed without a country code.
    pub default_region: Option<String>,
    pub body_limit_bytes: usize,
    pub request_timeout_secs: u64,
    /// Trusted proxies and HSTS (security headers, client addresses for rate limits).
    pub security: crate::security_headers::SecuritySettings,
    /// The click-through demo at `/demo` (dev mode only).
    pub demo: bool,
}

/// What every handler can reach, behind one `Arc`: axum clones the state for every
/// request, and one reference count is cheaper to bump than one per field (the
/// counters are shared between cores, so every bump is cache traffic).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

struct Shared {
    parts: AppStateParts,
    /// The discovery document depends only on the issuer: serialized once.
    discovery_json: axum::body::Bytes,
}

impl AppState {
    pub fn new(parts: AppStateParts) -> Self {
        let doc = idgate_oidc::discovery::document(&parts.settings.issuer);
        let discovery_json = serde_json::to_vec(&doc).unwrap_or_default().into();
        Self(Arc::new(Shared {
            parts,
            discovery_json,
        }))
    }

    /// `/.well-known/openid-configuration`, ready to send.
    pub fn discovery_json(&self) -> axum::body::Bytes {
        self.0.discovery_json.clone()
    }
}

impl std::ops::Deref for AppState {
    type Target = AppStateParts;

    fn deref(&self) -> &AppStateParts {
        &self.0.parts
    }
}

pub struct AppStateParts {
    pub store: Arc<dyn Store>,
    pub keys: Arc<Keys>,
    pub clock: SharedClock,
    pub otp: OtpEngine,
    /// Present when the dev outbox is enabled; its pages are mounted only then.
    pub outbox: Option<Arc<DevOutbox>>,
    pub settings: Arc<WebSettings>,
    /// The notifier behind `otp`: provider cache, test sends, webhook secrets.
    pub dispatcher: Arc<Dispatcher>,
    /// Signing keys, lifetimes, branding and the password-hash pool for OIDC and sign-in.
    pub oidc: Arc<crate::oidc::OidcState>,
}

impl AppStateParts {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}
