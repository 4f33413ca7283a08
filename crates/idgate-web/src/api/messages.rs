//! Admin API for the message log: every message and every attempt — masked recipient,
//! text with the code redacted, provider, HTTP status, provider id, error, latency,
//! delivery status.

use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use idgate_core::message::{DeliveryStatus, MessageRecord};
use idgate_core::provider_config::MessageAttempt;
use idgate_core::store::MessageFilter;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::providers::channel_param;
use crate::api::rfc3339;
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/messages", get(list))
        .route("/api/v1/messages/{id}", get(read))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    channel: Option<String>,
    /// Unix seconds or RFC 3339.
    since: Option<String>,
    verification_id: Option<String>,
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

pub fn message_view(m: &MessageRecord) -> Value {
    json!({
        "id": m.id,
        "verification_id": m.verification_id,
        "channel": m.channel.as_str(),
        "provider": m.provider,
        "to": m.to_masked,
        "text": m.body_redacted,
        "status": m.status.as_str(),
        "provider_message_id": m.provider_message_id,
        "error": m.error,
        "attempts": m.attempts,
        "latency_ms": m.latency_ms,
        "created_at": rfc3339(m.created_at),
        "updated_at": rfc3339(m.updated_at),
    })
}

pub fn attempt_view(a: &MessageAttempt) -> Value {
    json!({
        "seq": a.seq,
        "channel": a.channel.as_str(),
        "provider": a.provider,
        "provider_id": a.provider_id,
        "http_status": a.http_status,
        "provider_message_id": a.provider_message_id,
        "error": a.error,
        "latency_ms": a.latency_ms,
        "at": rfc3339(a.at),
    })
}

fn parse_since(s: &str) -> ApiResult<i64> {
    if let Ok(n) = s.trim().parse::<i64>() {
        return Ok(n);
    }
    time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| {
            ApiError::invalid_field(
                "since",
                "since must be unix seconds or an RFC 3339 time such as 2026-01-31T12:00:00Z",
            )
        })
}

#[utoipa::path(get, path = "/api/v1/messages", tag = "messages", params(("status" = Option<String>, Query), ("channel" = Option<String>, Query), ("since" = Option<String>, Query), ("verification_id" = Option<String>, Query), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)), responses((status = 200, body = Object), (status = 422, body = crate::openapi::Problem)), security(("admin_token" = [])))]
async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    Query(q): Query<ListQuery>,
) -> ApiResult<impl IntoResponse> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            DeliveryStatus::parse(s).ok_or_else(|| {
                ApiError::invalid_field(
                    "status",
                    "status must be one of queued, sent, delivered, undelivered, failed",
                )
            })
        })
        .transpose()?;
    let channel = q.channel.as_deref().map(channel_param).transpose()?;
    let since = q.since.as_deref().map(parse_since).transpose()?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let rows = state
        .store
        .list_messages(&MessageFilter {
            status,
            channel,
            since,
            verification_id: q.verification_id,
            limit,
            before: q.cursor,
        })
        .await?;
    let next = (rows.len() == limit as usize)
        .then(|| rows.last().map(|m| m.id.clone()))
        .flatten();
    Ok(Json(json!({
        "messages": rows.iter().map(message_view).collect::<Vec<_>>(),
        "next_cursor": next,
    })))
}

#[utoipa::path(get, path = "/api/v1/messages/{id}", tag = "messages", params(("id" = String, Path)), responses((status = 200, body = Object), (status = 404, body = crate::openapi::Problem)), security(("admin_token" = [])))]
async fn read(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let m = state
        .store
        .get_message(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("message"))?;
    let attempts = state.store.list_message_attempts(&id).await?;
    let mut v = message_view(&m);
    v["attempt_log"] = json!(attempts.iter().map(attempt_view).collect::<Vec<_>>());
    Ok(Json(v))
}
