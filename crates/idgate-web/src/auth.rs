//! Caller authentication for the JSON APIs: admin bearer tokens and application
//! (client id + secret) Basic credentials. Secrets are compared as keyed hashes in
//! constant time.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use idgate_core::admin_token::{ADMIN_TOKEN_PREFIX, AdminToken};
use idgate_core::application::Application;
use idgate_core::crypto::ct_eq;

use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated admin API caller.
#[derive(Debug, Clone)]
pub struct Admin {
    pub token: AdminToken,
    /// Set when the caller is a signed-in console user rather than a bearer token; `token`
    /// then describes the console session (id = session id, name = username).
    pub console_user: Option<String>,
}

impl Admin {
    /// The actor name for audit events.
    pub fn actor(&self) -> String {
        match &self.console_user {
            Some(username) => format!("user:{username}"),
            None => format!("admin-token:{}", self.token.name),
        }
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The console's own scripts call the API with the console cookie and its CSRF header.
        if parts.headers.get(AUTHORIZATION).is_none()
            && let Some(admin) = crate::console::session::api_admin(state, &parts.headers).await?
        {
            return Ok(admin);
        }
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "send an admin token as `Authorization: Bearer idg_admin_…` (create one with `idgate admin token create --name NAME`)",
                )
            })?;
        let token = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| t.starts_with(ADMIN_TOKEN_PREFIX))
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be `Bearer idg_admin_…`")
            })?;
        let hash = state.keys.token_hash(token);
        match state.store.find_admin_token(&hash).await? {
            Some(t)
                if ct_eq(t.token_hash.as_bytes(), hash.as_bytes()) && t.is_usable(state.now()) =>
            {
                touch(state, &t).await;
                Ok(Admin {
                    token: t,
                    console_user: None,
                })
            }
            _ => Err(ApiError::unauthorized(
                "the admin token is unknown, revoked or expired",
            )),
        }
    }
}

/// How stale a token's "last used" time may get before a request refreshes it: one
/// write a minute per token at most, however busy the token.
const LAST_USED_EVERY_SECS: i64 = 60;

/// Records the use of an admin token (best effort: a failed write is logged, the request
/// goes on).
async fn touch(state: &AppState, t: &AdminToken) {
    let now = state.now();
    if t.last_used_at
        .is_some_and(|at| now - at < LAST_USED_EVERY_SECS && at <= now)
    {
        return;
    }
    if let Err(e) = state.store.touch_admin_token(&t.id, now).await {
        tracing::warn!(error = %e, "recording an admin token's last use failed");
    }
}

/// An application authenticated with HTTP Basic `client_id:client_secret`.
#[derive(Debug, Clone)]
pub struct Client {
    pub app: Application,
}

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let missing = || {
            ApiError::unauthorized(
                "authenticate with HTTP Basic: the application's client_id as user name and its client_secret as password",
            )
        };
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(missing)?;
        let encoded = header.strip_prefix("Basic ").ok_or_else(missing)?;
        let decoded = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "the Basic credentials are not valid base64 of client_id:client_secret",
                )
            })?;
        let (client_id, secret) = decoded.split_once(':').ok_or_else(missing)?;
        let bad = || ApiError::unauthorized("unknown client or wrong client secret");
        let app = state.store.get_application(client_id).await?;
        // Hash even for unknown clients so both paths cost the same.
        let presented = state.keys.token_hash(secret);
        let app = app.ok_or_else(bad)?;
        match &app.client_secret_hash {
            Some(stored) if ct_eq(stored.as_bytes(), presented.as_bytes()) => Ok(Client { app }),
            Some(_) => Err(bad()),
            None => Err(ApiError::unauthorized(
                "this application is public (no secret); the Verify API needs a confidential application",
            )),
        }
    }
}
