//! Server-rendered pages (askama, auto-escaped) and their embedded assets. No page needs
//! JavaScript, and none carries an inline script or style, so a strict CSP can apply. One
//! small script (`/assets/once.js`) keeps a form from being sent twice by a double click.

pub mod i18n;

use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use i18n::{Texts, fill};

use crate::state::AppState;

const STYLE: &str = include_str!("style.css");
const ONCE_JS: &str = include_str!("once.js");
const FORM_POST_JS: &str = include_str!("form-post.js");

/// The look operators can brand.
#[derive(Debug, Clone)]
pub struct Brand {
    pub product_name: String,
    pub logo_url: Option<String>,
    /// `#rrggbb`.
    pub primary_color: String,
}

impl Default for Brand {
    fn default() -> Self {
        Self {
            product_name: "idgate".into(),
            logo_url: None,
            primary_color: "#2f5bea".into(),
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assets/idgate.css", get(style))
        .route("/assets/theme.css", get(theme))
        .route("/assets/once.js", get(once_js))
        .route("/assets/form-post.js", get(form_post_js))
}

async fn once_js() -> Response {
    javascript(ONCE_JS)
}

/// Submits the `form_post` answer page's form on load.
async fn form_post_js() -> Response {
    javascript(FORM_POST_JS)
}

fn javascript(body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

async fn style() -> Response {
    css(STYLE.to_string())
}

/// The brand colour as a stylesheet (not an inline style, so CSP can forbid those).
async fn theme(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    let c = &state.oidc.brand.primary_color;
    let colour = if is_hex_colour(c) {
        c.as_str()
    } else {
        "#2f5bea"
    };
    css(format!(":root {{ --primary: {colour}; }}\n"))
}

/// `#rgb` or `#rrggbb`.
pub fn is_hex_colour(c: &str) -> bool {
    c.strip_prefix('#')
        .is_some_and(|h| (h.len() == 3 || h.len() == 6) && h.chars().all(|c| c.is_ascii_hexdigit()))
}

fn css(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// Renders a page with `status`; pages are never cached (they carry CSRF tokens).
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut r = (status, html).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "page rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "signin.html")]
pub struct SignInPage<'a> {
    pub brand: &'a Brand,
    pub t: &'static Texts,
    pub title: &'a str,
    pub csrf: &'a str,
    pub app_name: Option<&'a str>,
    pub lead: String,
    pub error: Option<String>,
    pub username: String,
    pub passwordless: bool,
    pub action: &'a str,
}

#[derive(Template)]
#[template(path = "code.html")]
pub struct CodePage<'a> {
    pub brand: &'a Brand,
    pub t: &'static Texts,
    pub title: &'a str,
    pub csrf: &'a str,
    pub lead: String,
    pub info: Option<String>,
    pub error: Option<String>,
    pub numeric: bool,
    pub code_len: u32,
    pub resend_wait: i64,
    pub resend_wait_text: String,
    /// (button label, factor value) for "Send by … instead".
    pub switch: Option<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "enrol.html")]
pub struct EnrolPage<'a> {
    pub brand: &'a Brand,
    pub t: &'static Texts,
    pub title: &'a str,
    pub csrf: &'a str,
    pub error: Option<String>,
    pub value: String,
}

/// A button on a message page (posts the CSRF token, and a factor when switching).
pub struct Action {
    pub url: &'static str,
    pub label: &'static str,
    pub factor: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub brand: &'a Brand,
    pub t: &'static Texts,
    pub title: &'a str,
    pub csrf: &'a str,
    /// `error` or `info`.
    pub kind: &'static str,
    pub text: String,
    pub detail: Option<String>,
    pub actions: Vec<Action>,
    pub link: Option<(String, &'static str)>,
}

#[derive(Template)]
#[template(path = "form_post.html")]
pub struct FormPostPage<'a> {
    pub brand: &'a Brand,
    pub t: &'static Texts,
    pub title: &'a str,
    pub action: &'a str,
    pub fields: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    pub brand: &'a Brand,
    pub t: &'static Texts,
    pub title: &'a str,
    pub csrf: &'a str,
    pub fields: Vec<(String, String)>,
}

/// A message page without forms (errors before any session exists).
pub fn message(
    brand: &Brand,
    t: &'static Texts,
    status: StatusCode,
    title: &str,
    kind: &'static str,
    text: String,
) -> Response {
    render(
        status,
        &MessagePage {
            brand,
            t,
            title,
            csrf: "",
            kind,
            text,
            detail: None,
            actions: Vec::new(),
            link: None,
        },
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn code_page(numeric: bool) -> String {
        CodePage {
            brand: &Brand::default(),
            t: &i18n::EN,
            title: "Enter code",
            csrf: "csrf",
            lead: "We sent a code.".into(),
            info: None,
            error: None,
            numeric,
            code_len: 6,
            resend_wait: 0,
            resend_wait_text: String::new(),
            switch: None,
        }
        .render()
        .unwrap()
    }

    /// The code field takes the forms the server accepts (`123-456`, `123 456`), used
    /// for sign-in and enrolment codes alike.
    #[test]
    fn the_code_field_has_room_for_separators() {
        let html = code_page(true);
        assert!(html.contains(r#"maxlength="12""#), "{html}");
        assert!(html.contains(r#"pattern="[0-9 \-]*""#), "{html}");
        let html = code_page(false);
        assert!(html.contains(r#"maxlength="12""#), "{html}");
        assert!(!html.contains("pattern="), "{html}");
    }
}
