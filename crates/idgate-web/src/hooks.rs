//! Delivery-report webhooks: `POST /hooks/d7/{provider}/{secret}` (D7, and custom
//! gateways that speak D7's report), `POST /hooks/twilio/{provider}/{secret}` and
//! `GET|POST /hooks/vonage/{provider}/{secret}`.
//!
//! The secret in the path is generated per provider and compared in constant time; a
//! wrong one (or an unknown provider) is a plain 404 and changes nothing. D7 signs
//! nothing, so for D7 (and custom gateways) that secret is the only check. Twilio's
//! callbacks must also carry a valid `X-Twilio-Signature` (HMAC-SHA1 with the auth token
//! over the public URL — from `server.issuer`, so it holds behind a proxy — and the sorted
//! form parameters); Vonage's receipts must carry Vonage's signed-webhook JWT when the
//! provider has a `signature_secret`. A missing or bad signature is a 401, changes
//! nothing and counts in `idgate_webhook_signature_failures_total`. A report for a
//! message idgate does not know is answered 200 (the gateway would retry forever
//! otherwise) and logged.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use idgate_core::crypto::ct_eq;
use idgate_core::provider_config::{ProviderKind, ProviderRecord};
use idgate_notify::dlr::{self, Applied, Report};
use idgate_notify::secrets::{ProviderSecrets, WEBHOOK_SECRET};
use idgate_notify::signatures::{self, SignatureFailure};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// The name of the Vonage provider secret that turns signed receipts on.
pub const VONAGE_SIGNATURE_SECRET: &str = "signature_secret";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/hooks/d7/{provider}/{secret}", post(d7))
        .route("/hooks/twilio/{provider}/{secret}", post(twilio))
        .route(
            "/hooks/vonage/{provider}/{secret}",
            get(vonage_get).post(vonage_post),
        )
}

async fn d7(
    State(state): State<AppState>,
    Path((provider, secret)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let kinds = [
        ProviderKind::D7Sms,
        ProviderKind::D7Whatsapp,
        ProviderKind::Custom,
    ];
    let (row, _) = match authenticate(&state, &provider, &secret, &kinds).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    apply(&state, &row, dlr::parse_d7(&body)).await
}

async fn twilio(
    State(state): State<AppState>,
    Path((provider, secret)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (row, secrets) =
        match authenticate(&state, &provider, &secret, &[ProviderKind::Twilio]).await {
            Ok(r) => r,
            Err(resp) => return resp,
        };
    // The URL Twilio signed is the StatusCallback idgate gave it: the public one.
    let mut url = format!(
        "{}/hooks/twilio/{provider}/{secret}",
        state.settings.issuer.trim_end_matches('/')
    );
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        url.push('?');
        url.push_str(&q);
    }
    let presented = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty());
    let token = secrets.get("auth_token").unwrap_or_default();
    let verdict = match presented {
        None => Err((SignatureFailure::Missing, "no X-Twilio-Signature header")),
        Some(sig) if signatures::twilio_valid_form(token, &url, &body, sig) => Ok(()),
        Some(_) => Err((
            SignatureFailure::Bad,
            "X-Twilio-Signature does not match (is server.issuer the public URL?)",
        )),
    };
    if let Err((failure, why)) = verdict {
        return refuse(&row, failure, why);
    }
    apply(&state, &row, dlr::parse_twilio(&body)).await
}

async fn vonage_get(
    State(state): State<AppState>,
    Path((provider, secret)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = query.unwrap_or_default();
    vonage(&state, &provider, &secret, &headers, query.as_bytes(), true).await
}

async fn vonage_post(
    State(state): State<AppState>,
    Path((provider, secret)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    vonage(&state, &provider, &secret, &headers, &body, false).await
}

async fn vonage(
    state: &AppState,
    provider: &str,
    secret: &str,
    headers: &HeaderMap,
    payload: &[u8],
    is_get: bool,
) -> Response {
    let (row, secrets) = match authenticate(state, provider, secret, &[ProviderKind::Vonage]).await
    {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    if let Some(sig_secret) = secrets.get(VONAGE_SIGNATURE_SECRET) {
        let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
        let verdict = if is_get && authorization.is_some() {
            // The JWT's payload_hash covers the body; a GET's parameters are in the
            // unsigned query, so a signed receipt must be POSTed.
            Err((
                SignatureFailure::Bad,
                "a signed receipt must be POSTed (the signature does not cover a GET's query); set the receipt method to POST-JSON",
            ))
        } else {
            signatures::vonage_check(sig_secret, authorization, payload, state.now())
        };
        if let Err((failure, why)) = verdict {
            return refuse(&row, failure, why);
        }
    }
    apply(state, &row, dlr::parse_vonage(payload)).await
}

/// The provider the path names, if the path's secret is its webhook secret.
async fn authenticate(
    state: &AppState,
    provider_id: &str,
    secret: &str,
    kinds: &[ProviderKind],
) -> Result<(ProviderRecord, ProviderSecrets), Response> {
    let not_found = || ApiError::not_found("webhook").into_response();
    let row = match state.store.get_provider(provider_id).await {
        Ok(Some(p)) if kinds.contains(&p.kind) => p,
        Ok(_) => return Err(not_found()),
        Err(e) => return Err(ApiError::from(e).into_response()),
    };
    let secrets = state.dispatcher.registry().secrets(&row).ok();
    let matches = secrets.as_ref().is_some_and(|s| {
        s.get(WEBHOOK_SECRET)
            .is_some_and(|w| ct_eq(w.as_bytes(), secret.as_bytes()))
    });
    match secrets {
        Some(s) if matches => Ok((row, s)),
        _ => {
            tracing::warn!(provider = %row.name, "delivery report with a wrong webhook secret refused");
            Err(not_found())
        }
    }
}

/// 401 for a missing or bad signature: logged, counted, nothing applied.
fn refuse(row: &ProviderRecord, failure: SignatureFailure, why: &'static str) -> Response {
    dlr::count_signature_failure(row.kind, failure.as_str());
    tracing::warn!(
        provider = %row.name, kind = row.kind.as_str(), reason = failure.as_str(), detail = why,
        "delivery report refused: signature {}", failure.as_str()
    );
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_signature",
        "The webhook signature is missing or wrong",
        match failure {
            SignatureFailure::Missing => "the request carries no signature",
            SignatureFailure::Bad => "the request's signature does not verify",
        },
    )
    .into_response()
}

async fn apply(
    state: &AppState,
    row: &ProviderRecord,
    parsed: Result<Report, dlr::ReportError>,
) -> Response {
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
