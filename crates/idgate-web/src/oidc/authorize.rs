//! `/authorize`: validate, answer at once from the session when it already satisfies the
//! application (single sign-on), or park the request in the session and send the
//! browser to the sign-in pages.

use std::collections::HashMap;

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use idgate_core::application::{Application, LoginFlow, SecondFactor};
use idgate_core::login::{Journey, PendingRequest, is_satisfied};
use idgate_core::session::Session;
use idgate_oidc::authorize::{AuthorizeError, PageReason, client_id, validate};
use idgate_oidc::{ErrorCode, OAuthError};

use crate::oidc::errors::{redirect_error, see_other};
use crate::oidc::issue;
use crate::pages::{self, Texts, i18n};
use crate::session;
use crate::state::AppState;

pub async fn get_authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    authorize(state, headers, params).await
}

pub async fn post_authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(params): Form<HashMap<String, String>>,
) -> Response {
    authorize(state, headers, params).await
}

/// The flow in force for a request: the application's, plus a step 2 when the request
/// asks for multi-factor (`acr_values`) and the flow has none.
pub fn effective_flow(app: &Application, request: &PendingRequest) -> LoginFlow {
    let mut flow = app.login_flow.clone();
    if request.require_mfa && flow.second.is_empty() {
        flow.second = vec![SecondFactor::SmsOtp];
    }
    flow
}

/// Whether the session's last authentication is recent enough for `max_age`.
pub fn fresh_enough(session: &Session, max_age: Option<i64>, now: i64) -> bool {
    match (max_age, session.auth_time) {
        (None, _) => true,
        (Some(max), Some(at)) => now - at <= max,
        (Some(_), None) => false,
    }
}

/// What the error page says when a request cannot go back to the client.
fn page_text(t: &'static Texts, reason: PageReason) -> &'static str {
    match reason {
        PageReason::MissingClientId => t.link_no_client,
        PageReason::UnknownClient => t.unknown_application,
        PageReason::MissingRedirectUri => t.link_no_redirect,
        PageReason::UnregisteredRedirectUri => t.redirect_unregistered,
    }
}

fn accept_language(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
}

async fn authorize(
    state: AppState,
    headers: HeaderMap,
    params: HashMap<String, String>,
) -> Response {
    let t = i18n::for_locales(
        params.get("ui_locales").map(String::as_str),
        accept_language(&headers),
    );
    let brand = &state.oidc.brand;
    let fail_page = |reason: PageReason| {
        pages::message(
            brand,
            t,
            StatusCode::BAD_REQUEST,
            t.error_title,
            "error",
            page_text(t, reason).into(),
        )
    };
    let server_error = || {
        pages::message(
            brand,
            t,
            StatusCode::INTERNAL_SERVER_ERROR,
            t.error_title,
            "error",
            t.server_error.into(),
        )
    };
    let app = match client_id(&params) {
        Some(id) => match state.store.get_application(id).await {
            Ok(app) => app,
            Err(e) => {
                tracing::error!(error = %e, "authorize: loading the application failed");
                return server_error();
            }
        },
        None => None,
    };
    let validated = match validate(&params, app.as_ref()) {
        Ok(v) => v,
        Err(AuthorizeError::Page(reason)) => return fail_page(reason),
        Err(AuthorizeError::Redirect {
            redirect_uri,
            state: st,
            response_mode,
            error,
        }) => {
            return redirect_error(
                &state,
                &redirect_uri,
                response_mode.as_deref(),
                st.as_deref(),
                params.get("ui_locales").map(String::as_str),
                &error,
            );
        }
    };
    let Some(app) = app else {
        return server_error();
    };
    let request = validated.request;
    let now = state.now();
    let loaded = match session::load(&state, &headers).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "authorize: loading the session failed");
            return server_error();
        }
    };
    let flow = effective_flow(&app, &request);
    // A signed-in session may answer at once, or carry its factors into a step-up.
    let mut carried = None;
    if let Some(l) = &loaded
        && let Some(user_id) = l.session.signed_in_user(now)
        && !request.prompt_login
        && fresh_enough(&l.session, request.max_age, now)
    {
        match state.store.get_user(user_id).await {
            Ok(Some(user)) if !user.is_locked(now) => {
                if is_satisfied(&flow, &l.session.factors) {
                    return issue::complete(&state, &app, &request, &l.session, &user).await;
                }
                carried = Some((user.id.clone(), l.session.factors.clone()));
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "authorize: loading the user failed");
                return server_error();
            }
        }
    }
    if validated.prompt_none {
        let code = if loaded
            .as_ref()
            .is_some_and(|l| l.session.signed_in_user(now).is_some())
        {
            ErrorCode::InteractionRequired
        } else {
            ErrorCode::LoginRequired
        };
        return redirect_error(
            &state,
            &request.redirect_uri,
            request.response_mode.as_deref(),
            request.state.as_deref(),
            request.ui_locales.as_deref(),
            &OAuthError::new(code, "the user must sign in"),
        );
    }
    let mut journey = Journey::new(request, now);
    if let Some((user_id, factors)) = carried {
        journey.user_id = Some(user_id);
        journey.factors = factors;
    }
    let (loaded, fresh) = match loaded {
        Some(mut l) => {
            l.session.journey = Some(journey);
            if let Err(e) = session::save(&state, &mut l).await {
                tracing::error!(error = %e, "authorize: saving the session failed");
                return server_error();
            }
            (l, false)
        }
        None => match session::create(&state, Some(journey)).await {
            Ok(l) => (l, true),
            Err(e) => {
                tracing::error!(error = %e, "authorize: creating a session failed");
                return server_error();
            }
        },
    };
    let mut r = see_other("/login");
    if fresh {
        r.headers_mut().insert(
            header::SET_COOKIE,
            session::set_cookie(&state, &loaded.secret),
        );
    }
    r
}
