//! The console's own session: after idgate's OIDC flow proves an admin, a cookie binds
//! the console to that sign-in.
//!
//! The cookie is `sid.user_id.expires.mac`, where `mac` is a keyed hash of the rest under
//! the server's token key, so it cannot be forged. Each request re-checks, in the store,
//! that the user is still an unlocked admin and that the idgate session it came from is
//! still signed in — revoking the user's sessions (or signing out) ends console access
//! on every node. The CSRF token is derived from the cookie's MAC.

use axum::http::{HeaderMap, HeaderValue, header};
use idgate_core::admin_token::AdminToken;
use idgate_core::crypto::ct_eq;
use idgate_core::user::User;

use crate::auth::Admin;
use crate::error::ApiError;
use crate::state::AppState;

pub const COOKIE: &str = "idgate_console";
/// The short-lived cookie carrying the OIDC `state` of a console sign-in in progress.
pub const LOGIN_COOKIE: &str = "idgate_console_login";
/// The header the console's scripts send their CSRF token in when calling `/api/v1`.
pub const CSRF_HEADER: &str = "x-idgate-csrf";
/// Longest console session, in seconds (shorter if the idgate session ends first).
pub const TTL: i64 = 8 * 3600;

#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub user: User,
    pub session_id: String,
    pub csrf: String,
    pub expires_at: i64,
}

impl ConsoleSession {
    /// The admin identity for the shared API helpers (audit actor `user:<username>`).
    pub fn admin(&self) -> Admin {
        Admin {
            token: AdminToken {
                id: self.session_id.clone(),
                name: self.user.username.clone(),
                token_hash: String::new(),
                created_at: 0,
                expires_at: Some(self.expires_at),
                last_used_at: None,
                revoked_at: None,
            },
            console_user: Some(self.user.username.clone()),
        }
    }
}

fn mac(state: &AppState, payload: &str) -> String {
    state.keys.token_hash(&format!("console-session|{payload}"))
}

fn csrf_of(state: &AppState, mac: &str) -> String {
    let mut c = state.keys.token_hash(&format!("console-csrf|{mac}"));
    c.truncate(40);
    c
}

/// The value of a cookie named `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 512)
}

/// The cookie value for a new console session.
pub fn issue(state: &AppState, session_id: &str, user_id: &str, expires_at: i64) -> String {
    let payload = format!("{session_id}.{user_id}.{expires_at}");
    let m = mac(state, &payload);
    format!("{payload}.{m}")
}

fn secure(state: &AppState) -> &'static str {
    if state.settings.issuer.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

pub fn set_cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        secure(state)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub fn clear_cookie(state: &AppState) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        secure(state)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub fn set_login_cookie(state: &AppState, value: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{LOGIN_COOKIE}={value}; Path=/console; HttpOnly; SameSite=Lax; Max-Age=600{}",
        secure(state)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub fn clear_login_cookie(state: &AppState) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{LOGIN_COOKIE}=; Path=/console; HttpOnly; SameSite=Lax; Max-Age=0{}",
        secure(state)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The console session a request carries, if it is still valid.
pub async fn load(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<ConsoleSession>, idgate_core::store::StoreError> {
    let Some(value) = cookie(headers, COOKIE) else {
        return Ok(None);
    };
    let mut parts = value.rsplitn(2, '.');
    let (Some(given_mac), Some(payload)) = (parts.next(), parts.next()) else {
        return Ok(None);
    };
    let expected = mac(state, payload);
    if !ct_eq(expected.as_bytes(), given_mac.as_bytes()) {
        return Ok(None);
    }
    let fields: Vec<&str> = payload.split('.').collect();
    let [sid, user_id, exp] = fields.as_slice() else {
        return Ok(None);
    };
    let Ok(expires_at) = exp.parse::<i64>() else {
        return Ok(None);
    };
    let now = state.now();
    if now >= expires_at {
        return Ok(None);
    }
    let Some(user) = state.store.get_user(user_id).await? else {
        return Ok(None);
    };
    if !user.is_admin || user.is_locked(now) {
        return Ok(None);
    }
    let alive = state
        .store
        .list_user_sessions(&user.id)
        .await?
        .iter()
        .any(|s| s.id == *sid && s.expires_at > now);
    if !alive {
        return Ok(None);
    }
    Ok(Some(ConsoleSession {
        session_id: sid.to_string(),
        csrf: csrf_of(state, &expected),
        expires_at,
        user,
    }))
}

/// Whether a submitted CSRF token is this session's.
pub fn csrf_ok(session: &ConsoleSession, submitted: &str) -> bool {
    ct_eq(session.csrf.as_bytes(), submitted.as_bytes())
}

/// An admin for `/api/v1` from the console cookie plus its CSRF header; `None` when the
/// request has no valid console session or no matching header.
pub async fn api_admin(state: &AppState, headers: &HeaderMap) -> Result<Option<Admin>, ApiError> {
    let Some(given) = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some(s) = load(state, headers).await? else {
        return Ok(None);
    };
    let same_origin = crate::security_headers::same_origin_post(headers, &state.settings.issuer);
    Ok((same_origin && csrf_ok(&s, given)).then(|| s.admin()))
}
