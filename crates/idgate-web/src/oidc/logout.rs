//! RP-initiated logout (`end_session_endpoint`). With a valid `id_token_hint` the session
//! ends at once; without one the user confirms (so a cross-site link cannot sign anyone
//! out). `post_logout_redirect_uri` must be registered for the client, else a page says
//! so and nothing redirects. A `client_id` that is not the hint's audience is refused.

use std::collections::HashMap;

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use idgate_core::crypto::ct_eq;
use idgate_oidc::authorize::redirect_url;
use idgate_oidc::claims::IdTokenClaims;

use crate::oidc::errors::see_other;
use crate::pages::{self, LogoutPage, i18n};
use crate::session;
use crate::state::AppState;

pub async fn get_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    logout(state, headers, params, false).await
}

pub async fn post_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(params): Form<HashMap<String, String>>,
) -> Response {
    logout(state, headers, params, true).await
}

async fn logout(
    state: AppState,
    headers: HeaderMap,
    params: HashMap<String, String>,
    posted: bool,
) -> Response {
    let t = i18n::for_locales(
        params.get("ui_locales").map(String::as_str),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let brand = &state.oidc.brand;
    let page_error = |text: &str| {
        pages::message(
            brand,
            t,
            StatusCode::BAD_REQUEST,
            t.error_title,
            "error",
            text.to_string(),
        )
    };
    let get = |k: &str| params.get(k).filter(|v| !v.is_empty()).cloned();
    let hint: Option<IdTokenClaims> = match (get("id_token_hint"), state.oidc.ring().await) {
        (Some(h), Ok(ring)) => ring.verify_hint(&h, &state.settings.issuer).ok(),
        _ => None,
    };
    // RP-Initiated Logout 1.0 §2: with both, the client_id must be the hint's audience.
    if let (Some(cid), Some(h)) = (get("client_id"), &hint)
        && cid != h.aud
    {
        return page_error(t.logout_client_mismatch);
    }
    let client_id = get("client_id").or_else(|| hint.as_ref().map(|h| h.aud.clone()));
    let mut target = None;
    if let Some(uri) = get("post_logout_redirect_uri") {
        let Some(cid) = &client_id else {
            return page_error(t.logout_no_client);
        };
        match state.store.get_application(cid).await {
            Ok(Some(app)) if app.post_logout_redirect_uris.contains(&uri) => target = Some(uri),
            Ok(_) => {
                return page_error(t.logout_redirect_unregistered);
            }
            Err(e) => {
                tracing::error!(error = %e, "logout: loading the application failed");
                return page_error(t.server_error);
            }
        }
    }
    let loaded = session::load(&state, &headers).await.ok().flatten();
    let confirmed = match (&loaded, &hint, posted) {
        (Some(l), _, true) => params
            .get("csrf")
            .is_some_and(|c| ct_eq(c.as_bytes(), l.session.csrf.as_bytes())),
        (Some(l), Some(h), false) => h.sid.as_deref() == Some(l.session.id.as_str()),
        (None, _, _) => true,
        _ => false,
    };
    if !confirmed {
        let csrf = loaded
            .as_ref()
            .map(|l| l.session.csrf.clone())
            .unwrap_or_default();
        let fields: Vec<(String, String)> = ["post_logout_redirect_uri", "state", "client_id"]
            .iter()
            .filter_map(|k| get(k).map(|v| (k.to_string(), v)))
            .collect();
        return pages::render(
            StatusCode::OK,
            &LogoutPage {
                brand,
                t,
                title: t.sign_out_title,
                csrf: &csrf,
                fields,
            },
        );
    }
    if let Some(l) = &loaded {
        let now = state.now();
        if let Err(e) = state.store.revoke_session_grants(&l.session.id, now).await {
            tracing::warn!(error = %e, "logout: revoking the session's grants failed");
        }
        if let Err(e) = state.store.delete_session(&l.session.id).await {
            tracing::warn!(error = %e, "logout: deleting the session failed");
        }
    }
    let mut r = match target {
        Some(uri) => {
            let st = get("state");
            let params: Vec<(&str, &str)> = st.iter().map(|s| ("state", s.as_str())).collect();
            if params.is_empty() {
                see_other(&uri)
            } else {
                see_other(&redirect_url(&uri, &params))
            }
        }
        None => pages::message(
            brand,
            t,
            StatusCode::OK,
            t.signed_out_title,
            "info",
            t.signed_out.into(),
        ),
    };
    r.headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie(&state));
    r
}
