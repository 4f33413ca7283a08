//! The OpenID Connect endpoints. Protocol decisions live in `idgate-oidc`; these
//! handlers read requests, call it, and write responses.
//!
//! `/authorize` accepts cross-site GET and POST (that is how relying parties send users
//! here); `/token`, `/userinfo` and `/revoke` are server-to-server and authenticate the
//! client or the bearer token instead of relying on cookies.

pub mod authorize;
pub mod builtin;
pub mod errors;
pub mod issue;
pub mod logout;
pub mod state;
pub mod token;
pub mod userinfo;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use idgate_oidc::discovery;

pub use state::{OidcSettings, OidcStartError, OidcState};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(configuration))
        .route(discovery::JWKS, get(jwks))
        .route(
            discovery::AUTHORIZE,
            get(authorize::get_authorize).post(authorize::post_authorize),
        )
        .route(discovery::TOKEN, post(token::token))
        .route(
            discovery::USERINFO,
            get(userinfo::get_userinfo).post(userinfo::post_userinfo),
        )
        .route(discovery::REVOKE, post(token::revoke))
        .route(
            discovery::END_SESSION,
            get(logout::get_logout).post(logout::post_logout),
        )
}

async fn configuration(State(state): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        state.discovery_json(),
    )
        .into_response()
}

async fn jwks(State(state): State<AppState>) -> Response {
    match state.oidc.ring().await {
        Ok(ring) => (
            [
                (header::CONTENT_TYPE, "application/jwk-set+json"),
                (header::CACHE_CONTROL, "public, max-age=60"),
            ],
            ring.jwks_bytes(),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "loading signing keys failed");
            errors::json(&idgate_oidc::OAuthError::server_error())
        }
    }
}
