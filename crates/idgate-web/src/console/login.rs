//! Console sign-in through idgate's own OpenID Connect flow: `/console/login` sends the
//! browser to `/authorize` as the built-in `console` application (a public client with
//! PKCE); `/console/callback` redeems the code server-side, in-process, and opens a
//! console session if the user is an admin.

use std::collections::HashMap;

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use idgate_core::application::LoginFlow;
use idgate_core::crypto::{ct_eq, random_token};
use idgate_core::grant::CodeRedemption;
use idgate_core::store::StoreError;
use idgate_oidc::pkce;

use crate::api::applications::CONSOLE_CLIENT_ID;
use crate::console::session::{self, LOGIN_COOKIE, TTL};
use crate::console::{error_page, see_other};
use crate::oidc::builtin::{self, BuiltinApp};
use crate::state::AppState;

/// The console's redirect URI.
pub fn redirect_uri(state: &AppState) -> String {
    format!("{}/console/callback", state.settings.issuer)
}

/// Registers the built-in `console` application on start (password + SMS code), or
/// points its redirect URI at the current issuer (the shared built-in helper). Its login
/// flow is the operator's to change (in the console or the API); it is left alone once
/// registered.
pub async fn register(state: &AppState) -> Result<(), StoreError> {
    let issuer = &state.settings.issuer;
    let app = BuiltinApp {
        client_id: CONSOLE_CLIENT_ID.into(),
        name: "idgate console".into(),
        redirect_uris: vec![redirect_uri(state)],
        post_logout_redirect_uris: vec![format!("{issuer}/console")],
        login_flow: LoginFlow::default(),
    };
    builtin::ensure(state.store.as_ref(), &app, state.now())
        .await
        .map(|_| ())
}

/// The PKCE verifier for a sign-in's `state`: derived with the server key, so nothing
/// but the state needs keeping.
fn verifier(state: &AppState, login_state: &str) -> String {
    state
        .keys
        .token_hash(&format!("console-pkce|{login_state}"))
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub async fn start(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Ok(Some(_)) = session::load(&state, &headers).await {
        return see_other("/console");
    }
    if let Err(e) = register(&state).await {
        tracing::error!(error = %e, "console: registering the console application failed");
        return error_page(
            &state,
            StatusCode::INTERNAL_SERVER_ERROR,
            "The console application could not be registered; the server log has the details.",
        );
    }
    let Ok(login_state) = random_token(16) else {
        return error_page(
            &state,
            StatusCode::INTERNAL_SERVER_ERROR,
            "The random number generator failed.",
        );
    };
    let challenge = pkce::s256(&verifier(&state, &login_state));
    let url = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid&state={}&code_challenge={}&code_challenge_method=S256",
        CONSOLE_CLIENT_ID,
        encode(&redirect_uri(&state)),
        encode(&login_state),
        encode(&challenge),
    );
    let mut r = see_other(&url);
    r.headers_mut().append(
        header::SET_COOKIE,
        session::set_login_cookie(&state, &login_state),
    );
    r
}

pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let fail = |status, text: &str| {
        let mut r = error_page(&state, status, text);
        r.headers_mut()
            .append(header::SET_COOKIE, session::clear_login_cookie(&state));
        r
    };
    if let Some(err) = q.get("error") {
        tracing::info!(error = %err, "console sign-in ended with an error");
        return fail(
            StatusCode::BAD_REQUEST,
            "Sign-in did not complete. Go to /console to try again.",
        );
    }
    let (Some(code), Some(given_state)) = (q.get("code"), q.get("state")) else {
        return fail(
            StatusCode::BAD_REQUEST,
            "The sign-in answer is incomplete. Go to /console to try again.",
        );
    };
    let expected = session::cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !ct_eq(expected.as_bytes(), given_state.as_bytes()) {
        return fail(
            StatusCode::BAD_REQUEST,
            "The sign-in answer does not match a sign-in started in this browser. Go to /console to try again.",
        );
    }
    let now = state.now();
    let redeemed = match state
        .store
        .redeem_auth_code(&state.keys.lookup_hash(code), now, None)
        .await
    {
        Ok(CodeRedemption::Redeemed(c)) => c,
        Ok(_) => {
            return fail(
                StatusCode::BAD_REQUEST,
                "The sign-in code is invalid, expired or already used. Go to /console to try again.",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "console: redeeming the code failed");
            return fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            );
        }
    };
    let challenge_ok = redeemed
        .code_challenge
        .as_deref()
        .is_some_and(|c| pkce::verify(&verifier(&state, given_state), c));
    if redeemed.client_id != CONSOLE_CLIENT_ID
        || redeemed.redirect_uri != redirect_uri(&state)
        || !challenge_ok
    {
        let _ = state.store.revoke_grant(&redeemed.grant_id, now).await;
        return fail(
            StatusCode::BAD_REQUEST,
            "The sign-in code was not issued to the console.",
        );
    }
    let grant = match state.store.get_grant(&redeemed.grant_id).await {
        Ok(Some(g)) if g.is_active(now) => g,
        Ok(_) => {
            return fail(
                StatusCode::BAD_REQUEST,
                "The sign-in was revoked. Go to /console to try again.",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "console: loading the grant failed");
            return fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            );
        }
    };
    // The console uses no tokens: the grant only proved who signed in.
    let _ = state.store.revoke_grant(&grant.id, now).await;
    let (Some(user_id), Some(sid)) = (grant.user_id.clone(), grant.session_id.clone()) else {
        return fail(StatusCode::BAD_REQUEST, "The sign-in carried no user.");
    };
    let user = match state.store.get_user(&user_id).await {
        Ok(Some(u)) => u,
        Ok(None) => return fail(StatusCode::FORBIDDEN, "The user no longer exists."),
        Err(e) => {
            tracing::error!(error = %e, "console: loading the user failed");
            return fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side.",
            );
        }
    };
    if !user.is_admin {
        tracing::warn!(user = %user.id, "console sign-in refused: not an administrator");
        crate::audit::record(
            &state,
            format!("user:{}", user.username),
            "console.refused",
            Some(user.id.clone()),
            serde_json::json!({"reason": "not an administrator"}),
        )
        .await;
        return fail(
            StatusCode::FORBIDDEN,
            "You are signed in, but you are not an administrator: the console is for admins only. Ask an admin to give your account admin rights.",
        );
    }
    let session_end = match state.store.list_user_sessions(&user.id).await {
        Ok(list) => list.iter().find(|s| s.id == sid).map(|s| s.expires_at),
        Err(e) => {
            tracing::error!(error = %e, "console: listing sessions failed");
            None
        }
    };
    let Some(session_end) = session_end else {
        return fail(
            StatusCode::BAD_REQUEST,
            "The sign-in session has ended. Go to /console to try again.",
        );
    };
    let expires_at = session_end.min(now + TTL);
    let value = session::issue(&state, &sid, &user.id, expires_at);
    crate::audit::record(
        &state,
        format!("user:{}", user.username),
        "console.signed_in",
        Some(user.id.clone()),
        serde_json::json!({"amr": idgate_core::login::amr(&grant.factors)}),
    )
    .await;
    let mut r = see_other("/console");
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        session::set_cookie(&state, &value, expires_at - now),
    );
    h.append(header::SET_COOKIE, session::clear_login_cookie(&state));
    r
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = match crate::console::guard_post(&state, &headers, &form).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let now = state.now();
    let _ = state.store.revoke_session_grants(&s.session_id, now).await;
    if let Err(e) = state.store.delete_session(&s.session_id).await {
        tracing::warn!(error = %e, "console: deleting the session failed");
    }
    crate::audit::record(
        &state,
        format!("user:{}", s.user.username),
        "console.signed_out",
        Some(s.user.id.clone()),
        serde_json::json!({}),
    )
    .await;
    let mut r = error_page(&state, StatusCode::OK, "You are signed out of the console.");
    r.headers_mut()
        .append(header::SET_COOKIE, session::clear_cookie(&state));
    r
}
