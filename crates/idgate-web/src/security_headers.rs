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

/// Whether a state-changing browser request (a form post) comes from idgate's own pages,
/// by the browser's own headers: `Sec-Fetch-Site` (when sent) is `same-origin` or
/// `none`, and `Origin` (when sent) is the issuer's origin. Sign-in forms and every
/// console post check this on top of their CSRF token.
pub fn same_origin_post(headers: &axum::http::HeaderMap, issuer: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
        && origin != issuer_origin(issuer)
    {
        return false;
    }
    true
}

/// `scheme://host[:port]` of the issuer URL.
fn issuer_origin(issuer: &str) -> &str {
    let after_scheme = issuer.find("://").map_or(0, |i| i + 3);
    match issuer[after_scheme..].find('/') {
        Some(i) => &issuer[..after_scheme + i],
        None => issuer,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn origin_of_issuer() {
        assert_eq!(
            super::issuer_origin("https://id.example.com/tenant"),
            "https://id.example.com"
        );
        assert_eq!(
            super::issuer_origin("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        );
    }
}
