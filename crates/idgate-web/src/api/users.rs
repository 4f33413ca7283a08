//! Admin API for users: search, create, read, update, delete, mobile number, password
//! reset (write-only), lock/unlock, sessions. A user is addressed by id or by username.
//!
//! Answers carry the full mobile number (it is the operator's data); audit events and
//! logs only the masked form. Password hashes are never returned.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use idgate_core::password::{check_new_password, hash_password};
use idgate_core::phone::PhoneNumber;
use idgate_core::session::SessionInfo;
use idgate_core::store::Page;
use idgate_core::user::{NewUser, User, UserStatus, Username};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::api::paging::{self, ApiQuery};
use crate::api::rfc3339;
use crate::audit::audit;
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::json::ApiJson;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", get(list).post(create))
        .route("/api/v1/users/{id}", get(read).patch(update).delete(remove))
        .route(
            "/api/v1/users/{id}/mobile",
            put(set_mobile).delete(clear_mobile),
        )
        .route("/api/v1/users/{id}/mobile/verify", post(verify_mobile))
        .route("/api/v1/users/{id}/password", put(set_password))
        .route("/api/v1/users/{id}/lock", post(lock))
        .route("/api/v1/users/{id}/unlock", post(unlock))
        .route(
            "/api/v1/users/{id}/sessions",
            get(sessions).delete(revoke_sessions),
        )
}

/// A user as the admin API shows it (never the password hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub display_name: Option<String>,
    pub locale: Option<String>,
    /// E.164.
    pub mobile: Option<String>,
    pub mobile_verified: bool,
    /// `active`, `locked` or `disabled`.
    pub status: String,
    /// Whether the account can sign in now (a timed lock may have lapsed).
    pub locked: bool,
    pub locked_until: Option<String>,
    pub is_admin: bool,
    pub has_password: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl UserView {
    pub fn of(u: &User, now: i64) -> Self {
        Self {
            id: u.id.clone(),
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            locale: u.locale.clone(),
            mobile: u.mobile.as_ref().map(|m| m.as_str().to_string()),
            mobile_verified: u.mobile_verified,
            status: u.status.as_str().to_string(),
            locked: u.is_locked(now),
            locked_until: u.locked_until.map(rfc3339),
            is_admin: u.is_admin,
            has_password: u.password_hash.is_some(),
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
        }
    }
}

/// For audit details: the view with the number masked.
fn audit_view(u: &User, now: i64) -> serde_json::Value {
    let mut v = serde_json::to_value(UserView::of(u, now)).unwrap_or_default();
    v["mobile"] = json!(u.mobile.as_ref().map(|m| m.masked()));
    v
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    pub users: Vec<UserView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Part of a username, display name or mobile number (case-insensitive).
    pub q: Option<String>,
    /// 1–500, default 50.
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    /// Write-only; at least 8 characters. Leave out for a passwordless (SMS-only) user.
    #[serde(default)]
    pub password: Option<String>,
    /// E.164, or national in the server's `phone.default_region`.
    #[serde(default)]
    pub mobile: Option<String>,
    #[serde(default)]
    pub mobile_verified: bool,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub is_admin: bool,
}

