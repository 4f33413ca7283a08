//! Security headers on every response: a strict Content-Security-Policy (no inline
//! script or style, no framing), `X-Content-Type-Options`, `Referrer-Policy: same-origin`
//! (not `no-referrer`: browsers then send `Origin: null` on the sign-in forms' posts),
//! `X-Frame-Options`, `Cross-Origin-Opener-Policy`, and HSTS when idgate is reached
//! over https (its issuer is https, or a trusted proxy says the request came over https).
//! A handler that sets one of these headers itself keeps its own value.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
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

/// Middleware: adds the headers after the handler ran.
pub async fn apply(
    State(settings): State<Arc<SecuritySettings>>,
    req: Request,
    next: Next,
) -> Response {
    let peer: Option<IpAddr> = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let https = settings.issuer_https
        || settings
            .trusted_proxies
            .forwarded_https(peer, req.headers());
    let dev_page = req.uri().path().starts_with("/dev/");
    let mut resp = next.run(req).await;
    set_default(
        &mut resp,
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if dev_page { CSP_DEV } else { CSP }),
    );
    set_default(
        &mut resp,
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    set_default(
        &mut resp,
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    set_default(
        &mut resp,
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("DENY"),
    );
    set_default(
        &mut resp,
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
        set_default(&mut resp, header::STRICT_TRANSPORT_SECURITY, v);
    }
    resp
}
