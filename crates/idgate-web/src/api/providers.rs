//! Admin API for a channel's providers ("SMS Provider" in WSO2's console), the test send,
//! and the channel-fallback setting.
//!
//! Secrets are write-only: a request may set (`"api_token": "…"`), keep (leave it out) or
//! clear (`null`) one; an answer only says which are set (`"token_set": true`). They are
//! sealed under the master secret before they reach the store, and audit events never
//! carry them.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use idgate_core::otp::Channel;
use idgate_core::phone::PhoneNumber;
use idgate_core::provider_config::{ProviderKind, ProviderRecord};
use idgate_notify::providers::{FieldError, ProviderSpec, secret_fields};
use idgate_notify::secrets::{ProviderSecrets, WEBHOOK_SECRET};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::otp_settings::audit;
use crate::api::rfc3339;
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::json::ApiJson;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/channels/{channel}/providers",
            get(list).post(create),
        )
        .route(
            "/api/v1/channels/{channel}/providers/{id}",
            get(read).put(update).delete(remove),
        )
        .route("/api/v1/channels/{channel}/provider-order", put(reorder))
        .route("/api/v1/channels/{channel}/test", post(test_send))
        .route(
            "/api/v1/delivery/fallback",
            get(get_default_fallback).put(put_default_fallback),
        )
        .route(
            "/api/v1/delivery/fallback/{client_id}",
            get(get_app_fallback).put(put_app_fallback),
        )
}

/// A secret value in a request: a string, a list of `{name, value}` (headers), or null
/// (clear it).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum SecretInput {
    Text(String),
    Pairs(Vec<HeaderPair>),
}

#[derive(Debug, Deserialize, serde::Serialize)]
pub struct HeaderPair {
    pub name: String,
    pub value: String,
}