/// Present = change (null clears), absent = keep.
fn some<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<String>)]
    pub locale: Option<Option<String>>,
    /// A new number (null removes it); `mobile_verified` says whether it is verified.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<String>)]
    pub mobile: Option<Option<String>>,
    #[serde(default)]
    pub mobile_verified: Option<bool>,
    #[serde(default)]
    pub is_admin: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetMobile {
    pub mobile: String,
    /// Only if you know the number belongs to the user.
    #[serde(default)]
    pub verified: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// Write-only; at least 8 characters.
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct LockBody {
    /// Lock for this many minutes (1–525600); absent = until unlocked.
    #[serde(default)]
    pub minutes: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    /// Proven factors: `password`, `sms-otp`, `whatsapp-otp`.
    pub factors: Vec<String>,
    pub auth_time: Option<String>,
    pub created_at: String,
    pub expires_at: String,
}

impl SessionView {
    pub fn of(s: &SessionInfo) -> Self {
        Self {
            id: s.id.clone(),
            factors: s
                .factors
                .iter()
                .filter_map(|f| serde_json::to_value(f).ok())
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            auth_time: s.auth_time.map(rfc3339),
            created_at: rfc3339(s.created_at),
            expires_at: rfc3339(s.expires_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    pub sessions: Vec<SessionView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Revoked {
    pub revoked: u64,
}

// Validation shared with the console.

pub fn check_display_name(v: Option<String>) -> ApiResult<Option<String>> {
    match v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > 128 || s.chars().any(char::is_control) => {
            Err(ApiError::invalid_field(
                "display_name",
                "display_name must be at most 128 characters, without control characters",
            ))
        }
        other => Ok(other),
    }
}

pub fn check_locale(v: Option<String>) -> ApiResult<Option<String>> {
    match v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
        Some(l)
            if l.len() > 16
                || !l
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            Err(ApiError::invalid_field(
                "locale",
                format!("locale \"{l}\" must be a language tag such as en, en-US or si"),
            ))
        }
        other => Ok(other),
    }
}

pub fn parse_mobile(state: &AppState, field: &str, input: &str) -> ApiResult<PhoneNumber> {
    PhoneNumber::parse(input, state.settings.default_region.as_deref())
        .map_err(|e| ApiError::invalid_field(field, e.to_string()))
}

pub async fn hash_new_password(state: &AppState, field: &str, password: &str) -> ApiResult<String> {
    check_new_password(password).map_err(|e| ApiError::invalid_field(field, e.to_string()))?;
    let params = state.oidc.argon2;
    let pw = zeroize::Zeroizing::new(password.to_string());
    tokio::task::spawn_blocking(move || hash_password(&pw, &params))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            ApiError::internal()
        })
}

/// Finds a user by id, then by username.
pub async fn find(state: &AppState, id_or_name: &str) -> ApiResult<User> {
    if let Some(u) = state.store.get_user(id_or_name).await? {
        return Ok(u);
    }
    state
        .store
        .find_user_by_username(id_or_name)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))
}

/// Creates a user (shared with the console).
pub async fn create_user(state: &AppState, admin: &Admin, body: CreateUser) -> ApiResult<User> {
    let username = Username::parse(&body.username)
        .map_err(|e| ApiError::invalid_field("username", e.to_string()))?;
    let mobile = body
        .mobile
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| parse_mobile(state, "mobile", m))
        .transpose()?;
    if body.mobile_verified && mobile.is_none() {
        return Err(ApiError::invalid_field(
            "mobile_verified",
            "mobile_verified needs a mobile number",
        ));
    }
    let display_name = check_display_name(body.display_name)?;
    let locale = check_locale(body.locale)?;
    let password_hash = match body.password.as_deref() {
        Some(p) => Some(hash_new_password(state, "password", p).await?),
        None => None,
    };
    let user = state
        .store
        .create_user(
            &NewUser {
                username,
                password_hash,
                mobile,
                mobile_verified: body.mobile_verified,
                display_name,
                locale,
                is_admin: body.is_admin,
            },
            state.now(),
        )
        .await
        .map_err(|e| match e {
            idgate_core::store::StoreError::Conflict(_) => {
                ApiError::conflict("a user with this username already exists")
                    .with_field("username")
            }
            other => other.into(),
        })?;
    audit(
        state,
        admin,
        "user.created",
        Some(user.id.clone()),
        json!({"before": null, "after": audit_view(&user, state.now())}),
    )
    .await;
    Ok(user)
}

/// Writes a changed user and records the change.
pub async fn save(
    state: &AppState,
    admin: &Admin,
    action: &str,
    before: &User,
    mut after: User,
) -> ApiResult<User> {
    let now = state.now();
    after.updated_at = now;
    state.store.update_user(&after).await?;
    audit(
        state,
        admin,
        action,
        Some(after.id.clone()),
        json!({"before": audit_view(before, now), "after": audit_view(&after, now)}),
    )
    .await;
    Ok(after)
}

/// Deletes a user's sessions and revokes the tokens issued from them.
pub async fn revoke_user_sessions(state: &AppState, user_id: &str) -> ApiResult<u64> {
    let now = state.now();
    for s in state.store.list_user_sessions(user_id).await? {
        state.store.revoke_session_grants(&s.id, now).await?;
    }
    Ok(state.store.delete_user_sessions(user_id).await?)
}

