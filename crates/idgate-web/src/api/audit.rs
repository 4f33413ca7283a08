//! Admin API for the audit log: newest first, filtered by action prefix, actor, target
//! and time, paged with a cursor.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use idgate_core::audit::AuditEvent;
use idgate_core::store::AuditFilter;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::api::paging::{self, ApiQuery};
use crate::api::rfc3339;
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/audit-events", get(list))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    pub id: String,
    pub at: String,
    /// `admin-token:<name>`, `user:<username>`, `cli`, `system`.
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    /// Before/after and other facts; never a secret, a code or a full phone number.
    #[schema(value_type = Object)]
    pub details: Value,
}

impl AuditEventView {
    pub fn of(e: &AuditEvent) -> Self {
        Self {
            id: e.id.clone(),
            at: rfc3339(e.at),
            actor: e.actor.clone(),
            action: e.action.clone(),
            target: e.target.clone(),
            details: e.details.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub events: Vec<AuditEventView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Actions starting with this, e.g. `user.` or `provider.created`.
    pub action: Option<String>,
    pub actor: Option<String>,
    pub target: Option<String>,
    /// Unix seconds or RFC 3339.
    pub since: Option<String>,
    /// 1–500, default 50.
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

pub fn parse_since(s: &str) -> ApiResult<i64> {
    if let Ok(n) = s.trim().parse::<i64>()
        && n >= 0
    {
        return Ok(n);
    }
    time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| {
            ApiError::invalid_field("since", "since must be unix seconds or an RFC 3339 time")
        })
}

fn short(field: &str, v: Option<String>) -> ApiResult<Option<String>> {
    match v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > 200 => Err(ApiError::invalid_field(
            field,
            format!("{field} must be at most 200 characters"),
        )),
        other => Ok(other),
    }
}

/// Lists events (shared with the console).
pub async fn query(state: &AppState, q: AuditQuery) -> ApiResult<(Vec<AuditEvent>, u32)> {
    let limit = paging::limit(q.limit.as_deref())?;
    let filter = AuditFilter {
        action_prefix: short("action", q.action)?,
        actor: short("actor", q.actor)?,
        target: short("target", q.target)?,
        since: q.since.as_deref().map(parse_since).transpose()?,
        before: short("cursor", q.cursor)?,
        limit,
    };
    Ok((state.store.list_audit_filtered(&filter).await?, limit))
}

#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 422, body = crate::openapi::Problem)),
    security(("admin_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let (events, limit) = query(&state, q).await?;
    Ok(Json(AuditPage {
        next_cursor: paging::next_cursor(&events, limit, |e| e.id.clone()),
        events: events.iter().map(AuditEventView::of).collect(),
    }))
}
