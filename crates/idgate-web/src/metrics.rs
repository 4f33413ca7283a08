//! Prometheus metrics: requests by route and status, and a latency histogram.
//!
//! The `metrics` crate records into one process-wide recorder, so it is installed once
//! and shared by every server in the process (tests start several).

use std::collections::{HashMap, HashSet};
use std::sync::{OnceLock, RwLock};
use std::time::Duration;

use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often histogram samples are folded into their buckets. Until then each sample
/// is kept, so without this (and without scrapes) memory would grow with every request.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Installs the recorder (first call) and returns its handle.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    LATENCY_BUCKETS,
                )
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                })
                .ok()?;
            Some(handle)
        })
        .as_ref()
}

/// The method as a metric label (anything unusual is `other`: methods are caller input).
pub fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// A route template as a `'static` label. Templates come from the router (never the raw
/// path, which could carry ids), so there are as many as there are routes: each is
/// interned once.
pub fn route_label(route: &str) -> &'static str {
    static ROUTES: OnceLock<RwLock<HashSet<&'static str>>> = OnceLock::new();
    let routes = ROUTES.get_or_init(Default::default);
    if let Some(r) = routes.read().ok().and_then(|set| set.get(route).copied()) {
        return r;
    }
    let Ok(mut set) = routes.write() else {
        return "unmatched";
    };
    if let Some(r) = set.get(route) {
        return r;
    }
    let leaked: &'static str = Box::leak(route.to_string().into_boxed_str());
    set.insert(leaked);
    leaked
}

type Handles = (metrics::Counter, metrics::Histogram);
type HandleKey = (&'static str, &'static str, u16);

/// Counts a request under its route template and status, and records its latency.
/// The handles are looked up once per (method, route, status) and kept: building a
/// metric key with its labels on every request cost more than the smallest answers.
pub fn record(method: &'static str, route: &'static str, status: u16, elapsed: Duration) {
    static CACHE: OnceLock<RwLock<HashMap<HandleKey, Handles>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (method, route, status);
    let cached = cache.read().ok().and_then(|m| m.get(&key).cloned());
    let (counter, histogram) = match cached {
        Some(h) => h,
        None => {
            let h: Handles = (
                metrics::counter!("http_requests_total", "method" => method, "route" => route, "status" => status.to_string()),
                metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route),
            );
            if let Ok(mut m) = cache.write() {
                m.insert(key, h.clone());
            }
            h
        }
    };
    counter.increment(1);
    histogram.record(elapsed.as_secs_f64());
}

/// `GET /metrics`.
pub async fn render() -> Response {
    let body = handle().map(|h| h.render()).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
