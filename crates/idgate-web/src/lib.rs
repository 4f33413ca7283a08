//! idgate's HTTP surface: routers, middleware and pages. Handlers stay thin: the
//! logic they call lives in `idgate-core`, `idgate-notify` and `idgate-oidc`.

pub mod api;
pub mod audit;
pub mod auth;
pub mod client_ip;
pub mod console;
pub mod demo;
pub mod dev_outbox;
pub mod edge;
pub mod error;
pub mod health;
pub mod hooks;
pub mod json;
pub mod login;
pub mod metrics;
pub mod oidc;
pub mod openapi;
pub mod pages;
pub mod security_headers;
pub mod session;
pub mod state;
pub mod throttle;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

pub use state::{AppState, AppStateParts, WebSettings};

use crate::error::ApiError;

/// The whole application router with its middleware.
pub fn router(state: AppState) -> Router {
    let settings = state.settings.clone();
    let mut app = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render))
        .merge(api::router())
        .merge(openapi::router())
        .merge(console::router())
        .merge(hooks::router())
        .merge(oidc::router())
        .merge(login::router())
        .merge(pages::router());
    if state.outbox.is_some() {
        app = app.merge(dev_outbox::router());
    }
    if state.settings.demo {
        app = app.merge(demo::router());
    }
    // Make sure the recorder exists before the first request is counted.
    let _ = metrics::handle();
    app.fallback(not_found)
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(settings.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(settings.request_timeout_secs),
        ))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal().into_response()
        }))
        // Client address, request id, log span, security headers (`Referrer-Policy:
        // same-origin`, not `no-referrer`: under `no-referrer` browsers send
        // `Origin: null` on form posts, which defeats the sign-in forms' origin check)
        // and metrics, in one pass.
        .layer(axum::middleware::from_fn_with_state(
            std::sync::Arc::new(settings.security.clone()),
            edge::middleware,
        ))
}

async fn not_found() -> Response {
    ApiError::not_found("route").into_response()
}
