//! The sign-in pages: `/login` shows the journey's current step; the forms post to
//! `/login/password`, `/login/identify`, `/login/code`, `/login/resend`,
//! `/login/switch` and `/login/enrol`. Each handler proves at most one thing, records
//! it in the journey, and hands over to [`flow::advance`], which decides what comes next.
//!
//! Every form carries the session's CSRF token, and cross-site posts are refused by
//! their `Origin` / `Sec-Fetch-Site` headers.

mod context;
mod flow;
mod forms;
mod forward;
mod ghost;
mod render;
mod throttle;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(forms::show))
        .route("/login/password", post(forms::password))
        .route("/login/identify", post(forms::identify))
        .route("/login/code", post(forms::code))
        .route("/login/resend", post(forms::resend))
        .route("/login/switch", post(forms::switch))
        .route("/login/enrol", post(forms::enrol))
}