impl SecretInput {
    fn into_text(self) -> String {
        match self {
            Self::Text(s) => s,
            Self::Pairs(p) => serde_json::to_string(&p).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderBody {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub enabled: Option<bool>,
    pub position: Option<i64>,
    pub settings: Option<Value>,
    #[serde(default)]
    pub secrets: BTreeMap<String, Option<SecretInput>>,
}

pub(crate) fn channel_param(s: &str) -> ApiResult<Channel> {
    Channel::parse(s).ok_or_else(|| {
        ApiError::invalid_field(
            "channel",
            format!("channel \"{s}\" is unknown; use sms or whatsapp"),
        )
    })
}

fn field_error(e: FieldError) -> ApiError {
    ApiError::invalid_field(e.field.clone(), e.to_string())
}

fn check_name(name: &str) -> ApiResult<String> {
    let n = name.trim();
    let ok = !n.is_empty()
        && n.chars().count() <= 64
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || " ._-".contains(c));
    if ok {
        Ok(n.to_string())
    } else {
        Err(ApiError::invalid_field(
            "name",
            "name must be 1–64 letters, digits, spaces, dots, dashes or underscores",
        ))
    }
}

/// The API's view of a provider: settings, and which secrets are set — never their values.
pub fn view(state: &AppState, p: &ProviderRecord) -> Value {
    let secrets = ProviderSecrets::open(&state.keys, &p.id, &p.secrets_ciphertext).ok();
    let (known, _) = secret_fields(p.kind);
    let set: serde_json::Map<String, Value> = known
        .iter()
        .map(|n| {
            let is_set = secrets.as_ref().is_some_and(|s| s.get(n).is_some());
            (format!("{n}_set"), json!(is_set))
        })
        .collect();
    let token_set = set.values().any(|v| v == &json!(true));
    let mut v = json!({
        "id": p.id,
        "channel": p.channel.as_str(),
        "name": p.name,
        "kind": p.kind.as_str(),
        "position": p.position,
        "enabled": p.enabled,
        "settings": p.settings,
        "secrets": set,
        "token_set": token_set,
        "created_at": rfc3339(p.created_at),
        "updated_at": rfc3339(p.updated_at),
    });
    if p.kind == ProviderKind::Custom
        && let Some(s) = &secrets
    {
        let names: Vec<String> = idgate_notify::providers::custom_header_names(s);
        v["header_names"] = json!(names);
    }
    if secrets.is_none() {
        v["secrets_unreadable"] = json!(true);
    }
    v
}

/// The delivery-report URL of a provider (it holds the webhook secret: shown only when
/// the provider is created).
pub fn report_url(
    state: &AppState,
    p: &ProviderRecord,
    secrets: &ProviderSecrets,
) -> Option<String> {
    let hook = match p.kind {
        ProviderKind::Twilio => "twilio",
        ProviderKind::Vonage => "vonage",
        ProviderKind::D7Sms | ProviderKind::D7Whatsapp | ProviderKind::Custom => "d7",
        _ => return None,
    };
    secrets
        .get(WEBHOOK_SECRET)
        .map(|s| format!("{}/hooks/{hook}/{}/{s}", state.settings.issuer, p.id))
}

#[utoipa::path(get, path = "/api/v1/channels/{channel}/providers", tag = "providers", params(("channel" = String, Path)), responses((status = 200, body = Object)), security(("admin_token" = [])))]
async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    Path(channel): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let channel = channel_param(&channel)?;
    let rows = state.store.list_providers(Some(channel)).await?;
    let items: Vec<Value> = rows.iter().map(|p| view(&state, p)).collect();
    Ok(Json(
        json!({ "channel": channel.as_str(), "providers": items }),
    ))
}

async fn load(state: &AppState, channel: Channel, id: &str) -> ApiResult<ProviderRecord> {
    match state.store.get_provider(id).await? {
        Some(p) if p.channel == channel => Ok(p),
        _ => Err(ApiError::not_found("provider")),
    }
}

#[utoipa::path(get, path = "/api/v1/channels/{channel}/providers/{id}", tag = "providers", params(("channel" = String, Path), ("id" = String, Path)), responses((status = 200, body = Object), (status = 404, body = crate::openapi::Problem)), security(("admin_token" = [])))]
async fn read(
    State(state): State<AppState>,
    _admin: Admin,
    Path((channel, id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let channel = channel_param(&channel)?;
    let p = load(&state, channel, &id).await?;
    Ok(Json(view(&state, &p)))
}

/// Applies the request's secrets onto `secrets` (set, keep or clear).
fn merge_secrets(
    secrets: &mut ProviderSecrets,
    input: BTreeMap<String, Option<SecretInput>>,
) -> ApiResult<()> {
    for (name, value) in input {
        if name == WEBHOOK_SECRET {
            return Err(ApiError::invalid_field(
                "secrets.webhook_secret",
                "the webhook secret is generated by idgate",
            ));
        }
        match value {
            Some(v) => secrets.set(&name, v.into_text()),
            None => secrets.remove(&name),
        }
    }
    Ok(())
}

/// A provider as saved, with what an answer may show once.
pub struct Saved {
    pub record: ProviderRecord,
    pub secrets: ProviderSecrets,
    /// The signing secret idgate generated in this save (`sign_requests` on and none
    /// given): shown in this answer only, never readable afterwards.
    pub generated_signing_secret: Option<String>,
}

/// Generates what the spec needs and the caller did not give (the signing secret).
fn generate_secrets(
    spec: &ProviderSpec,
    secrets: &mut ProviderSecrets,
) -> ApiResult<Option<String>> {
    secrets
        .ensure_webhook_secret()
        .map_err(|_| ApiError::internal())?;
    if spec.signs_requests() {
        secrets
            .ensure_signing_secret()
            .map_err(|_| ApiError::internal())
    } else {
        Ok(None)
    }
}

/// Validates and stores a new provider; shared with the WSO2-compatible API.
pub async fn create_provider(
    state: &AppState,
    admin: &Admin,
    channel: Channel,
    body: ProviderBody,
) -> ApiResult<Saved> {
    let name = check_name(body.name.as_deref().unwrap_or(""))?;
    let kind_text = body
        .kind
        .as_deref()
        .ok_or_else(|| ApiError::invalid_field("kind", "kind is required"))?;
    let kind = ProviderKind::parse(kind_text).ok_or_else(|| {
        ApiError::invalid_field(
            "kind",
            format!(
                "kind \"{kind_text}\" is unknown; use one of {}",
                ProviderKind::ALL.map(|k| k.as_str()).join(", ")
            ),
        )
    })?;
    let mut secrets = ProviderSecrets::default();
    merge_secrets(&mut secrets, body.secrets)?;
    let (spec, settings) = ProviderSpec::validate(
        kind,
        channel,
        body.settings.as_ref().unwrap_or(&Value::Null),
        &secrets,
    )
    .map_err(field_error)?;
    if kind == ProviderKind::DevOutbox && state.outbox.is_none() {
        return Err(ApiError::invalid_field(
            "kind",
            "the dev outbox is not enabled on this server (dev_outbox.enabled)",
        ));
    }
    let generated_signing_secret = generate_secrets(&spec, &mut secrets)?;
    let id = idgate_core::new_id();
    let existing = state.store.list_providers(Some(channel)).await?;
    let position = body
        .position
        .unwrap_or_else(|| existing.iter().map(|p| p.position + 1).max().unwrap_or(0));
    let now = state.now();
    let record = ProviderRecord {
        secrets_ciphertext: secrets
            .seal(&state.keys, &id)
            .map_err(|_| ApiError::internal())?,
        id,
        channel,
        name,
        kind,
        position,
        enabled: body.enabled.unwrap_or(true),
        settings,
        created_at: now,
        updated_at: now,
    };
    state.store.create_provider(&record).await?;
    state.dispatcher.registry().invalidate();
    audit(
        state,
        admin,
        "provider.created",
        Some(record.id.clone()),
        json!({"before": null, "after": view(state, &record)}),
    )
    .await;
    Ok(Saved {
        record,
        secrets,
        generated_signing_secret,
    })
}

#[utoipa::path(post, path = "/api/v1/channels/{channel}/providers", tag = "providers", params(("channel" = String, Path)), request_body(content = Object, description = "`{name, kind, enabled?, position?, settings, secrets}`; secrets are write-only"), responses((status = 201, body = Object), (status = 422, body = crate::openapi::Problem)), security(("admin_token" = [])))]
async fn create(
    State(state): State<AppState>,
    admin: Admin,
    Path(channel): Path<String>,
    ApiJson(body): ApiJson<ProviderBody>,
) -> ApiResult<impl IntoResponse> {
    let channel = channel_param(&channel)?;
    let saved = create_provider(&state, &admin, channel, body).await?;
    let mut v = view(&state, &saved.record);
    // Shown once: the delivery-report URL holds the webhook secret.
    if let Some(url) = report_url(&state, &saved.record, &saved.secrets) {
        v["report_url"] = json!(url);
    }
    if let Some(secret) = saved.generated_signing_secret {
        v["signing_secret"] = json!(secret);
    }
    Ok((StatusCode::CREATED, Json(v)))
}

/// Applies a change to a stored provider; shared with the WSO2-compatible API.
pub async fn update_provider(
    state: &AppState,
    admin: &Admin,
    before: ProviderRecord,
    body: ProviderBody,
) -> ApiResult<Saved> {
    if let Some(k) = &body.kind
        && k != before.kind.as_str()
    {
        return Err(ApiError::invalid_field(
            "kind",
            "a provider's kind cannot change; create a new provider instead",
        ));
    }
    let mut secrets = ProviderSecrets::open(&state.keys, &before.id, &before.secrets_ciphertext)
        .map_err(|_| {
            ApiError::invalid_field(
                "secrets",
                "the stored secrets cannot be decrypted (was the master secret changed?); delete and re-create the provider",
            )
        })?;
    merge_secrets(&mut secrets, body.secrets)?;
    let settings_in = body.settings.unwrap_or_else(|| before.settings.clone());
    let (spec, settings) =
        ProviderSpec::validate(before.kind, before.channel, &settings_in, &secrets)
            .map_err(field_error)?;
    let generated_signing_secret = generate_secrets(&spec, &mut secrets)?;
    let after = ProviderRecord {
        name: match body.name {
            Some(n) => check_name(&n)?,
            None => before.name.clone(),
        },
        position: body.position.unwrap_or(before.position),
        enabled: body.enabled.unwrap_or(before.enabled),
        settings,
        secrets_ciphertext: secrets
            .seal(&state.keys, &before.id)
            .map_err(|_| ApiError::internal())?,
        updated_at: state.now(),
        ..before.clone()
    };
    state.store.update_provider(&after).await?;
    state.dispatcher.registry().invalidate();
    audit(
        state,
        admin,
        "provider.updated",
        Some(after.id.clone()),
        json!({"before": view(state, &before), "after": view(state, &after)}),
    )
    .await;
    Ok(Saved {
        record: after,
        secrets,
        generated_signing_secret,
    })
}

#[utoipa::path(put, path = "/api/v1/channels/{channel}/providers/{id}", tag = "providers", params(("channel" = String, Path), ("id" = String, Path)), request_body(content = Object), responses((status = 200, body = Object), (status = 422, body = crate::openapi::Problem)), security(("admin_token" = [])))]
async fn update(
    State(state): State<AppState>,
    admin: Admin,
    Path((channel, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<ProviderBody>,
) -> ApiResult<impl IntoResponse> {
    let channel = channel_param(&channel)?;
    let before = load(&state, channel, &id).await?;
    let saved = update_provider(&state, &admin, before, body).await?;
    let mut v = view(&state, &saved.record);
    if let Some(secret) = saved.generated_signing_secret {
        v["signing_secret"] = json!(secret);
    }
    Ok(Json(v))
}

/// Deletes a provider; shared with the WSO2-compatible API.
pub async fn delete_provider(state: &AppState, admin: &Admin, p: &ProviderRecord) -> ApiResult<()> {
    if !state.store.delete_provider(&p.id).await? {
        return Err(ApiError::not_found("provider"));
    }
    state.dispatcher.registry().invalidate();
    audit(
        state,
        admin,
        "provider.deleted",
        Some(p.id.clone()),
        json!({"before": view(state, p), "after": null}),
    )
    .await;
    Ok(())
}

#[utoipa::path(delete, path = "/api/v1/channels/{channel}/providers/{id}", tag = "providers", params(("channel" = String, Path), ("id" = String, Path)), responses((status = 204, description = "Deleted"), (status = 404, body = crate::openapi::Problem)), security(("admin_token" = [])))]
async fn remove(
    State(state): State<AppState>,
    admin: Admin,
    Path((channel, id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    let channel = channel_param(&channel)?;
    let p = load(&state, channel, &id).await?;
    delete_provider(&state, &admin, &p).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderBody {
    ids: Vec<String>,
}

#[utoipa::path(put, path = "/api/v1/channels/{channel}/provider-order", tag = "providers", params(("channel" = String, Path)), request_body(content = Object, description = "`{ids: [...]}` in failover order"), responses((status = 200, body = Object), (status = 422, body = crate::openapi::Problem)), security(("admin_token" = [])))]
async fn reorder(
    State(state): State<AppState>,
    admin: Admin,
    Path(channel): Path<String>,
    ApiJson(body): ApiJson<OrderBody>,
) -> ApiResult<impl IntoResponse> {
    let channel = channel_param(&channel)?;
    let before = state.store.list_providers(Some(channel)).await?;
    let mut given = body.ids.clone();
    given.sort();
    given.dedup();
    let mut have: Vec<String> = before.iter().map(|p| p.id.clone()).collect();
    have.sort();
    if given != have || given.len() != body.ids.len() {
        return Err(ApiError::invalid_field(
            "ids",
            "ids must list every provider of the channel exactly once, in the new order",
        ));
    }
    state
        .store
        .reorder_providers(channel, &body.ids, state.now())
        .await?;
    state.dispatcher.registry().invalidate();
    audit(
        &state,
        &admin,
        "provider.reordered",
        Some(channel.as_str().to_string()),
        json!({"before": before.iter().map(|p| &p.id).collect::<Vec<_>>(), "after": body.ids}),
    )
    .await;
    let rows = state.store.list_providers(Some(channel)).await?;
    let items: Vec<Value> = rows.iter().map(|p| view(&state, p)).collect();
    Ok(Json(
        json!({ "channel": channel.as_str(), "providers": items }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestBody {
    to: String,
    /// One provider's id; unset: the channel's providers in order (with failover).
    #[serde(default)]
    provider: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/channels/{channel}/test", tag = "providers", params(("channel" = String, Path)), request_body(content = Object, description = "`{to, provider?}`"), responses((status = 200, description = "The provider's answer", body = Object), (status = 422, body = crate::openapi::Problem)), security(("admin_token" = [])))]
async fn test_send(
    State(state): State<AppState>,
    admin: Admin,
    Path(channel): Path<String>,
    ApiJson(body): ApiJson<TestBody>,
) -> ApiResult<impl IntoResponse> {
    let channel = channel_param(&channel)?;
    let to = PhoneNumber::parse(&body.to, state.settings.default_region.as_deref())
        .map_err(|e| ApiError::invalid_field("to", e.to_string()))?;
    if let Some(id) = &body.provider {
        load(&state, channel, id)
            .await
            .map_err(|_| ApiError::invalid_field("provider", "no such provider in this channel"))?;
    }
    let report = state
        .dispatcher
        .send_test(channel, &to, body.provider.as_deref())
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no_provider",
                "Nothing to test",
                e.to_string(),
            )
        })?;
    audit(
        &state,
        &admin,
        "provider.tested",
        Some(report.message_id.clone()),
        json!({"channel": channel.as_str(), "to": to.masked(), "sent": report.sent}),
    )
    .await;
    Ok(Json(json!({
        "message_id": report.message_id,
        "sent": report.sent,
        "channel": report.channel.as_str(),
        "text": report.text,
        "provider": report.provider,
        "provider_message_id": report.provider_message_id,
        "reason": report.reason,
        "attempts": report.attempts.iter().map(crate::api::messages::attempt_view).collect::<Vec<_>>(),
    })))
}

// Channel fallback

/// The settings key of the default fallback mode.
pub const FALLBACK_DEFAULT_KEY: &str = "delivery.fallback";

fn fallback_key(client_id: &str) -> String {
    format!("delivery.fallback.app.{client_id}")
}

/// `off` or `automatic`.
fn parse_mode(v: &Value) -> Option<&'static str> {
    match v.get("mode").and_then(Value::as_str) {
        Some("off") => Some("off"),
        Some("automatic") => Some("automatic"),
        _ => None,
    }
}

/// The channel a code may fall back to for an application (its own setting, else the
/// default; `off` unless an admin turned it on).
pub async fn fallback_for(
    state: &AppState,
    client_id: Option<&str>,
    channel: Channel,
) -> ApiResult<Option<Channel>> {
    let mut mode = None;
    if let Some(id) = client_id {
        mode = state
            .store
            .get_setting(&fallback_key(id))
            .await?
            .as_ref()
            .and_then(parse_mode);
    }
    if mode.is_none() {
        mode = state
            .store
            .get_setting(FALLBACK_DEFAULT_KEY)
            .await?
            .as_ref()
            .and_then(parse_mode);
    }
    Ok((mode == Some("automatic")).then(|| other(channel)))
}

/// The other channel.
pub fn other(channel: Channel) -> Channel {
    match channel {
        Channel::Sms => Channel::Whatsapp,
        Channel::Whatsapp => Channel::Sms,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FallbackBody {
    mode: String,
}

#[utoipa::path(get, path = "/api/v1/delivery/fallback", tag = "providers", responses((status = 200, body = Object)), security(("admin_token" = [])))]
async fn get_default_fallback(
    State(state): State<AppState>,
    _admin: Admin,
) -> ApiResult<impl IntoResponse> {
    let v = state.store.get_setting(FALLBACK_DEFAULT_KEY).await?;
    let mode = v.as_ref().and_then(parse_mode).unwrap_or("off");
    Ok(Json(json!({"mode": mode})))
}

async fn put_fallback(
    state: &AppState,
    admin: &Admin,
    key: String,
    body: FallbackBody,
) -> ApiResult<Value> {
    if !matches!(body.mode.as_str(), "off" | "automatic") {
        return Err(ApiError::invalid_field(
            "mode",
            "mode must be \"off\" or \"automatic\"",
        ));
    }
    let value = json!({"mode": body.mode});
    let before = state.store.get_setting(&key).await?;
    state.store.put_setting(&key, &value, state.now()).await?;
    audit(
        state,
        admin,
        "delivery.fallback.updated",
        Some(key),
        json!({"before": before, "after": value}),
    )
    .await;
    Ok(value)
}

#[utoipa::path(put, path = "/api/v1/delivery/fallback", tag = "providers", request_body(content = Object), responses((status = 200, body = Object), (status = 422, body = crate::openapi::Problem)), security(("admin_token" = [])))]
async fn put_default_fallback(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<FallbackBody>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        put_fallback(&state, &admin, FALLBACK_DEFAULT_KEY.into(), body).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/delivery/fallback/{client_id}", tag = "providers", params(("client_id" = String, Path)), responses((status = 200, body = Object), (status = 404, body = crate::openapi::Problem)), security(("admin_token" = [])))]
async fn get_app_fallback(
    State(state): State<AppState>,
    _admin: Admin,
    Path(client_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    if state.store.get_application(&client_id).await?.is_none() {
        return Err(ApiError::not_found("application"));
    }
    let own = state.store.get_setting(&fallback_key(&client_id)).await?;
    let mode = own.as_ref().and_then(parse_mode);
    let effective = fallback_for(&state, Some(&client_id), Channel::Sms).await?;
    Ok(Json(json!({
        "client_id": client_id,
        "mode": mode,
        "effective": if effective.is_some() { "automatic" } else { "off" },
    })))
}

#[utoipa::path(put, path = "/api/v1/delivery/fallback/{client_id}", tag = "providers", params(("client_id" = String, Path)), request_body(content = Object), responses((status = 200, body = Object), (status = 422, body = crate::openapi::Problem)), security(("admin_token" = [])))]
async fn put_app_fallback(
    State(state): State<AppState>,
    admin: Admin,
    Path(client_id): Path<String>,
    ApiJson(body): ApiJson<FallbackBody>,
) -> ApiResult<impl IntoResponse> {
    if state.store.get_application(&client_id).await?.is_none() {
        return Err(ApiError::not_found("application"));
    }
    let key = fallback_key(&client_id);
    Ok(Json(put_fallback(&state, &admin, key, body).await?))
}