pub fn lock_user(u: &mut User, minutes: Option<u32>, now: i64) -> ApiResult<()> {
    if let Some(m) = minutes
        && !(1..=525_600).contains(&m)
    {
        return Err(ApiError::invalid_field(
            "minutes",
            format!("minutes must be between 1 and 525600 (got {m})"),
        ));
    }
    u.status = UserStatus::Locked;
    u.locked_until = minutes.map(|m| now + i64::from(m) * 60);
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserQuery),
    responses((status = 200, body = UserPage), (status = 422, description = "A bad parameter", body = crate::openapi::Problem)),
    security(("admin_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult<Json<UserPage>> {
    let limit = paging::limit(q.limit.as_deref())?;
    if q.q.as_ref().is_some_and(|s| s.chars().count() > 100) {
        return Err(ApiError::invalid_field(
            "q",
            "q must be at most 100 characters",
        ));
    }
    let users = state
        .store
        .search_users(
            q.q.as_deref(),
            &Page {
                limit,
                after: q.cursor,
            },
        )
        .await?;
    let now = state.now();
    Ok(Json(UserPage {
        next_cursor: paging::next_cursor(&users, limit, |u| u.username.clone()),
        users: users.iter().map(|u| UserView::of(u, now)).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = UserView), (status = 409, body = crate::openapi::Problem), (status = 422, body = crate::openapi::Problem)),
    security(("admin_token" = [])))]
pub async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<CreateUser>,
) -> ApiResult<impl IntoResponse> {
    let user = create_user(&state, &admin, body).await?;
    Ok((StatusCode::CREATED, Json(UserView::of(&user, state.now()))))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id or username")),
    responses((status = 200, body = UserView), (status = 404, body = crate::openapi::Problem)),
    security(("admin_token" = [])))]
pub async fn read(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<UserView>> {
    let u = find(&state, &id).await?;
    Ok(Json(UserView::of(&u, state.now())))
}

#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = UpdateUser,
    params(("id" = String, Path, description = "User id or username")),
    responses((status = 200, body = UserView), (status = 404, body = crate::openapi::Problem), (status = 422, body = crate::openapi::Problem)),
    security(("admin_token" = [])))]
pub async fn update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> ApiResult<Json<UserView>> {
    let before = find(&state, &id).await?;
    let mut u = before.clone();
    if let Some(d) = body.display_name {
        u.display_name = check_display_name(d)?;
    }
    if let Some(l) = body.locale {
        u.locale = check_locale(l)?;
    }
    if let Some(m) = body.mobile {
        let m = m.as_deref().map(str::trim).filter(|m| !m.is_empty());
        u.mobile = m.map(|m| parse_mobile(&state, "mobile", m)).transpose()?;
        // A new number is unverified unless the request says otherwise.
        if u.mobile != before.mobile {
            u.mobile_verified = false;
        }
    }
    if let Some(v) = body.mobile_verified {
        if v && u.mobile.is_none() {
            return Err(ApiError::invalid_field(
                "mobile_verified",
                "mobile_verified needs a mobile number",
            ));
        }
        u.mobile_verified = v;
    }
    if u.mobile.is_none() {
        u.mobile_verified = false;
    }
    if let Some(a) = body.is_admin {
        u.is_admin = a;
    }
    let u = save(&state, &admin, "user.updated", &before, u).await?;
    Ok(Json(UserView::of(&u, state.now())))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id or username")),
    responses((status = 204, description = "Deleted, with the user's sessions"), (status = 404, body = crate::openapi::Problem)),
    security(("admin_token" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let u = find(&state, &id).await?;
    revoke_user_sessions(&state, &u.id).await?;
    if !state.store.delete_user(&u.id).await? {
        return Err(ApiError::not_found("user"));
    }
    audit(
        &state,
        &admin,
        "user.deleted",
        Some(u.id.clone()),
        json!({"before": audit_view(&u, state.now()), "after": null}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/api/v1/users/{id}/mobile", tag = "users", request_body = SetMobile,
    params(("id" = String, Path, description = "User id or username")),
    responses((status = 200, body = UserView), (status = 422, body = crate::openapi::Problem)),
    security(("admin_token" = [])))]
pub async fn set_mobile(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetMobile>,
) -> ApiResult<Json<UserView>> {
    let before = find(&state, &id).await?;
    let mut u = before.clone();
    u.mobile = Some(parse_mobile(&state, "mobile", &body.mobile)?);
    u.mobile_verified = body.verified;
    let u = save(&state, &admin, "user.mobile_set", &before, u).await?;
    Ok(Json(UserView::of(&u, state.now())))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}/mobile", tag = "users",
    params(("id" = String, Path, description = "User id or username")),
    responses((status = 200, body = UserView)),
    security(("admin_token" = [])))]
pub async fn clear_mobile(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<UserView>> {
    let before = find(&state, &id).await?;
    let mut u = before.clone();
    u.mobile = None;
    u.mobile_verified = false;
    let u = save(&state, &admin, "user.mobile_cleared", &before, u).await?;
    Ok(Json(UserView::of(&u, state.now())))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/mobile/verify", tag = "users",
    params(("id" = String, Path, description = "User id or username")),
    responses((status = 200, description = "The number is marked verified (the admin vouches for it)", body = UserView), (status = 409, body = crate::openapi::Problem)),
    security(("admin_token" = [])))]
pub async fn verify_mobile(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<UserView>> {
    let before = find(&state, &id).await?;
    if before.mobile.is_none() {
        return Err(ApiError::conflict(
            "the user has no mobile number to verify",
        ));
    }
    let mut u = before.clone();
    u.mobile_verified = true;
    let u = save(&state, &admin, "user.mobile_verified", &before, u).await?;
    Ok(Json(UserView::of(&u, state.now())))
}

#[utoipa::path(put, path = "/api/v1/users/{id}/password", tag = "users", request_body = SetPassword,
    params(("id" = String, Path, description = "User id or username")),
    responses((status = 204, description = "Password replaced; the user's sessions are signed out"), (status = 422, body = crate::openapi::Problem)),
    security(("admin_token" = [])))]
