//! Browser sessions on the web side: the cookie, loading, creating and rotating.
//!
//! The cookie holds a 256-bit random secret behind its creation time
//! ([`time_ordered_token`]); the store holds only its HMAC (keyed by that time). The secret is
//! replaced after each proven factor (session fixation), and the cookie is `HttpOnly;
//! SameSite=Lax`, `Secure` unless the issuer is plain-http loopback in dev mode.

use axum::http::{HeaderMap, HeaderValue, header};
use idgate_core::crypto::{random_token, time_ordered_token};
use idgate_core::login::Journey;
use idgate_core::new_id;
use idgate_core::session::Session;
use idgate_core::store::StoreError;

use crate::state::AppState;

pub const COOKIE: &str = "idgate_session";

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the random number generator failed")]
    Rng,
}

/// A loaded session and the secret its cookie carries.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub session: Session,
    pub secret: String,
}

/// The value of our cookie in a request, if any.
pub fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

pub async fn load(state: &AppState, headers: &HeaderMap) -> Result<Option<Loaded>, SessionError> {
    let Some(secret) = cookie_value(headers) else {
        return Ok(None);
    };
    let hash = state.keys.lookup_hash(&secret);
    Ok(state
        .store
        .find_session(&hash, state.now())
        .await?
        .map(|session| Loaded { session, secret }))
}

/// Creates a session carrying `journey`.
pub async fn create(state: &AppState, journey: Option<Journey>) -> Result<Loaded, SessionError> {
    let secret = time_ordered_token().map_err(|_| SessionError::Rng)?;
    let now = state.now();
    let session = Session {
        id: new_id(),
        secret_hash: state.keys.lookup_hash(&secret),
        csrf: random_token(24).map_err(|_| SessionError::Rng)?,
        user_id: None,
        factors: Vec::new(),
        auth_time: None,
        journey,
        created_at: now,
        updated_at: now,
        expires_at: now + state.oidc.session_ttl,
    };
    state.store.insert_session(&session).await?;
    Ok(Loaded { session, secret })
}

/// Gives the session a new secret and a new CSRF token, and saves its fields, in one
/// write. False if another request rotated it first — the caller's cookie is then stale
/// (and `loaded` is left as it was).
pub async fn rotate_and_save(state: &AppState, loaded: &mut Loaded) -> Result<bool, SessionError> {
    rotate_to(state, loaded, new_secret()?).await
}

/// A new cookie secret.
pub fn new_secret() -> Result<String, SessionError> {
    time_ordered_token().map_err(|_| SessionError::Rng)
}

/// [`rotate_and_save`] to a secret the caller chose (and may have recorded first).
pub async fn rotate_to(
    state: &AppState,
    loaded: &mut Loaded,
    secret: String,
) -> Result<bool, SessionError> {
    let mut session = loaded.session.clone();
    session.secret_hash = state.keys.lookup_hash(&secret);
    session.csrf = random_token(24).map_err(|_| SessionError::Rng)?;
    session.updated_at = state.now();
    let ok = state
        .store
        .rotate_session(&session, &loaded.session.secret_hash)
        .await?;
    if ok {
        loaded.session = session;
        loaded.secret = secret;
    }
    Ok(ok)
}

/// Saves the session's mutable fields.
pub async fn save(state: &AppState, loaded: &mut Loaded) -> Result<(), SessionError> {
    loaded.session.updated_at = state.now();
    state.store.update_session(&loaded.session).await?;
    Ok(())
}

/// Whether cookies may drop `Secure`: only a plain-http loopback issuer in dev mode.
fn insecure_ok(state: &AppState) -> bool {
    let issuer = &state.settings.issuer;
    state.settings.dev_mode
        && ["http://localhost", "http://127.0.0.1", "http://[::1]"]
            .iter()
            .any(|p| {
                issuer == p
                    || issuer.starts_with(&format!("{p}:"))
                    || issuer.starts_with(&format!("{p}/"))
            })
}

/// The `Set-Cookie` value carrying `secret`.
pub fn set_cookie(state: &AppState, secret: &str) -> HeaderValue {
    let secure = if insecure_ok(state) { "" } else { "; Secure" };
    let v = format!(
        "{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        state.oidc.session_ttl
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The `Set-Cookie` value that deletes the cookie.
pub fn clear_cookie(state: &AppState) -> HeaderValue {
    let secure = if insecure_ok(state) { "" } else { "; Secure" };
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn finds_our_cookie_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; idgate_session=abc; b=2"),
        );
        assert_eq!(cookie_value(&h).as_deref(), Some("abc"));
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("idgate_session="));
        assert_eq!(cookie_value(&h), None);
    }
}
