//! Admin API for applications (OIDC clients): CRUD, secret regeneration (the secret is
//! shown once, stored as a keyed hash), redirect URIs, login flow, OTP-policy override,
//! ID-token signing algorithm and token lifetimes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use idgate_core::application::{
    ACCESS_TOKEN_LIFETIME_RANGE, AUTHORIZATION_CODE_LIFETIME_RANGE, Application,
    ClientOidcSettings, FirstFactor, ID_TOKEN_LIFETIME_RANGE, LoginFlow,
    REFRESH_TOKEN_LIFETIME_RANGE, TokenLifetimes, validate_redirect_uri,
};
use idgate_core::crypto::random_token;
use idgate_core::otp::OtpPolicy;
use idgate_core::store::Page;
use idgate_oidc::{Lifetimes, SigningAlg};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::api::paging::{self, ApiQuery};
use crate::api::rfc3339;
use crate::audit::audit;
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::json::ApiJson;
use crate::state::AppState;

/// The built-in console application's client id (see `crate::console`).
pub const CONSOLE_CLIENT_ID: &str = "console";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/applications", get(list).post(create))
        .route(
            "/api/v1/applications/{client_id}",
            get(read).patch(update).delete(remove),
        )
        .route(
            "/api/v1/applications/{client_id}/secret",
            post(regenerate_secret),
        )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationView {
    pub client_id: String,
    pub name: String,
    /// `confidential` (has a secret) or `public` (PKCE only).
    pub client_type: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// `{first: password|sms-otp, second: [sms-otp|whatsapp-otp…], missing_mobile: enrol|refuse, allow_unverified_mobile}`.
    #[schema(value_type = Object)]
    pub login_flow: LoginFlow,
    /// Null = the global OTP policy applies.
    #[schema(value_type = Option<Object>)]
    pub otp_policy: Option<OtpPolicy>,
    /// ID-token signing algorithm; null = the server default.
    pub signing_alg: Option<String>,
    /// This application's token lifetime overrides in seconds; null = the server's.
    pub token_lifetimes: TokenLifetimeOverrides,
    /// The lifetimes its tokens get: the overrides, else the server's.
    pub effective_token_lifetimes: EffectiveTokenLifetimes,
    pub issuer: String,
    pub discovery_url: String,
    /// Only in the answer that created or regenerated it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// Token lifetimes an application overrides, in seconds; null = the server's lifetime.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct TokenLifetimeOverrides {
    /// 60–86400.
    pub access_token: Option<i64>,
    /// 60–86400.
    pub id_token: Option<i64>,
    /// 300–31536000; how long a sign-in's refresh tokens work, counted from the sign-in.
    pub refresh_token: Option<i64>,
    /// 10–600.
    pub authorization_code: Option<i64>,
}

impl From<&TokenLifetimes> for TokenLifetimeOverrides {
    fn from(t: &TokenLifetimes) -> Self {
        Self {
            access_token: t.access_token,
            id_token: t.id_token,
            refresh_token: t.refresh_token,
            authorization_code: t.authorization_code,
        }
    }
}

/// The lifetimes an application's tokens get, in seconds.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct EffectiveTokenLifetimes {
    pub access_token: i64,
    pub id_token: i64,
    pub refresh_token: i64,
    pub authorization_code: i64,
}

impl From<Lifetimes> for EffectiveTokenLifetimes {
    fn from(l: Lifetimes) -> Self {
        Self {
            access_token: l.access_token,
            id_token: l.id_token,
            refresh_token: l.refresh_token,
            authorization_code: l.authorization_code,
        }
    }
}

/// Token lifetime overrides in a request, in seconds. A number sets the lifetime, `null`
/// returns it to the server's; a field left out keeps the current value (on create: the
/// server's).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TokenLifetimesInput {
    /// 60–86400.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<i64>, minimum = 60, maximum = 86400)]
    pub access_token: Option<Option<i64>>,
    /// 60–86400.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<i64>, minimum = 60, maximum = 86400)]
    pub id_token: Option<Option<i64>>,
    /// 300–31536000 (365 days), and at least the access-token lifetime.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<i64>, minimum = 300, maximum = 31536000)]
    pub refresh_token: Option<Option<i64>>,
    /// 10–600.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<i64>, minimum = 10, maximum = 600)]
    pub authorization_code: Option<Option<i64>>,
}

