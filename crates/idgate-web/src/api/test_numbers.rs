//! Admin API for test numbers: numbers with a fixed code that never reach a provider
//! (app-store review, staging). The code is write-only: it is given when an entry is
//! saved and never returned. Entries of the config file are listed (`source: config`)
//! but changed only there.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use axum::{Json, Router};
use idgate_core::otp::test_numbers::{Source, TestNumber};
use idgate_core::phone::PhoneNumber;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::rfc3339;
use crate::audit::audit;
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::json::ApiJson;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/test-numbers",
            get(list_numbers).post(create_number),
        )
        .route("/api/v1/test-numbers/{number}", delete(delete_number))
}

/// A new or replaced test number.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestNumberBody {
    /// International form, e.g. `+14155550100` (or national with the default region).
    pub number: String,
    /// The fixed code, 4 to 10 digits. Write-only.
    pub code: String,
    /// Client ids the entry answers for; absent or empty: every application.
    #[serde(default)]
    pub applications: Vec<String>,
    /// Required in production mode.
    #[serde(default)]
    pub allow_in_production: bool,
}

/// The API's view of an entry: never the code.
pub fn view(t: &TestNumber, production: bool) -> Value {
    json!({
        "number": t.number.as_str(),
        "applications": t.applications,
        "all_applications": t.applications.is_empty(),
        "allow_in_production": t.allow_in_production,
        "active": t.active(production),
        "source": match t.source { Source::Config => "config", Source::Admin => "admin" },
        "created_at": t.created_at.map(rfc3339),
    })
}

/// Every entry, config file first.
pub async fn list(state: &AppState) -> ApiResult<Vec<TestNumber>> {
    Ok(state.otp.list_test_numbers().await?)
}

/// Validates and saves an entry (the admin API and the console share this), and audits
/// `test_number.saved`. Named applications must exist.
pub async fn save(state: &AppState, admin: &Admin, body: TestNumberBody) -> ApiResult<TestNumber> {
    let number = PhoneNumber::parse(&body.number, state.settings.default_region.as_deref())
        .map_err(|e| ApiError::invalid_field("number", e.to_string()))?;
    let applications: Vec<String> = body
        .applications
        .iter()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    for (i, a) in applications.iter().enumerate() {
        if a.len() > 128 || state.store.get_application(a).await?.is_none() {
            return Err(ApiError::invalid_field(
                format!("applications[{i}]"),
                format!(
                    "no application has the client id \"{a}\"; use the client ids of existing applications, or none for every application"
                ),
            ));
        }
    }
    let saved = state
        .otp
        .save_test_number(
            &number,
            body.code.trim(),
            applications,
            body.allow_in_production,
        )
        .await?;
    audit(
        state,
        admin,
        "test_number.saved",
        Some(number.masked()),
        json!({
            "applications": saved.applications,
            "allow_in_production": saved.allow_in_production,
        }),
    )
    .await;
    Ok(saved)
}

/// Deletes an entry made through the API or console, auditing `test_number.deleted`.
pub async fn remove(state: &AppState, admin: &Admin, number: &str) -> ApiResult<()> {
    let number = PhoneNumber::parse(number, state.settings.default_region.as_deref())
        .map_err(|e| ApiError::invalid_field("number", e.to_string()))?;
    if !state.otp.delete_test_number(&number).await? {
        return Err(ApiError::not_found("test number"));
    }
    audit(
        state,
        admin,
        "test_number.deleted",
        Some(number.masked()),
        json!({}),
    )
    .await;
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/test-numbers", tag = "otp", responses((status = 200, description = "`{test_numbers: [{number, applications, all_applications, allow_in_production, active, source, created_at}]}`; never a code", body = Object)), security(("admin_token" = [])))]
async fn list_numbers(
    State(state): State<AppState>,
    _admin: Admin,
) -> ApiResult<impl IntoResponse> {
    let production = state.otp.production();
    let all: Vec<Value> = list(&state)
        .await?
        .iter()
        .map(|t| view(t, production))
        .collect();
    Ok(Json(json!({ "test_numbers": all })))
}

/// Creates (or replaces) a test number. The code is write-only.
#[utoipa::path(post, path = "/api/v1/test-numbers", tag = "otp", request_body(content = Object, description = "`{number, code, applications?, allow_in_production?}`"), responses((status = 201, body = Object), (status = 409, body = crate::openapi::Problem), (status = 422, body = crate::openapi::Problem)), security(("admin_token" = [])))]
async fn create_number(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<TestNumberBody>,
) -> ApiResult<impl IntoResponse> {
    let saved = save(&state, &admin, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(view(&saved, state.otp.production())),
    ))
}

#[utoipa::path(delete, path = "/api/v1/test-numbers/{number}", tag = "otp", params(("number" = String, Path, description = "E.164, e.g. +14155550100 (URL-encode the +)")), responses((status = 204), (status = 404, body = crate::openapi::Problem), (status = 409, body = crate::openapi::Problem)), security(("admin_token" = [])))]
async fn delete_number(
    State(state): State<AppState>,
    admin: Admin,
    Path(number): Path<String>,
) -> ApiResult<impl IntoResponse> {
    remove(&state, &admin, &number).await?;
    Ok(StatusCode::NO_CONTENT)
}
