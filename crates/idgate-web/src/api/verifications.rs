//! The Verify API: applications that keep their own login send and check codes here
//! (Twilio Verify-like), authenticated with their client id and secret.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use idgate_core::otp::{Channel, Issue, Purpose, Verification, VerificationStatus};
use idgate_core::phone::PhoneNumber;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::rfc3339;
use crate::auth::Client;
use crate::error::{ApiError, ApiResult};
use crate::json::ApiJson;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/verifications", post(start))
        .route("/api/v1/verifications/{id}", get(read))
        .route("/api/v1/verifications/{id}/check", post(check))
        .route("/api/v1/verifications/{id}/resend", post(resend))
        .route("/api/v1/verifications/{id}/cancel", post(cancel))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    /// The destination phone number (E.164, or national with the configured default region).
    to: String,
    /// `sms` or `whatsapp`.
    channel: String,
    /// Locale for the message template (e.g. `en`); default `en`.
    #[serde(default)]
    locale: Option<String>,
    /// The other channel to use if no provider of `channel` can send (`sms` or
    /// `whatsapp`), or `"none"`. Unset: the application's channel-fallback setting.
    #[serde(default)]
    fallback_channel: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    code: String,
}

fn parse_channel(s: &str) -> ApiResult<Channel> {
    Channel::parse(s).ok_or_else(|| {
        ApiError::invalid_field(
            "channel",
            format!("channel \"{s}\" is unknown; use \"sms\" or \"whatsapp\""),
        )
    })
}

/// The API's view of a verification: never the code, never the full number.
pub fn view(v: &Verification, now: i64) -> Value {
    let status = v.effective_status(now);
    json!({
        "id": v.id,
        "status": status.as_str(),
        "channel": v.channel.as_str(),
        "to": PhoneNumber::from_stored(&v.destination).map(|p| p.masked_last4()).unwrap_or_default(),
        "purpose": v.purpose.as_str(),
        "attempts_left": v.attempts_left(),
        "resends_left": v.max_resends.saturating_sub(v.resends),
        "resend_available_in": if status == VerificationStatus::Pending { v.resend_wait(now) } else { 0 },
        "created_at": rfc3339(v.created_at),
        "expires_at": rfc3339(v.expires_at),
    })
}

#[utoipa::path(post, path = "/api/v1/verifications", tag = "verifications", request_body(content = Object, description = "`{to, channel?, locale?, …}`"), responses((status = 201, body = Object), (status = 422, body = crate::openapi::Problem)), security(("client_basic" = [])))]
async fn start(
    State(state): State<AppState>,
    Client { app }: Client,
    ApiJson(body): ApiJson<StartBody>,
) -> ApiResult<impl IntoResponse> {
    let channel = parse_channel(&body.channel)?;
    let to = PhoneNumber::parse(&body.to, state.settings.default_region.as_deref())
        .map_err(|e| ApiError::invalid_field("to", e.to_string()))?;
    let fallback = match body.fallback_channel.as_deref() {
        Some("none") => None,
        Some(c) => Some(parse_channel(c).map_err(|e| e.with_field("fallback_channel"))?)
            .filter(|f| *f != channel),
        None => crate::api::providers::fallback_for(&state, Some(&app.client_id), channel).await?,
    };
    let issued = state
        .otp
        .issue(Issue {
            application: Some(&app),
            user_id: None,
            user_name: None,
            locale: body.locale.as_deref(),
            purpose: Purpose::Api,
            channel,
            fallback,
            to: &to,
        })
        .await?;
    tracing::info!(
        verification = %issued.verification.id,
        client_id = %app.client_id,
        channel = %issued.delivered.channel,
        to = %to,
        "verification started"
    );
    let mut v = view(&issued.verification, state.now());
    v["sent_via"] = json!(issued.delivered.channel.as_str());
    v["fallback_used"] = json!(issued.delivered.channel != channel);
    Ok((StatusCode::CREATED, Json(v)))
}

/// Loads a verification the calling application started through this API (others', and
/// its own sign-in codes, are "not found").
async fn owned(state: &AppState, app_client_id: &str, id: &str) -> ApiResult<Verification> {
    Ok(state.otp.get_for_application(id, app_client_id).await?)
}

#[utoipa::path(get, path = "/api/v1/verifications/{id}", tag = "verifications", params(("id" = String, Path)), responses((status = 200, body = Object), (status = 404, body = crate::openapi::Problem)), security(("client_basic" = [])))]
async fn read(
    State(state): State<AppState>,
    Client { app }: Client,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let v = owned(&state, &app.client_id, &id).await?;
    Ok(Json(view(&v, state.now())))
}

#[utoipa::path(post, path = "/api/v1/verifications/{id}/check", tag = "verifications", params(("id" = String, Path)), request_body(content = Object, description = "`{code}`"), responses((status = 200, body = Object), (status = 409, body = crate::openapi::Problem)), security(("client_basic" = [])))]
async fn check(
    State(state): State<AppState>,
    Client { app }: Client,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CheckBody>,
) -> ApiResult<impl IntoResponse> {
    if body.code.trim().is_empty() || body.code.len() > 64 {
        return Err(ApiError::invalid_field(
            "code",
            "code must be the one-time code the user received (1–64 characters)",
        ));
    }
    let outcome = state
        .otp
        .check_for_application(&id, &app.client_id, &body.code)
        .await?;
    let status = outcome.status;
    let message = match status {
        VerificationStatus::Approved => "The code is correct.".to_string(),
        VerificationStatus::Pending => format!(
            "The code is not correct; {} attempt{} left.",
            outcome.attempts_left,
            if outcome.attempts_left == 1 { "" } else { "s" }
        ),
        VerificationStatus::MaxAttemptsReached => {
            "Too many wrong codes: this verification is closed; start a new one.".into()
        }
        VerificationStatus::Expired => "The code has expired; start a new verification.".into(),
        VerificationStatus::Canceled => "The verification was canceled.".into(),
        VerificationStatus::Failed => {
            "The code could not be delivered; start a new verification.".into()
        }
    };
    tracing::info!(verification = %id, status = status.as_str(), "verification checked");
    Ok(Json(json!({
        "id": id,
        "status": status.as_str(),
        "valid": status == VerificationStatus::Approved,
        "attempts_left": outcome.attempts_left,
        "message": message,
    })))
}

#[utoipa::path(post, path = "/api/v1/verifications/{id}/resend", tag = "verifications", params(("id" = String, Path)), responses((status = 200, body = Object), (status = 429, body = crate::openapi::Problem)), security(("client_basic" = [])))]
async fn resend(
    State(state): State<AppState>,
    Client { app }: Client,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    owned(&state, &app.client_id, &id).await?;
    let issued = state.otp.resend(&id, Some(&app), None, None).await?;
    Ok(Json(view(&issued.verification, state.now())))
}

#[utoipa::path(post, path = "/api/v1/verifications/{id}/cancel", tag = "verifications", params(("id" = String, Path)), responses((status = 200, body = Object), (status = 409, body = crate::openapi::Problem)), security(("client_basic" = [])))]
async fn cancel(
    State(state): State<AppState>,
    Client { app }: Client,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    owned(&state, &app.client_id, &id).await?;
    state.otp.cancel(&id).await?;
    let v = state.otp.get(&id).await?;
    Ok(Json(view(&v, state.now())))
}
