//! Finishing an authorization: a grant for the signed-in session and a one-time code
//! back to the client (`query` redirect, or an auto-submitting form for `form_post`;
//! authorization errors go back the same way).

use axum::http::StatusCode;
use axum::response::Response;
use idgate_core::application::Application;
use idgate_core::crypto::time_ordered_token;
use idgate_core::grant::{AuthCode, Grant};
use idgate_core::login::PendingRequest;
use idgate_core::new_id;
use idgate_core::session::Session;
use idgate_core::user::User;
use idgate_oidc::authorize::redirect_url;

use crate::oidc::errors::see_other;
use crate::pages::{self, FormPostPage, i18n};
use crate::state::AppState;

pub async fn complete(
    state: &AppState,
    app: &Application,
    request: &PendingRequest,
    session: &Session,
    user: &User,
) -> Response {
    match issue_code(state, app, request, session, user).await {
        Ok(code) => respond(state, request, &code),
        Err(e) => {
            tracing::error!(error = %e, "issuing an authorization code failed");
            let t = i18n::for_locales(request.ui_locales.as_deref(), None);
            pages::message(
                &state.oidc.brand,
                t,
                StatusCode::INTERNAL_SERVER_ERROR,
                t.error_title,
                "error",
                t.server_error.into(),
            )
        }
    }
}

async fn issue_code(
    state: &AppState,
    app: &Application,
    request: &PendingRequest,
    session: &Session,
    user: &User,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let now = state.now();
    let lifetimes = state.oidc.client_tokens(&app.client_id).await?.lifetimes;
    let grant = Grant {
        id: new_id(),
        client_id: app.client_id.clone(),
        user_id: Some(user.id.clone()),
        session_id: Some(session.id.clone()),
        scope: request.scope.clone(),
        factors: session.factors.clone(),
        auth_time: session.auth_time.unwrap_or(now),
        nonce: request.nonce.clone(),
        created_at: now,
        expires_at: now + lifetimes.refresh_token,
        revoked_at: None,
    };
    let code = time_ordered_token()?;
    let auth_code = AuthCode {
        code_hash: state.keys.lookup_hash(&code),
        grant_id: grant.id.clone(),
        client_id: app.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        created_at: now,
        expires_at: now + lifetimes.authorization_code,
        used_at: None,
    };
    state
        .store
        .insert_grant_with_code(&grant, &auth_code)
        .await?;
    Ok(code)
}

fn respond(state: &AppState, request: &PendingRequest, code: &str) -> Response {
    let mut params: Vec<(&str, &str)> = vec![("code", code)];
    if let Some(s) = &request.state {
        params.push(("state", s));
    }
    params.push(("iss", &state.settings.issuer));
    back_to_client(
        state,
        &request.redirect_uri,
        request.response_mode.as_deref(),
        request.ui_locales.as_deref(),
        &params,
    )
}

/// Sends an authorization answer (a code or an error) to the client's redirect URI the
/// way the request asked: a `303` with the parameters in the query, or for `form_post`
/// a page whose form posts them there (submitted by `/assets/form-post.js`, or by its
/// button without JavaScript).
pub fn back_to_client(
    state: &AppState,
    redirect_uri: &str,
    response_mode: Option<&str>,
    ui_locales: Option<&str>,
    params: &[(&str, &str)],
) -> Response {
    if response_mode == Some("form_post") {
        let t = i18n::for_locales(ui_locales, None);
        return pages::render(
            StatusCode::OK,
            &FormPostPage {
                brand: &state.oidc.brand,
                t,
                title: t.continue_,
                action: redirect_uri,
                fields: params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
        );
    }
    see_other(&redirect_url(redirect_uri, params))
}
