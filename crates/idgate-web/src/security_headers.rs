//! Security headers on every response: a strict Content-Security-Policy (no inline
//! script or style, no framing), `X-Content-Type-Options`, `Referrer-Policy: same-origin`
//! (not `no-referrer`: browsers then send `Origin: null` on the sign-in forms' posts),
//! `X-Frame-Options`, `Cross-Origin-Opener-Policy`, and HSTS when idgate is reached
//! over https (its issuer is https, or a trusted proxy says the request came over https).
//! A handler that sets one of these headers itself keeps its own value.

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

use crate::client_ip::TrustedProxies;

/// The policy for every page and API answer. No `form-action`: a sign-in ends in a
/// redirect (or an auto-posted form) to the application, which browsers check against
/// `form-action` too, and the applications' origins are not known here.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' https: data:; font-src 'self'; connect-src 'self'; base-uri 'none'; \
    object-src 'none'; frame-ancestors 'none'";

/// The dev outbox page (dev mode only) has an inline style.
const CSP_DEV: &str = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; \
    base-uri 'none'; object-src 'none'; frame-ancestors 'none'";

/// Settings for the security middleware and the client-address extractor.
#[derive(Debug, Clone)]
pub struct SecuritySettings {
    /// Proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed.
    pub trusted_proxies: TrustedProxies,
    /// `Strict-Transport-Security: max-age`; 0 = never send HSTS.
    pub hsts_max_age_secs: u64,
    /// The public URL is https: every response is (as far as browsers see) over https.
    pub issuer_https: bool,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        Self {
            trusted_proxies: TrustedProxies::default(),
            hsts_max_age_secs: 31_536_000,
            issuer_https: false,
        }
    }
}

fn set_default(resp: &mut Response, name: HeaderName, value: HeaderValue) {
    resp.headers_mut().entry(name).or_insert(value);
}

/// Adds the headers to an answer (see [`crate::edge::middleware`]): `https` when the
/// request came over https (HSTS), `dev_page` for the dev outbox's looser policy.
pub fn add(settings: &SecuritySettings, https: bool, dev_page: bool, resp: &mut Response) {
    set_default(
        resp,
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if dev_page { CSP_DEV } else { CSP }),
    );
    set_default(
        resp,
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    set_default(
        resp,
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    set_default(
        resp,
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("DENY"),
    );
    set_default(
        resp,
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    if https
        && settings.hsts_max_age_secs > 0
        && let Ok(v) = HeaderValue::from_str(&format!(
            "max-age={}; includeSubDomains",
            settings.hsts_max_age_secs
        ))
    {
        set_default(resp, header::STRICT_TRANSPORT_SECURITY, v);
    }
}
