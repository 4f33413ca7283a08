//! Delivery-report webhooks: `POST /hooks/d7/{provider}/{secret}` (D7, and custom
//! gateways that speak D7's report) and `POST /hooks/twilio/{provider}/{secret}`.
//!
//! The secret in the path is generated per provider and compared in constant time; a
//! wrong one (or an unknown provider) is a plain 404 and changes nothing. A report for a
//! message idgate does not know is answered 200 (the gateway would retry forever
//! otherwise) and logged.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use idgate_core::provider_config::ProviderKind;
use idgate_notify::dlr::{self, Applied, Report};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/hooks/d7/{provider}/{secret}", post(d7))
        .route("/hooks/twilio/{provider}/{secret}", post(twilio))
}

async fn d7(
    State(state): State<AppState>,
    Path((provider, secret)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    handle(
        &state,
        &provider,
        &secret,
        &[
            ProviderKind::D7Sms,
            ProviderKind::D7Whatsapp,
            ProviderKind::Custom,
        ],
        dlr::parse_d7(&body),
    )
    .await
}

async fn twilio(
    State(state): State<AppState>,
    Path((provider, secret)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    handle(
        &state,
        &provider,
        &secret,
        &[ProviderKind::Twilio],
        dlr::parse_twilio(&body),
    )
    .await
}

async fn handle(
    state: &AppState,
    provider_id: &str,
    secret: &str,
    kinds: &[ProviderKind],
    parsed: Result<Report, dlr::ReportError>,
) -> Response {
    let not_found = || ApiError::not_found("webhook").into_response();
    let row = match state.store.get_provider(provider_id).await {
        Ok(Some(p)) if kinds.contains(&p.kind) => p,
        Ok(_) => return not_found(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !state
        .dispatcher
        .registry()
        .webhook_secret_matches(&row, secret)
    {
        tracing::warn!(provider = %row.name, "delivery report with a wrong webhook secret refused");
        return not_found();
    }
    let report = match parsed {
        Ok(r) => r,
        Err(e) => return ApiError::bad_request(e.to_string()).into_response(),
    };
    match dlr::apply(&state.store, row.channel, &row.name, &report, state.now()).await {
        Ok(Applied::Updated { message_id, status }) => {
            tracing::info!(message = %message_id, provider = %row.name, status = status.as_str(), raw = %report.raw_status, "delivery report applied");
        }
        Ok(Applied::Ignored { message_id }) => {
            tracing::info!(message = %message_id, provider = %row.name, raw = %report.raw_status, "delivery report changed nothing");
        }
        Ok(Applied::UnknownMessage) => {
            tracing::warn!(provider = %row.name, request_id = %report.provider_message_id, "delivery report for an unknown message");
        }
        Err(e) => return ApiError::from(e).into_response(),
    }
    (StatusCode::OK, Json(json!({"received": true}))).into_response()
}
