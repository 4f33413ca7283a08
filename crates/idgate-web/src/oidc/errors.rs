//! OAuth errors as responses: RFC 6749 JSON for the back-channel endpoints, redirects
//! for authorize, and friendly pages for what cannot be redirected.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idgate_oidc::{ErrorCode, OAuthError};

/// An RFC 6749 §5.2 JSON error, never cached.
pub fn json(e: &OAuthError) -> Response {
    let status = StatusCode::from_u16(e.error.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut r = (status, axum::Json(e)).into_response();
    no_store(&mut r);
    if e.error == ErrorCode::InvalidClient {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"idgate\""),
        );
    }
    if e.error == ErrorCode::InvalidToken {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
    }
    r
}

pub fn no_store(r: &mut Response) {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// A 303 to `url`.
pub fn see_other(url: &str) -> Response {
    match HeaderValue::from_str(url) {
        Ok(v) => {
            let mut r = StatusCode::SEE_OTHER.into_response();
            r.headers_mut().insert(header::LOCATION, v);
            no_store(&mut r);
            r
        }
        Err(_) => (StatusCode::BAD_REQUEST, "bad redirect").into_response(),
    }
}

/// An authorization error sent back to the client's redirect URI, in the response mode
/// the request asked for (`query` or `form_post`; the `iss` parameter per RFC 9207).
pub fn redirect_error(
    state: &crate::state::AppState,
    redirect_uri: &str,
    response_mode: Option<&str>,
    request_state: Option<&str>,
    ui_locales: Option<&str>,
    e: &OAuthError,
) -> Response {
    let mut params = vec![
        ("error", e.error.as_str()),
        ("error_description", e.description.as_str()),
    ];
    if let Some(s) = request_state {
        params.push(("state", s));
    }
    params.push(("iss", state.settings.issuer.as_str()));
    crate::oidc::issue::back_to_client(state, redirect_uri, response_mode, ui_locales, &params)
}