impl TokenLifetimesInput {
    /// `current` with this input's changes.
    pub fn apply(&self, current: &TokenLifetimes) -> TokenLifetimes {
        TokenLifetimes {
            access_token: self.access_token.unwrap_or(current.access_token),
            id_token: self.id_token.unwrap_or(current.id_token),
            refresh_token: self.refresh_token.unwrap_or(current.refresh_token),
            authorization_code: self
                .authorization_code
                .unwrap_or(current.authorization_code),
        }
    }
}

/// Checks overrides: each within its range, and a sign-in (whose length the refresh-token
/// lifetime sets) not shorter than its access tokens. Errors name `token_lifetimes.<field>`.
pub fn check_lifetimes(state: &AppState, l: &TokenLifetimes) -> ApiResult<()> {
    l.validate().map_err(|e| {
        ApiError::invalid_field(format!("token_lifetimes.{}", e.field), e.to_string())
    })?;
    let effective = state.oidc.lifetimes.with_overrides(l);
    if effective.refresh_token < effective.access_token {
        return Err(ApiError::invalid_field(
            "token_lifetimes.refresh_token",
            format!(
                "refresh_token ({} s) must be at least the access-token lifetime ({} s): access tokens stop working when the sign-in's refresh lifetime ends",
                effective.refresh_token, effective.access_token
            ),
        ));
    }
    Ok(())
}

/// The allowed ranges, for help texts: (field, min, max).
pub const LIFETIME_RANGES: [(&str, (i64, i64)); 4] = [
    ("access_token", ACCESS_TOKEN_LIFETIME_RANGE),
    ("id_token", ID_TOKEN_LIFETIME_RANGE),
    ("refresh_token", REFRESH_TOKEN_LIFETIME_RANGE),
    ("authorization_code", AUTHORIZATION_CODE_LIFETIME_RANGE),
];

impl ApplicationView {
    pub fn of(state: &AppState, a: &Application, oidc: &ClientOidcSettings) -> Self {
        Self {
            client_id: a.client_id.clone(),
            name: a.name.clone(),
            client_type: if a.is_public() {
                "public"
            } else {
                "confidential"
            }
            .into(),
            redirect_uris: a.redirect_uris.clone(),
            post_logout_redirect_uris: a.post_logout_redirect_uris.clone(),
            login_flow: a.login_flow.clone(),
            otp_policy: a.otp_policy.clone(),
            signing_alg: oidc.signing_alg.clone(),
            token_lifetimes: (&oidc.token_lifetimes).into(),
            effective_token_lifetimes: state
                .oidc
                .lifetimes
                .with_overrides(&oidc.token_lifetimes)
                .into(),
            issuer: state.settings.issuer.clone(),
            discovery_url: format!("{}/.well-known/openid-configuration", state.settings.issuer),
            client_secret: None,
            created_at: rfc3339(a.created_at),
            updated_at: rfc3339(a.updated_at),
        }
    }
}

async fn view(state: &AppState, a: &Application) -> ApiResult<ApplicationView> {
    let oidc = state.store.get_client_oidc_settings(&a.client_id).await?;
    Ok(ApplicationView::of(state, a, &oidc))
}

/// For audit details: what changed, with the secret only as "set".
fn audit_view(a: &Application, oidc: &ClientOidcSettings) -> Value {
    json!({
        "name": a.name,
        "client_secret_set": a.client_secret_hash.is_some(),
        "redirect_uris": a.redirect_uris,
        "post_logout_redirect_uris": a.post_logout_redirect_uris,
        "login_flow": a.login_flow,
        "otp_policy": a.otp_policy,
        "signing_alg": oidc.signing_alg,
        "token_lifetimes": oidc.token_lifetimes,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationPage {
    pub applications: Vec<ApplicationView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ApplicationQuery {
    /// 1–500, default 50.
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApplication {
    pub name: String,
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (SPA, mobile app): no secret, PKCE required.
    #[serde(default)]
    pub public: bool,
    /// Default: password, then a code by SMS.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub login_flow: Option<LoginFlow>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub otp_policy: Option<OtpPolicy>,
    /// `ES256` or `RS256`.
    #[serde(default)]
    pub signing_alg: Option<String>,
    /// Overrides of the server's token lifetimes; absent or null = the server's.
    #[serde(default)]
    pub token_lifetimes: Option<TokenLifetimesInput>,
}

fn some<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateApplication {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub login_flow: Option<LoginFlow>,
    /// Null returns to the global policy.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<Object>)]
    pub otp_policy: Option<Option<OtpPolicy>>,
    /// Null returns to the server default.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<String>)]
    pub signing_alg: Option<Option<String>>,
    /// Changes to the token lifetime overrides (fields left out are kept); null returns
    /// every lifetime to the server's.
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<TokenLifetimesInput>)]
    pub token_lifetimes: Option<Option<TokenLifetimesInput>>,
}

pub fn check_name(name: &str) -> ApiResult<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 100 || n.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            "name",
            "name must be 1–100 characters without control characters",
        ));
    }
    Ok(n.to_string())
}

