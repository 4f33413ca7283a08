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

#[derive(Clone)]
pub struct AppState {
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

impl AppState {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}
