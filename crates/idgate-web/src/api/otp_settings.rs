//! Admin API for the OTP policy and the message templates per channel and locale
//! ("Connections › SMS OTP › Settings" in WSO2's console).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use idgate_core::otp::engine::POLICY_SETTING;
use idgate_core::otp::{Channel, OtpPolicy};
use idgate_notify::message_template::{
    self, DEFAULT_LOCALE, MessageContext, MessageTemplate, normalise_locale,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::paging::ApiQuery;
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::json::{ApiJson, parse_json};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/otp-policy", get(get_policy).put(put_policy))
        .route(
            "/api/v1/channels/{channel}/template",
            get(get_template).put(put_template).delete(delete_template),
        )
        .route("/api/v1/channels/{channel}/templates", get(list_templates))
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
#[serde(deny_unknown_fields)]
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

/// A template's locale in BCP 47 casing (`en_us` → `en-US`); absent = `en`. Texts are
/// filed under this form, and sending looks them up the same way.
pub fn locale_param(l: Option<&str>) -> ApiResult<String> {
    let l = l.unwrap_or(DEFAULT_LOCALE).trim();
    match normalise_locale(l) {
        Ok(n) if l.len() <= 35 => Ok(n),
        _ => Err(ApiError::invalid_field(
            "locale",
            format!("locale \"{l}\" must be a language tag such as en, en-US or si-LK"),
        )),
    }
}

/// The settings-key prefix of a channel's templates.
pub fn template_prefix(channel: Channel) -> String {
    format!("template.{}.", channel.as_str())
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
    ApiQuery(q): ApiQuery<LocaleQuery>,
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

/// The locales a channel has its own texts for, sorted (for the console too).
pub async fn stored_templates(
    state: &AppState,
    channel: Channel,
) -> ApiResult<Vec<(String, String)>> {
    let prefix = template_prefix(channel);
    Ok(state
        .store
        .list_settings(&prefix)
        .await?
        .into_iter()
        .filter_map(|(k, v)| {
            let locale = k.strip_prefix(&prefix)?.to_string();
            Some((locale, v.as_str()?.to_string()))
        })
        .collect())
}

#[utoipa::path(get, path = "/api/v1/channels/{channel}/templates", tag = "otp", params(("channel" = String, Path)), responses((status = 200, description = "`{templates: [{channel, locale, text, is_default, preview, segments}]}`: the texts stored per locale, sorted by locale (none = the built-in text applies)", body = Object), (status = 422, body = crate::openapi::Problem)), security(("admin_token" = [])))]
async fn list_templates(
    State(state): State<AppState>,
    _admin: Admin,
    Path(channel): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let channel = channel_param(&channel)?;
    let templates: Vec<Value> = stored_templates(&state, channel)
        .await?
        .iter()
        .map(|(locale, text)| template_view(channel, locale, text, false))
        .collect();
    Ok(Json(json!({ "templates": templates })))
}

/// Removes a locale's text; sending to that locale falls back (language, then `en`, then
/// the built-in text). Shared with the console.
pub async fn remove_template(
    state: &AppState,
    admin: &Admin,
    channel: Channel,
    locale: &str,
) -> ApiResult<()> {
    let key = template_key(channel, locale);
    let before = state.store.get_setting(&key).await?;
    if !state.store.delete_setting(&key).await? {
        return Err(ApiError::not_found("template for this locale"));
    }
    audit(
        state,
        admin,
        "template.deleted",
        Some(key),
        json!({"before": before, "after": null}),
    )
    .await;
    Ok(())
}

#[utoipa::path(delete, path = "/api/v1/channels/{channel}/template", tag = "otp", params(("channel" = String, Path), ("locale" = Option<String>, Query)), responses((status = 204, description = "Removed; that locale falls back to its language, then en, then the built-in text"), (status = 404, body = crate::openapi::Problem), (status = 422, body = crate::openapi::Problem)), security(("admin_token" = [])))]
async fn delete_template(
    State(state): State<AppState>,
    admin: Admin,
    Path(channel): Path<String>,
    ApiQuery(q): ApiQuery<LocaleQuery>,
) -> ApiResult<StatusCode> {
    let channel = channel_param(&channel)?;
    let locale = locale_param(q.locale.as_deref())?;
    remove_template(&state, &admin, channel, &locale).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit helper moved to `crate::audit`; re-exported for existing callers.
pub use crate::audit::audit;