pub fn check_uris(field: &str, uris: &[String], required: bool) -> ApiResult<Vec<String>> {
    if required && uris.is_empty() {
        return Err(ApiError::invalid_field(
            field,
            format!("{field} needs at least one URI"),
        ));
    }
    if uris.len() > 20 {
        return Err(ApiError::invalid_field(
            field,
            format!("{field}: at most 20 URIs"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, u) in uris.iter().enumerate() {
        let u = u.trim();
        if u.len() > 2000 {
            return Err(ApiError::invalid_field(
                format!("{field}[{i}]"),
                "the URI is longer than 2000 characters",
            ));
        }
        validate_redirect_uri(u)
            .map_err(|e| ApiError::invalid_field(format!("{field}[{i}]"), e.to_string()))?;
        if !out.iter().any(|x| x == u) {
            out.push(u.to_string());
        }
    }
    Ok(out)
}

pub fn check_flow(flow: &LoginFlow) -> ApiResult<()> {
    if flow.first == FirstFactor::SmsOtp
        && flow
            .second
            .contains(&idgate_core::application::SecondFactor::SmsOtp)
    {
        return Err(ApiError::invalid_field(
            "login_flow.second",
            "step 2 cannot repeat step 1 (SMS OTP); use whatsapp-otp or no step 2",
        ));
    }
    let mut seen = Vec::new();
    for f in &flow.second {
        if seen.contains(f) {
            return Err(ApiError::invalid_field(
                "login_flow.second",
                "a step 2 option is listed twice",
            ));
        }
        seen.push(*f);
    }
    Ok(())
}

pub fn check_policy(p: &OtpPolicy) -> ApiResult<()> {
    p.validate()
        .map_err(|e| ApiError::invalid_field(format!("otp_policy.{}", e.field), e.to_string()))
}

pub fn check_alg(a: &str) -> ApiResult<String> {
    SigningAlg::parse(a)
        .map(|a| a.as_str().to_string())
        .ok_or_else(|| {
            ApiError::invalid_field(
                "signing_alg",
                format!(
                    "signing_alg \"{a}\" is not supported; use one of {}",
                    SigningAlg::ALL.map(|a| a.as_str()).join(", ")
                ),
            )
        })
}

pub async fn find(state: &AppState, client_id: &str) -> ApiResult<Application> {
    state
        .store
        .get_application(client_id)
        .await?
        .ok_or_else(|| ApiError::not_found("application"))
}

/// Creates an application; returns it with its secret (shown once). Shared with the console.
pub async fn create_application(
    state: &AppState,
    admin: &Admin,
    body: CreateApplication,
) -> ApiResult<(Application, Option<String>, ClientOidcSettings)> {
    let name = check_name(&body.name)?;
    let redirect_uris = check_uris("redirect_uris", &body.redirect_uris, true)?;
    let post_logout = check_uris(
        "post_logout_redirect_uris",
        &body.post_logout_redirect_uris,
        false,
    )?;
    let login_flow = body.login_flow.unwrap_or_default();
    check_flow(&login_flow)?;
    if let Some(p) = &body.otp_policy {
        check_policy(p)?;
    }
    let alg = body.signing_alg.as_deref().map(check_alg).transpose()?;
    let lifetimes = body
        .token_lifetimes
        .map(|l| l.apply(&TokenLifetimes::default()))
        .unwrap_or_default();
    check_lifetimes(state, &lifetimes)?;
    let secret = if body.public {
        None
    } else {
        Some(random_token(32).map_err(|_| ApiError::internal())?)
    };
    let now = state.now();
    let app = Application {
        id: idgate_core::new_id(),
        client_id: format!(
            "app_{}",
            random_token(12).map_err(|_| ApiError::internal())?
        ),
        client_secret_hash: secret.as_ref().map(|s| state.keys.token_hash(s)),
        name,
        redirect_uris,
        post_logout_redirect_uris: post_logout,
        login_flow,
        otp_policy: body.otp_policy,
        created_at: now,
        updated_at: now,
    };
    state.store.create_application(&app).await?;
    if let Some(a) = &alg {
        state
            .store
            .set_client_signing_alg(&app.client_id, Some(a), now)
            .await?;
    }
    if !lifetimes.is_empty() {
        state
            .store
            .set_client_token_lifetimes(&app.client_id, &lifetimes, now)
            .await?;
    }
    let oidc = ClientOidcSettings {
        signing_alg: alg,
        token_lifetimes: lifetimes,
    };
    audit(
        state,
        admin,
        "application.created",
        Some(app.client_id.clone()),
        json!({"before": null, "after": audit_view(&app, &oidc)}),
    )
    .await;
    Ok((app, secret, oidc))
}

/// Applies a change; shared with the console.
pub async fn update_application(
    state: &AppState,
    admin: &Admin,
    client_id: &str,
    body: UpdateApplication,
) -> ApiResult<(Application, ClientOidcSettings)> {
    let before = find(state, client_id).await?;
    let oidc_before = state.store.get_client_oidc_settings(client_id).await?;
    let mut a = before.clone();
    if let Some(n) = &body.name {
        a.name = check_name(n)?;
    }
    if let Some(u) = &body.redirect_uris {
        a.redirect_uris = check_uris("redirect_uris", u, true)?;
    }
    if let Some(u) = &body.post_logout_redirect_uris {
        a.post_logout_redirect_uris = check_uris("post_logout_redirect_uris", u, false)?;
    }
    if let Some(f) = body.login_flow {
        check_flow(&f)?;
        a.login_flow = f;
    }
    if let Some(p) = body.otp_policy {
        if let Some(p) = &p {
            check_policy(p)?;
        }
        a.otp_policy = p;
    }
    let mut oidc = oidc_before.clone();
    if let Some(new_alg) = body.signing_alg {
        oidc.signing_alg = new_alg.as_deref().map(check_alg).transpose()?;
    }
    match body.token_lifetimes {
        None => {}
        Some(None) => oidc.token_lifetimes = TokenLifetimes::default(),
        Some(Some(change)) => oidc.token_lifetimes = change.apply(&oidc.token_lifetimes),
    }
    check_lifetimes(state, &oidc.token_lifetimes)?;
    let now = state.now();
    a.updated_at = now;
    state.store.update_application(&a).await?;
    if oidc.signing_alg != oidc_before.signing_alg {
        state
            .store
            .set_client_signing_alg(client_id, oidc.signing_alg.as_deref(), now)
            .await?;
    }
    if oidc.token_lifetimes != oidc_before.token_lifetimes {
        state
            .store
            .set_client_token_lifetimes(client_id, &oidc.token_lifetimes, now)
            .await?;
    }
    audit(
        state,
        admin,
        "application.updated",
        Some(a.client_id.clone()),
        json!({"before": audit_view(&before, &oidc_before), "after": audit_view(&a, &oidc)}),
    )
    .await;
    Ok((a, oidc))
}

/// Replaces the secret; returns it (shown once).
pub async fn new_secret(
    state: &AppState,
    admin: &Admin,
    client_id: &str,
) -> ApiResult<(Application, String)> {
    let mut a = find(state, client_id).await?;
    if a.is_public() {
        return Err(ApiError::conflict(
            "this application is public (PKCE only) and has no secret",
        ));
    }
    let secret = random_token(32).map_err(|_| ApiError::internal())?;
    a.client_secret_hash = Some(state.keys.token_hash(&secret));
    a.updated_at = state.now();
    state.store.update_application(&a).await?;
    audit(
        state,
        admin,
        "application.secret_regenerated",
        Some(a.client_id.clone()),
        json!({"client_secret_set": true}),
    )
    .await;
    Ok((a, secret))
}

pub async fn delete_application(state: &AppState, admin: &Admin, client_id: &str) -> ApiResult<()> {
    if client_id == CONSOLE_CLIENT_ID {
        return Err(ApiError::conflict(
            "the console application is built in; it cannot be deleted",
        ));
    }
    let a = find(state, client_id).await?;
    let oidc = state.store.get_client_oidc_settings(client_id).await?;
    if !state.store.delete_application(client_id).await? {
        return Err(ApiError::not_found("application"));
    }
    audit(
        state,
        admin,
        "application.deleted",
        Some(client_id.to_string()),
        json!({"before": audit_view(&a, &oidc), "after": null}),
    )
    .await;
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/applications", tag = "applications", params(ApplicationQuery),
    responses((status = 200, body = ApplicationPage), (status = 422, body = crate::openapi::Problem)),
    security(("admin_token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(q): ApiQuery<ApplicationQuery>,
) -> ApiResult<Json<ApplicationPage>> {
    let limit = paging::limit(q.limit.as_deref())?;
    let apps = state
        .store
        .list_applications(&Page {
            limit,
            after: q.cursor,
        })
        .await?;
    let mut views = Vec::with_capacity(apps.len());
    for a in &apps {
        views.push(view(&state, a).await?);
    }
    Ok(Json(ApplicationPage {
        next_cursor: paging::next_cursor(&apps, limit, |a| a.client_id.clone()),
        applications: views,
    }))
}

#[utoipa::path(post, path = "/api/v1/applications", tag = "applications", request_body = CreateApplication,
    responses((status = 201, description = "Created; `client_secret` is shown only now", body = ApplicationView), (status = 422, body = crate::openapi::Problem)),
    security(("admin_token" = [])))]
pub async fn create(
    State(state): State<AppState>,
    admin: Admin,
    ApiJson(body): ApiJson<CreateApplication>,
) -> ApiResult<impl IntoResponse> {
    let (app, secret, oidc) = create_application(&state, &admin, body).await?;
    let mut v = ApplicationView::of(&state, &app, &oidc);
    v.client_secret = secret;
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(v),
    ))
}

#[utoipa::path(get, path = "/api/v1/applications/{client_id}", tag = "applications",
    params(("client_id" = String, Path)),
    responses((status = 200, body = ApplicationView), (status = 404, body = crate::openapi::Problem)),
    security(("admin_token" = [])))]
