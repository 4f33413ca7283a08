//! Admin API for admin tokens: list (never the values), create (the token is shown
//! once; only its keyed hash is stored), revoke.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use axum::{Json, Router};
use idgate_core::admin_token::{ADMIN_TOKEN_PREFIX, AdminToken};
use idgate_core::crypto::random_token;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::api::rfc3339;
use crate::audit::audit;
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::json::ApiJson;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin-tokens", get(list).post(create))
        .route("/api/v1/admin-tokens/{id}", delete(revoke))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminTokenView {
    pub id: String,
    pub name: String,
    /// `active`, `expired` or `revoked`.
    pub state: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    /// Only in the answer that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl AdminTokenView {
    pub fn of(t: &AdminToken, now: i64) -> Self {
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            state: if t.revoked_at.is_some() {
                "revoked"
            } else if t.is_usable(now) {
                "active"
            } else {
                "expired"
            }
            .into(),
            created_at: rfc3339(t.created_at),
            expires_at: t.expires_at.map(rfc3339),
            last_used_at: t.last_used_at.map(rfc3339),
            revoked_at: t.revoked_at.map(rfc3339),
            token: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminTokenList {
    pub tokens: Vec<AdminTokenView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAdminToken {
    /// 1–64 characters; appears in audit events as `admin-token:<name>`.
    pub name: String,
    /// 1–3650; absent = never expires.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/admin-tokens", tag = "admin-tokens",
    responses((status = 200, body = AdminTokenList)),
    security(("admin_token" = [])))]
pub async fn list(State(state): State<AppState>, _admin: Admin) -> ApiResult<Json<AdminTokenList>> {
    let now = state.now();
    let tokens = state.store.list_admin_tokens().await?;
    Ok(Json(AdminTokenList {
        tokens: tokens.iter().map(|t| AdminTokenView::of(t, now)).collect(),
    }))
}

/// Creates a token; returns its record and value (shown once). Shared with the console.
pub async fn create_token(
    state: &AppState,
    admin: &Admin,
    body: CreateAdminToken,
) -> ApiResult<(AdminToken, String)> {
    let name = body.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            "name",
            "name must be 1–64 characters",
        ));
    }
    if let Some(d) = body.expires_in_days
        && !(1..=3650).contains(&d)
    {
        return Err(ApiError::invalid_field(
            "expires_in_days",
            format!("expires_in_days must be between 1 and 3650 (got {d})"),
        ));
    }
    let token = format!(
        "{ADMIN_TOKEN_PREFIX}{}",
        random_token(32).map_err(|_| ApiError::internal())?
    );
    let now = state.now();
    let record = AdminToken {
        id: idgate_core::new_id(),
        name,
        token_hash: state.keys.token_hash(&token),
        created_at: now,
        expires_at: body.expires_in_days.map(|d| now + i64::from(d) * 86_400),
        last_used_at: None,
        revoked_at: None,
    };
    state.store.create_admin_token(&record).await?;
    audit(
        state,
        admin,
        "admin_token.created",
        Some(record.id.clone()),
        json!({"name": record.name, "expires_in_days": body.expires_in_days}),
    )
    .await;
    Ok((record, token))
}

#[utoipa::path(post, path = "/api/v1/admin-tokens", tag = "admin-tokens", request_body = CreateAdminToken,
    responses((status = 201, description = "Created; `token` is shown only now", body = AdminTokenView), (status = 422, body = crate::openapi::Problem)),
    security(("admin_token" = [])))]
pub async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<CreateAdminToken>,
) -> ApiResult<impl IntoResponse> {
    let (record, token) = create_token(&state, &admin, body).await?;
    let mut v = AdminTokenView::of(&record, state.now());
    v.token = Some(token);
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(v),
    ))
}

#[utoipa::path(delete, path = "/api/v1/admin-tokens/{id}", tag = "admin-tokens",
    params(("id" = String, Path, description = "Token id or name")),
    responses((status = 204, description = "Revoked"), (status = 404, body = crate::openapi::Problem)),
    security(("admin_token" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    revoke_token(&state, &admin, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes the active token(s) with this id or name. Shared with the console.
pub async fn revoke_token(state: &AppState, admin: &Admin, id: &str) -> ApiResult<()> {
    if !state.store.revoke_admin_token(id, state.now()).await? {
        return Err(ApiError::not_found("active admin token"));
    }
    audit(
        state,
        admin,
        "admin_token.revoked",
        Some(id.to_string()),
        json!({}),
    )
    .await;
    Ok(())
}
