//! The admin console at `/console`: server-rendered pages (askama) for everything the
//! admin API does. Admins sign in through idgate's own OpenID Connect flow as the
//! built-in `console` application (password + SMS code by default); the console session
//! then requires the user to be an admin.
//!
//! Every form carries the session's CSRF token, the cookie is `SameSite=Strict`, and a
//! post whose `Origin` is not idgate's (or whose `Sec-Fetch-Site` is not same-origin)
//! is refused even with a valid token.
//! Pages carry a Content-Security-Policy without inline scripts or styles; the only
//! script is `/assets/console.js` (live template validation), and every page works
//! without it.

pub mod applications;
pub mod channels;
pub mod login;
pub mod logs;
pub mod otp;
pub mod session;
pub mod test_numbers;
pub mod tokens;
pub mod users;
pub mod views;

use std::collections::HashMap;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::error::ApiError;
use crate::state::AppState;
pub use login::register;
use session::ConsoleSession;
use views::{NAV, Page};

const CSS: &str = include_str!("console.css");
const JS: &str = include_str!("console.js");

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assets/console.css", get(css))
        .route("/assets/console.js", get(js))
        .route("/console", get(logs::overview))
        .route("/console/login", get(login::start))
        .route("/console/callback", get(login::callback))
        .route("/console/logout", post(login::logout))
        .route("/console/validate", post(otp::validate))
        .route("/console/channels/{channel}", get(channels::show))
        .route(
            "/console/channels/{channel}/providers",
            post(channels::save),
        )
        .route(
            "/console/channels/{channel}/providers/{id}/delete",
            post(channels::delete),
        )
        .route("/console/channels/{channel}/order", post(channels::order))
        .route("/console/channels/{channel}/test", post(channels::test))
        .route("/console/otp", get(otp::show))
        .route("/console/otp/policy", post(otp::save_policy))
        .route("/console/otp/template/{channel}", post(otp::save_template))
        .route(
            "/console/otp/template/{channel}/delete",
            post(otp::delete_template),
        )
        .route("/console/otp/locale", post(otp::open_locale))
        .route(
            "/console/test-numbers",
            get(test_numbers::show).post(test_numbers::create),
        )
        .route("/console/test-numbers/delete", post(test_numbers::delete))
        .route(
            "/console/applications",
            get(applications::list).post(applications::create),
        )
        .route(
            "/console/applications/{client_id}",
            get(applications::show).post(applications::update),
        )
        .route(
            "/console/applications/{client_id}/otp-policy",
            post(applications::update_otp),
        )
        .route(
            "/console/applications/{client_id}/tokens",
            post(applications::update_tokens),
        )
        .route(
            "/console/applications/{client_id}/secret",
            post(applications::secret),
        )
        .route(
            "/console/applications/{client_id}/delete",
            post(applications::delete),
        )
        .route("/console/users", get(users::list).post(users::create))
        .route("/console/users/{id}", get(users::show).post(users::update))
        .route("/console/users/{id}/lock", post(users::lock))
        .route("/console/users/{id}/unlock", post(users::unlock))
        .route("/console/users/{id}/sessions/revoke", post(users::revoke))
        .route(
            "/console/admin-tokens",
            get(tokens::list).post(tokens::create),
        )
        .route("/console/admin-tokens/{id}/revoke", post(tokens::revoke))
        .route("/console/messages", get(logs::messages))
        .route("/console/audit", get(logs::audit))
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        CSS,
    )
        .into_response()
}

async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        JS,
    )
        .into_response()
}

/// The signed-in console admin, or a redirect to sign in.
pub async fn guard(state: &AppState, headers: &HeaderMap) -> Result<ConsoleSession, Response> {
    match session::load(state, headers).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(see_other("/console/login")),
        Err(e) => {
            tracing::error!(error = %e, "console: loading the session failed");
            Err(error_page(
                state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side; the server log has the details.",
            ))
        }
    }
}

/// Whether a console post comes from the console's own pages (`Origin` and
/// `Sec-Fetch-Site`, when the browser sends them); checked on top of the CSRF token.
pub fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    crate::security_headers::same_origin_post(headers, &state.settings.issuer)
}

/// [`guard`] plus the form's CSRF token and a same-origin request.
pub async fn guard_post(
    state: &AppState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<ConsoleSession, Response> {
    let s = guard(state, headers).await?;
    let given = form.get("csrf").map(String::as_str).unwrap_or_default();
    if same_origin(state, headers) && session::csrf_ok(&s, given) {
        Ok(s)
    } else {
        Err(error_page(
            state,
            StatusCode::FORBIDDEN,
            "The form expired or did not come from this console. Reload the page and try again.",
        ))
    }
}

pub fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn secure_headers(r: &mut Response) {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// Renders a console page.
pub fn page(
    state: &AppState,
    s: &ConsoleSession,
    status: StatusCode,
    active: &str,
    title: &str,
    notice: Option<(&'static str, String)>,
    sections: Vec<String>,
) -> Response {
    let p = Page {
        brand: &state.oidc.brand,
        title,
        active,
        nav: &NAV,
        username: &s.user.username,
        csrf: &s.csrf,
        notice,
        sections,
    };
    let mut r = crate::pages::render(status, &p);
    secure_headers(&mut r);
    r
}

/// A page without a console session (sign-in failures, refusals).
pub fn error_page(state: &AppState, status: StatusCode, text: &str) -> Response {
    let t = crate::pages::i18n::for_locales(None, None);
    let mut r = crate::pages::message(
        &state.oidc.brand,
        t,
        status,
        "idgate console",
        "error",
        text.to_string(),
    );
    secure_headers(&mut r);
    r
}

/// An API error's field and text, for showing next to a form field.
pub fn field_error(e: &ApiError) -> (String, String) {
    (e.field.clone().unwrap_or_default(), e.detail.clone())
}

/// A form value, trimmed ("" when missing).
pub fn val(form: &HashMap<String, String>, key: &str) -> String {
    form.get(key)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// A form value without trimming (templates, passwords).
pub fn raw(form: &HashMap<String, String>, key: &str) -> String {
    form.get(key).cloned().unwrap_or_default()
}

pub fn checked(form: &HashMap<String, String>, key: &str) -> bool {
    form.get(key).is_some_and(|v| v == "on" || v == "true")
}

/// Unix time as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn when(t: i64) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&f).ok())
        .unwrap_or_default()
}