pub async fn read(
    State(state): State<AppState>,
    _admin: Admin,
    Path(client_id): Path<String>,
) -> ApiResult<Json<ApplicationView>> {
    let a = find(&state, &client_id).await?;
    Ok(Json(view(&state, &a).await?))
}

#[utoipa::path(patch, path = "/api/v1/applications/{client_id}", tag = "applications", request_body = UpdateApplication,
    params(("client_id" = String, Path)),
    responses((status = 200, body = ApplicationView), (status = 404, body = crate::openapi::Problem), (status = 422, body = crate::openapi::Problem)),
    security(("admin_token" = [])))]
pub async fn update(
    State(state): State<AppState>,
    admin: Admin,
    Path(client_id): Path<String>,
    ApiJson(body): ApiJson<UpdateApplication>,
) -> ApiResult<Json<ApplicationView>> {
    let (a, oidc) = update_application(&state, &admin, &client_id, body).await?;
    Ok(Json(ApplicationView::of(&state, &a, &oidc)))
}

#[utoipa::path(delete, path = "/api/v1/applications/{client_id}", tag = "applications",
    params(("client_id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = crate::openapi::Problem), (status = 409, body = crate::openapi::Problem)),
    security(("admin_token" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    admin: Admin,
    Path(client_id): Path<String>,
) -> ApiResult<StatusCode> {
    delete_application(&state, &admin, &client_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecretView {
    pub client_id: String,
    /// Shown only now; idgate keeps only its hash.
    pub client_secret: String,
}

#[utoipa::path(post, path = "/api/v1/applications/{client_id}/secret", tag = "applications",
    params(("client_id" = String, Path)),
    responses((status = 200, description = "A new secret, shown once; the old one stops working", body = SecretView), (status = 409, body = crate::openapi::Problem)),
    security(("admin_token" = [])))]
pub async fn regenerate_secret(
    State(state): State<AppState>,
    admin: Admin,
    Path(client_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let (a, secret) = new_secret(&state, &admin, &client_id).await?;
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(SecretView {
            client_id: a.client_id,
            client_secret: secret,
        }),
    ))
}