pub async fn set_password(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetPassword>,
) -> ApiResult<StatusCode> {
    let before = find(&state, &id).await?;
    let mut u = before.clone();
    u.password_hash = Some(hash_new_password(&state, "password", &body.password).await?);
    save(&state, &admin, "user.password_reset", &before, u).await?;
    revoke_user_sessions(&state, &before.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/users/{id}/lock", tag = "users", request_body(content = LockBody, description = "Optional; an empty body locks until unlocked"),
    params(("id" = String, Path, description = "User id or username")),
    responses((status = 200, body = UserView), (status = 422, body = crate::openapi::Problem)),
    security(("admin_token" = [])))]
pub async fn lock(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<UserView>> {
    let body: LockBody = if body.iter().all(u8::is_ascii_whitespace) {
        LockBody::default()
    } else {
        crate::json::parse_json(&body)?
    };
    let before = find(&state, &id).await?;
    let mut u = before.clone();
    lock_user(&mut u, body.minutes, state.now())?;
    let u = save(&state, &admin, "user.locked", &before, u).await?;
    revoke_user_sessions(&state, &u.id).await?;
    Ok(Json(UserView::of(&u, state.now())))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", tag = "users",
    params(("id" = String, Path, description = "User id or username")),
    responses((status = 200, body = UserView)),
    security(("admin_token" = [])))]
pub async fn unlock(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<UserView>> {
    let before = find(&state, &id).await?;
    let mut u = before.clone();
    let now = state.now();
    // Like `idgate user unlock`: also resets the failure, lock-repeat and password
    // counters (so the next lock is a first lock again), and keeps a disabled account
    // disabled.
    idgate_core::limits::unlock_user(state.store.as_ref(), &state.keys, &mut u, now).await?;
    audit(
        &state,
        &admin,
        "user.unlocked",
        Some(u.id.clone()),
        json!({"before": audit_view(&before, now), "after": audit_view(&u, now)}),
    )
    .await;
    Ok(Json(UserView::of(&u, now)))
}

#[utoipa::path(get, path = "/api/v1/users/{id}/sessions", tag = "users",
    params(("id" = String, Path, description = "User id or username")),
    responses((status = 200, body = SessionList)),
    security(("admin_token" = [])))]
pub async fn sessions(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionList>> {
    let u = find(&state, &id).await?;
    let list = state.store.list_user_sessions(&u.id).await?;
    Ok(Json(SessionList {
        sessions: list.iter().map(SessionView::of).collect(),
    }))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}/sessions", tag = "users",
    params(("id" = String, Path, description = "User id or username")),
    responses((status = 200, description = "Every session signed out and its tokens revoked", body = Revoked)),
    security(("admin_token" = [])))]
pub async fn revoke_sessions(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<Revoked>> {
    let u = find(&state, &id).await?;
    let n = revoke_user_sessions(&state, &u.id).await?;
    audit(
        &state,
        &admin,
        "user.sessions_revoked",
        Some(u.id.clone()),
        json!({"revoked": n}),
    )
    .await;
    Ok(Json(Revoked { revoked: n }))
}
