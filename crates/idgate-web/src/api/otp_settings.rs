//! Admin API for the OTP policy and the message templates ("Connections › SMS OTP ›
//! Settings" in WSO2's console).

use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use idgate_core::otp::engine::POLICY_SETTING;
use idgate_core::otp::{Channel, OtpPolicy};
use idgate_notify::message_template::{self, MessageContext, MessageTemplate};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::json::{ApiJson, parse_json};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/otp-policy", get(get_policy).put(put_policy))
        .route(
            "/api/v1/channels/{channel}/template",
            get(get_template).put(put_template),
        )
}

#[utoipa::path(get, path = "/api/v1/otp-policy", tag = "otp", responses((status = 200, description = "The global OTP policy", body = Object)), security(("admin_token" = [])))]
async fn get_policy(State(state): State<AppState>, _admin: Admin) -> ApiResult<impl IntoResponse> {
    let policy = state.otp.global_policy().await?;
    Ok(Json(policy))
}

/// Replaces the global policy. Fields left out take their default values.
#[utoipa::path(put, path = "/api/v1/otp-policy", tag = "otp", request_body(content = Object, description = "`{length, alphanumeric, expiry, max_attempts, max_resends, resend_cooldown, resend_code}`; fields left out take their defaults"), responses((status = 200, body = Object), (status = 422, body = crate::openapi::Problem)), security(("admin_token" = [])))]
async fn put_policy(
    State(state): State<AppState>,
    admin: Admin,
    body: axum::body::Bytes,
) -> ApiResult<impl IntoResponse> {
    let policy: OtpPolicy = parse_json(&body)?;
    policy
        .validate()
        .map_err(|e| ApiError::invalid_field(e.field, e.to_string()))?;
    let before = state.otp.global_policy().await?;
    let value = serde_json::to_value(&policy).map_err(|_| ApiError::internal())?;
    state
        .store
        .put_setting(POLICY_SETTING, &value, state.now())
        .await?;
    audit(
        &state,
        &admin,
        "otp_policy.updated",
        None,
        json!({"before": before, "after": policy}),
    )
    .await;
    Ok(Json(policy))
}

#[derive(Debug, Deserialize)]
struct LocaleQuery {
    locale: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateBody {
    text: String,
    #[serde(default)]
    locale: Option<String>,
}

fn channel_param(s: &str) -> ApiResult<Channel> {
    Channel::parse(s).ok_or_else(|| {
        ApiError::invalid_field(
            "channel",
            format!("channel \"{s}\" is unknown; use sms or whatsapp"),
        )
    })
}

fn locale_param(l: Option<&str>) -> ApiResult<String> {
    let l = l.unwrap_or("en").trim();
    let ok = !l.is_empty()
        && l.len() <= 16
        && l.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(l.to_string())
    } else {
        Err(ApiError::invalid_field(
            "locale",
            format!("locale \"{l}\" must be a language tag such as en, en-US or si"),
        ))
    }
}

/// The settings key of a channel's template in a locale.
pub fn template_key(channel: Channel, locale: &str) -> String {
    format!("template.{}.{}", channel.as_str(), locale)
}

fn template_view(channel: Channel, locale: &str, text: &str, is_default: bool) -> Value {
    let preview = MessageTemplate::parse(text)
        .ok()
        .map(|t| message_template::preview(&t, &MessageContext::sample()));
    json!({
        "channel": channel.as_str(),
        "locale": locale,
        "text": text,
        "is_default": is_default,
        "preview": preview.as_ref().map(|p| p.text.clone()),
        "segments": preview.as_ref().map(|p| p.segments),
    })
}

#[utoipa::path(get, path = "/api/v1/channels/{channel}/template", tag = "otp", params(("channel" = String, Path), ("locale" = Option<String>, Query)), responses((status = 200, description = "Text, preview and segment count", body = Object), (status = 422, body = crate::openapi::Problem)), security(("admin_token" = [])))]
async fn get_template(
    State(state): State<AppState>,
    _admin: Admin,
    Path(channel): Path<String>,
    Query(q): Query<LocaleQuery>,
) -> ApiResult<impl IntoResponse> {
    let channel = channel_param(&channel)?;
    let locale = locale_param(q.locale.as_deref())?;
    let stored = state
        .store
        .get_setting(&template_key(channel, &locale))
        .await?;
    let view = match stored.as_ref().and_then(|v| v.as_str()) {
        Some(text) => template_view(channel, &locale, text, false),
        None => template_view(
            channel,
            &locale,
            message_template::default_template(channel).as_str(),
            true,
        ),
    };
    Ok(Json(view))
}

#[utoipa::path(put, path = "/api/v1/channels/{channel}/template", tag = "otp", params(("channel" = String, Path)), request_body(content = Object, description = "`{text, locale?}`"), responses((status = 200, body = Object), (status = 422, body = crate::openapi::Problem)), security(("admin_token" = [])))]
async fn put_template(
    State(state): State<AppState>,
    admin: Admin,
    Path(channel): Path<String>,
    ApiJson(body): ApiJson<TemplateBody>,
) -> ApiResult<impl IntoResponse> {
    let channel = channel_param(&channel)?;
    let locale = locale_param(body.locale.as_deref())?;
    MessageTemplate::parse(&body.text)
        .map_err(|e| ApiError::invalid_field("text", e.to_string()))?;
    let key = template_key(channel, &locale);
    let before = state.store.get_setting(&key).await?;
    state
        .store
        .put_setting(&key, &Value::String(body.text.clone()), state.now())
        .await?;
    audit(
        &state,
        &admin,
        "template.updated",
        Some(key),
        json!({"before": before, "after": body.text}),
    )
    .await;
    Ok(Json(template_view(channel, &locale, &body.text, false)))
}

/// The audit helper moved to `crate::audit`; re-exported for existing callers.
pub use crate::audit::audit;
