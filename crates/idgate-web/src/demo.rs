//! The click-through demo (dev mode only): a demo user and a demo application seeded on
//! first start, and a small relying party at `/demo` that signs in through idgate's own
//! OpenID Connect endpoints — authorization code flow with PKCE, the code exchanged on
//! the server — and shows the ID token's claims (`amr` included).
//!
//! The relying party keeps its `state`, `nonce` and PKCE verifier in a short-lived
//! cookie scoped to `/demo`, the way a small web application would.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use idgate_core::application::LoginFlow;
use idgate_core::crypto::{ct_eq, random_token};
use idgate_core::password::{Argon2Params, hash_password};
use idgate_core::phone::PhoneNumber;
use idgate_core::store::StoreError;
use idgate_core::user::{NewUser, Username};
use idgate_oidc::authorize::redirect_url;
use idgate_oidc::claims::{ID_TOKEN_TYP, IdTokenClaims};
use idgate_oidc::pkce;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::oidc::builtin::{self, BuiltinApp};
use crate::oidc::errors::see_other;
use crate::oidc::token::request_in_process;
use crate::pages::{self, Brand, Texts, i18n};
use crate::state::AppState;

/// The demo application's client id.
pub const CLIENT_ID: &str = "idgate-demo";
/// The demo user.
pub const USERNAME: &str = "demo";
/// The demo user's number (codes go to the dev outbox).
pub const MOBILE: &str = "+14155550100";
const COOKIE: &str = "idgate_demo";
/// The settings key recording that the demo user was seeded (so it happens once).
const SEEDED: &str = "demo_seeded";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("seeding the demo: {0}")]
    Seed(String),
}

/// The demo user's credentials, returned once (on the start that created it).
pub struct DemoCredentials {
    pub username: &'static str,
    pub password: Zeroizing<String>,
    pub mobile: &'static str,
}

impl std::fmt::Debug for DemoCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoCredentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The demo application for an issuer: public (PKCE), password then SMS code.
pub fn application(issuer: &str) -> BuiltinApp {
    BuiltinApp {
        client_id: CLIENT_ID.into(),
        name: "idgate demo".into(),
        redirect_uris: vec![format!("{issuer}/demo/callback")],
        post_logout_redirect_uris: vec![format!("{issuer}/demo")],
        login_flow: LoginFlow::default(),
    }
}

/// Registers the demo application (every start: its URIs follow the issuer) and, on
/// the first start only, the demo user with a generated password, returned so the
/// caller can print it once.
pub async fn seed(
    state: &AppState,
    argon2: Argon2Params,
) -> Result<Option<DemoCredentials>, DemoError> {
    let store = state.store.as_ref();
    let now = state.now();
    builtin::ensure(store, &application(&state.settings.issuer), now).await?;
    if store.get_setting(SEEDED).await?.is_some() {
        return Ok(None);
    }
    let mark = || store.put_setting(SEEDED, &Value::Bool(true), now);
    if store.find_user_by_username(USERNAME).await?.is_some() {
        mark().await?;
        return Ok(None);
    }
    let password = Zeroizing::new(random_token(12).map_err(|e| DemoError::Seed(e.to_string()))?);
    let pw = password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&pw, &argon2))
        .await
        .map_err(|e| DemoError::Seed(e.to_string()))?
        .map_err(|e| DemoError::Seed(e.to_string()))?;
    let user = NewUser {
        username: Username::parse(USERNAME).map_err(|e| DemoError::Seed(e.to_string()))?,
        password_hash: Some(hash),
        mobile: Some(PhoneNumber::parse(MOBILE, None).map_err(|e| DemoError::Seed(e.to_string()))?),
        mobile_verified: true,
        display_name: Some("Demo User".into()),
        locale: None,
        is_admin: false,
    };
    match store.create_user(&user, now).await {
        Ok(_) => {}
        // Another node seeded it at the same moment; it prints the password.
        Err(StoreError::Conflict(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    mark().await?;
    Ok(Some(DemoCredentials {
        username: USERNAME,
        password,
        mobile: MOBILE,
    }))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/demo", get(home))
        .route("/demo/login", get(login))
        .route("/demo/callback", get(callback))
}

#[derive(Template)]
#[template(path = "demo.html")]
struct DemoPage<'a> {
    brand: &'a Brand,
    t: &'static Texts,
    title: &'a str,
    username: &'a str,
    error: Option<String>,
    claims: Vec<(String, String)>,
    id_token: String,
    client_id: &'a str,
    logout_return: String,
}

fn page(state: &AppState, status: StatusCode, error: Option<String>) -> Response {
    pages::render(
        status,
        &DemoPage {
            brand: &state.oidc.brand,
            t: i18n::for_locales(None, None),
            title: "Demo application",
            username: USERNAME,
            error,
            claims: Vec::new(),
            id_token: String::new(),
            client_id: CLIENT_ID,
            logout_return: String::new(),
        },
    )
}

/// The demo's cookie must live on the issuer's host (the callback comes back there), so
/// a visit through another name (`localhost` for `127.0.0.1`) is sent to the issuer's.
async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let issuer = &state.settings.issuer;
    let authority = issuer
        .split_once("://")
        .map_or("", |(_, rest)| rest.split('/').next().unwrap_or_default());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if let Some(host) = host
        && !authority.is_empty()
        && !host.eq_ignore_ascii_case(authority)
    {
        return see_other(&format!("{issuer}/demo"));
    }
    page(&state, StatusCode::OK, None)
}

