//! WSO2-compatible SMS sender API: `GET|POST /api/server/v1/notification-senders/sms` and
//! `GET|PUT|DELETE …/sms/{name}`, so scripts written for WSO2 Identity Server configure
//! idgate unchanged. Senders are the `sms` channel's `custom`, `twilio` and `vonage`
//! providers, named by their provider name. Unlike WSO2, secrets (`secret`, the
//! `http.headers` property) are accepted but never returned.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use idgate_core::otp::Channel;
use idgate_core::provider_config::{ProviderKind, ProviderRecord};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::providers::{
    ProviderBody, SecretInput, create_provider, delete_provider, update_provider,
};
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::json::ApiJson;
use crate::state::AppState;

const BASE: &str = "/api/server/v1/notification-senders/sms";

pub fn router() -> Router<AppState> {
    Router::new().route(BASE, get(list).post(create)).route(
        "/api/server/v1/notification-senders/sms/{name}",
        get(read).put(update).delete(remove),
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Property {
    key: String,
    value: String,
}

/// WSO2's `SMSSender` shape.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Sender {
    #[serde(default)]
    name: Option<String>,
    provider: String,
    #[serde(rename = "providerURL", default)]
    provider_url: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    sender: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    properties: Vec<Property>,
}

fn kind_of(provider: &str) -> ApiResult<ProviderKind> {
    match provider {
        "Custom" => Ok(ProviderKind::Custom),
        "Twilio" => Ok(ProviderKind::Twilio),
        "Vonage" => Ok(ProviderKind::Vonage),
        other => Err(ApiError::invalid_field(
            "provider",
            format!("provider \"{other}\" is unknown; use Custom, Twilio or Vonage"),
        )),
    }
}

/// WSO2's sender → idgate's provider request.
fn to_body(s: Sender, name: String) -> ApiResult<ProviderBody> {
    let kind = kind_of(&s.provider)?;
    let prop = |k: &str| {
        s.properties
            .iter()
            .find(|p| p.key == k)
            .map(|p| p.value.clone())
    };
    let mut settings = serde_json::Map::new();
    let mut secrets: BTreeMap<String, Option<SecretInput>> = BTreeMap::new();
    let base_url = s.provider_url.clone().filter(|u| !u.trim().is_empty());
    match kind {
        ProviderKind::Custom => {
            let ct = s.content_type.clone().ok_or_else(|| {
                ApiError::invalid_field("contentType", "contentType is required (JSON or FORM)")
            })?;
            settings.insert(
                "url".into(),
                json!(base_url.ok_or_else(|| ApiError::invalid_field(
                    "providerURL",
                    "providerURL is required for a Custom sender"
                ))?),
            );
            settings.insert("content_type".into(), json!(ct.to_ascii_lowercase()));
            settings.insert(
                "method".into(),
                json!(
                    prop("http.method")
                        .unwrap_or_else(|| "POST".into())
                        .to_ascii_uppercase()
                ),
            );
            if let Some(body) = prop("body") {
                settings.insert("payload_template".into(), json!(body));
            }
            if let Some(h) = prop("http.headers") {
                secrets.insert("headers".into(), Some(SecretInput::Text(h)));
            }
        }
        ProviderKind::Twilio => {
            settings.insert(
                "account_sid".into(),
                json!(s.key.clone().unwrap_or_default()),
            );
            settings.insert("from".into(), json!(s.sender.clone().unwrap_or_default()));
            if let Some(u) = base_url {
                settings.insert("base_url".into(), json!(u));
            }
            if let Some(sec) = s.secret.clone() {
                secrets.insert("auth_token".into(), Some(SecretInput::Text(sec)));
            }
        }
        _ => {
            settings.insert("api_key".into(), json!(s.key.clone().unwrap_or_default()));
            settings.insert("from".into(), json!(s.sender.clone().unwrap_or_default()));
            if let Some(u) = base_url {
                settings.insert("base_url".into(), json!(u));
            }
            if let Some(sec) = s.secret.clone() {
                secrets.insert("api_secret".into(), Some(SecretInput::Text(sec)));
            }
        }
    }
    Ok(ProviderBody {
        name: Some(name),
        kind: Some(kind.as_str().to_string()),
        enabled: None,
        position: None,
        settings: Some(Value::Object(settings)),
        secrets,
    })
}

/// idgate's provider → WSO2's sender shape, without secrets.
fn to_wso2(p: &ProviderRecord) -> Value {
    let s = &p.settings;
    let get = |k: &str| {
        s.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match p.kind {
        ProviderKind::Custom => {
            let mut props = vec![json!({"key": "http.method", "value": get("method")})];
            if let Some(b) = s.get("payload_template").and_then(Value::as_str) {
                props.insert(0, json!({"key": "body", "value": b}));
            }
            json!({
                "name": p.name,
                "provider": "Custom",
                "providerURL": get("url"),
                "contentType": get("content_type").to_ascii_uppercase(),
                "properties": props,
            })
        }
        ProviderKind::Twilio => json!({
            "name": p.name, "provider": "Twilio", "providerURL": get("base_url"),
            "key": get("account_sid"), "sender": get("from"), "contentType": "FORM", "properties": [],
        }),
        _ => json!({
            "name": p.name, "provider": "Vonage", "providerURL": get("base_url"),
            "key": get("api_key"), "sender": get("from"), "contentType": "FORM", "properties": [],
        }),
    }
}

fn is_sender(p: &ProviderRecord) -> bool {
    matches!(
        p.kind,
        ProviderKind::Custom | ProviderKind::Twilio | ProviderKind::Vonage
    )
}

async fn find(state: &AppState, name: &str) -> ApiResult<ProviderRecord> {
    state
        .store
        .list_providers(Some(Channel::Sms))
        .await?
        .into_iter()
        .find(|p| p.name == name && is_sender(p))
        .ok_or_else(|| ApiError::not_found("notification sender"))
}

async fn list(State(state): State<AppState>, _admin: Admin) -> ApiResult<impl IntoResponse> {
    let rows = state.store.list_providers(Some(Channel::Sms)).await?;
    Ok(Json(
        rows.iter()
            .filter(|p| is_sender(p))
            .map(to_wso2)
            .collect::<Vec<_>>(),
    ))
}

async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(s): ApiJson<Sender>,
) -> ApiResult<impl IntoResponse> {
    let name = s.name.clone().unwrap_or_else(|| "SMSPublisher".into());
    let body = to_body(s, name)?;
    let record = create_provider(&state, &admin, Channel::Sms, body)
        .await?
        .record;
    Ok((StatusCode::CREATED, Json(to_wso2(&record))))
}

async fn read(
    State(state): State<AppState>,
    _admin: Admin,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(to_wso2(&find(&state, &name).await?)))
}

