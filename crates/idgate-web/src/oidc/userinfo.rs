//! `/userinfo` (GET and POST; the token in the `Authorization` header or, for POST, the
//! form body — RFC 6750 §2.1–2.2). The access token must be ours, unexpired, and its
//! grant still active.

use std::collections::HashMap;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idgate_oidc::claims::{ACCESS_TOKEN_TYP, AccessTokenClaims, user_claims};
use idgate_oidc::{ErrorCode, OAuthError};
use serde_json::Value;

use crate::oidc::errors::{json, no_store};
use crate::state::AppState;

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string())
}

pub async fn get_userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    userinfo(&state, bearer(&headers)).await
}

pub async fn post_userinfo(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let from_form = form.ok().and_then(|Form(f)| f.get("access_token").cloned());
    userinfo(&state, bearer(&headers).or(from_form)).await
}

async fn userinfo(state: &AppState, token: Option<String>) -> Response {
    let invalid = |d: &str| json(&OAuthError::new(ErrorCode::InvalidToken, d));
    let Some(token) = token else {
        return invalid("send the access token as a Bearer token");
    };
    let ring = match state.oidc.ring().await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "userinfo: loading keys failed");
            return json(&OAuthError::server_error());
        }
    };
    let Ok(claims) =
        ring.verify::<AccessTokenClaims>(&token, &state.settings.issuer, ACCESS_TOKEN_TYP)
    else {
        return invalid("the access token is invalid or expired");
    };
    let Some(gid) = &claims.gid else {
        return invalid("this access token carries no user");
    };
    let now = state.now();
    match state.store.get_grant(gid).await {
        Ok(Some(g)) if g.is_active(now) => {}
        Ok(_) => return invalid("the access token was revoked"),
        Err(e) => {
            tracing::error!(error = %e, "userinfo: loading the grant failed");
            return json(&OAuthError::server_error());
        }
    }
    let user = match state.store.get_user(&claims.sub).await {
        Ok(Some(u)) if !u.is_locked(now) => u,
        Ok(_) => return invalid("the user can no longer sign in"),
        Err(e) => {
            tracing::error!(error = %e, "userinfo: loading the user failed");
            return json(&OAuthError::server_error());
        }
    };
    let mut body = user_claims(&user, &claims.scope);
    body.insert("sub".into(), Value::String(user.id));
    let mut r = (StatusCode::OK, axum::Json(body)).into_response();
    no_store(&mut r);
    r
}