fn cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.settings.issuer.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/demo; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Starts a sign-in: fresh `state`, `nonce` and PKCE verifier, then off to `/authorize`.
async fn login(State(state): State<AppState>) -> Response {
    let (Ok(st), Ok(nonce), Ok(verifier)) = (random_token(16), random_token(16), random_token(32))
    else {
        return page(
            &state,
            StatusCode::INTERNAL_SERVER_ERROR,
            Some("The random number generator failed.".into()),
        );
    };
    let issuer = &state.settings.issuer;
    let callback = format!("{issuer}/demo/callback");
    let challenge = pkce::s256(&verifier);
    let url = redirect_url(
        &format!("{issuer}/authorize"),
        &[
            ("client_id", CLIENT_ID),
            ("redirect_uri", &callback),
            ("response_type", "code"),
            ("scope", "openid profile phone"),
            ("state", &st),
            ("nonce", &nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let mut r = see_other(&url);
    r.headers_mut().insert(
        header::SET_COOKIE,
        cookie(&state, &format!("{st}.{nonce}.{verifier}"), 600),
    );
    r
}

fn demo_cookie(headers: &HeaderMap) -> Option<(String, String, String)> {
    let v = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim().to_string())?;
    let mut parts = v.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(s), Some(n), Some(v), None) => Some((s.into(), n.into(), v.into())),
        _ => None,
    }
}

/// The redirect back: check `state`, exchange the code (with the PKCE verifier), verify
/// the ID token and its nonce, and show the claims.
async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let fail = |status, text: &str| {
        let mut r = page(&state, status, Some(text.to_string()));
        r.headers_mut()
            .insert(header::SET_COOKIE, cookie(&state, "", 0));
        r
    };
    let Some((expected_state, nonce, verifier)) = demo_cookie(&headers) else {
        return fail(
            StatusCode::BAD_REQUEST,
            "This sign-in was not started here (or took longer than 10 minutes). Start again.",
        );
    };
    let got_state = q.get("state").map(String::as_str).unwrap_or_default();
    if !ct_eq(got_state.as_bytes(), expected_state.as_bytes()) {
        return fail(
            StatusCode::BAD_REQUEST,
            "The state parameter does not match this browser's sign-in: refused.",
        );
    }
    if let Some(e) = q.get("error") {
        let detail = q.get("error_description").cloned().unwrap_or_default();
        return fail(
            StatusCode::OK,
            &format!("The sign-in ended with \"{e}\". {detail}"),
        );
    }
    let Some(code) = q.get("code") else {
        return fail(
            StatusCode::BAD_REQUEST,
            "The redirect carried no authorization code.",
        );
    };
    let issuer = state.settings.issuer.clone();
    let form: HashMap<String, String> = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", &format!("{issuer}/demo/callback")),
        ("client_id", CLIENT_ID),
        ("code_verifier", &verifier),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let tokens = match request_in_process(&state, &form).await {
        Ok(t) => t,
        Err(e) => {
            return fail(
                StatusCode::BAD_GATEWAY,
                &format!("The token request failed: {}.", e.description),
            );
        }
    };
    let Some(id_token) = tokens.id_token else {
        return fail(
            StatusCode::BAD_GATEWAY,
            "The token response had no ID token.",
        );
    };
    let claims = match state
        .oidc
        .ring()
        .await
        .map(|ring| ring.verify::<IdTokenClaims>(&id_token, &issuer, ID_TOKEN_TYP))
    {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            return fail(
                StatusCode::BAD_GATEWAY,
                &format!("The ID token did not verify: {e}."),
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "demo: loading keys failed");
            return fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Loading the signing keys failed.",
            );
        }
    };
    if claims.aud != CLIENT_ID || claims.nonce.as_deref() != Some(nonce.as_str()) {
        return fail(
            StatusCode::BAD_GATEWAY,
            "The ID token is not for this sign-in (audience or nonce differ).",
        );
    }
    let shown = match serde_json::to_value(&claims) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut r = pages::render(
        StatusCode::OK,
        &DemoPage {
            brand: &state.oidc.brand,
            t: i18n::for_locales(None, None),
            title: "Signed in to the demo",
            username: USERNAME,
            error: None,
            claims: shown,
            id_token,
            client_id: CLIENT_ID,
            logout_return: format!("{issuer}/demo"),
        },
    );
    r.headers_mut()
        .insert(header::SET_COOKIE, cookie(&state, "", 0));
    r
}
