//! The one middleware every request passes through: it finds the client's address,
//! names the request (`x-request-id`), opens its log span, and on the way out adds the
//! security headers, echoes the request id and counts the request in the metrics.
//!
//! These were six separate layers; each boxed the request's future again and walked
//! the headers again, which on small answers (discovery, JWKS) cost more than the
//! answer itself. One pass does the same work.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::client_ip::{self, ClientIp};
use crate::metrics;
use crate::security_headers::{self, SecuritySettings};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest `x-request-id` taken from a caller; longer (or non-printable) ones are
/// replaced, so a log line cannot be stuffed through it.
const MAX_REQUEST_ID: usize = 128;

/// Middleware: see the module documentation.
pub async fn middleware(
    State(settings): State<Arc<SecuritySettings>>,
    mut req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let peer: Option<IpAddr> = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = peer.map(|p| settings.trusted_proxies.client_ip(p, req.headers()));
    if let Some(ip) = ip {
        req.extensions_mut().insert(ClientIp(ip));
    }
    let https = settings.issuer_https
        || settings
            .trusted_proxies
            .forwarded_https(peer, req.headers());
    let request_id = request_id(&req);
    req.headers_mut().insert(REQUEST_ID, request_id.clone());
    let dev_page = req.uri().path().starts_with("/dev/");
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| metrics::route_label(p.as_str()))
        .unwrap_or("unmatched");
    let method = metrics::method_label(req.method());
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        path = %loggable_path(req.uri().path()),
        request_id = %request_id.to_str().unwrap_or("-"),
    );
    let mut resp = client_ip::CURRENT
        .scope(ip, next.run(req))
        .instrument(span.clone())
        .await;
    security_headers::add(&settings, https, dev_page, &mut resp);
    resp.headers_mut().entry(REQUEST_ID).or_insert(request_id);
    let status = resp.status();
    let elapsed = start.elapsed();
    metrics::record(method, route, status.as_u16(), elapsed);
    if status.is_server_error() {
        span.in_scope(|| {
            tracing::error!(
                status = status.as_u16(),
                latency_ms = elapsed.as_millis() as u64,
                "request failed"
            );
        });
    }
    resp
}

/// The caller's `x-request-id` when it is short and printable, or a new one.
fn request_id(req: &Request) -> HeaderValue {
    if let Some(v) = req.headers().get(&REQUEST_ID)
        && !v.is_empty()
        && v.len() <= MAX_REQUEST_ID
        && v.as_bytes().iter().all(|b| b.is_ascii_graphic())
    {
        return v.clone();
    }
    new_request_id()
}

/// A UUID-shaped id unique within this process (a counter) and, with overwhelming
/// probability, across processes (a random per-process prefix). No system call per
/// request, unlike a random v4 UUID.
fn new_request_id() -> HeaderValue {
    static PREFIX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let id = uuid::Uuid::from_u64_pair(prefix, n);
    let mut buf = uuid::Uuid::encode_buffer();
    HeaderValue::from_str(id.hyphenated().encode_lower(&mut buf))
        .unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// The path as logged: without its query (queries can carry codes) and without the
/// secret segment of a delivery-report webhook (`/hooks/<kind>/<provider>/<secret>`).
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    if let Some(rest) = path.strip_prefix("/hooks/") {
        let mut parts = rest.splitn(3, '/');
        let kind = parts.next().unwrap_or("");
        let provider = parts.next().unwrap_or("");
        return format!("/hooks/{kind}/{provider}/[redacted]").into();
    }
    path.into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn webhook_secrets_are_not_logged() {
        let p = loggable_path("/hooks/d7/prov_1/s3cr3t-value");
        assert_eq!(p, "/hooks/d7/prov_1/[redacted]");
        assert!(!p.contains("s3cr3t"));
        assert_eq!(loggable_path("/api/v1/users"), "/api/v1/users");
    }

    #[test]
    fn request_ids_are_unique_and_uuid_shaped() {
        let a = new_request_id();
        let b = new_request_id();
        assert_ne!(a, b);
        assert!(uuid::Uuid::parse_str(a.to_str().unwrap()).is_ok());
    }

    #[test]
    fn caller_request_ids_are_kept_only_when_sane() {
        let with = |v: &str| {
            let req = Request::builder()
                .header("x-request-id", v)
                .body(axum::body::Body::empty())
                .unwrap();
            request_id(&req)
        };
        assert_eq!(with("trace-me-123"), "trace-me-123");
        assert_ne!(with(&"x".repeat(200)), "x".repeat(200).as_str());
        assert_ne!(with("has space"), "has space");
    }
}