/// Provider settings without a WSO2 sender field.
const IDGATE_ONLY_SETTINGS: [&str; 3] = ["sign_requests", "message_id_pointer", "timeout_ms"];

async fn update(
    State(state): State<AppState>,
    admin: Admin,
    Path(name): Path<String>,
    ApiJson(s): ApiJson<Sender>,
) -> ApiResult<impl IntoResponse> {
    let before = find(&state, &name).await?;
    if kind_of(&s.provider)? != before.kind {
        return Err(ApiError::invalid_field(
            "provider",
            "a sender's provider cannot change; delete it and create it again",
        ));
    }
    let new_name = s.name.clone().unwrap_or_else(|| name.clone());
    let mut body = to_body(s, new_name)?;
    // Settings WSO2's shape has no word for are kept, not dropped by a WSO2 script.
    if let (Some(Value::Object(new)), Some(old)) = (&mut body.settings, before.settings.as_object())
    {
        for key in IDGATE_ONLY_SETTINGS {
            if let (false, Some(v)) = (new.contains_key(key), old.get(key)) {
                new.insert(key.to_string(), v.clone());
            }
        }
    }
    let after = update_provider(&state, &admin, before, body).await?.record;
    Ok(Json(to_wso2(&after)))
}

async fn remove(
    State(state): State<AppState>,
    admin: Admin,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let p = find(&state, &name).await?;
    delete_provider(&state, &admin, &p).await?;
    Ok(StatusCode::NO_CONTENT)
}
