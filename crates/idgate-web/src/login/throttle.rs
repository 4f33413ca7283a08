//! Abuse protection inside the sign-in journey: per-address limits on sends, wrong codes
//! and passwords, and the friendly pages shown when a limit (or a lockout) refuses.

use std::net::IpAddr;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use idgate_core::limits::{GuardError, Refusal};
use idgate_core::user::UserStatus;

use crate::client_ip;
use crate::login::context::{Ctx, server_error};
use crate::login::render;
use crate::throttle::{TOO_MANY_TITLE, page_text};

/// The page for a refusal: the lockout page (saying until when) for a locked account,
/// otherwise "too many attempts" with `Retry-After`.
pub fn refused(ctx: &Ctx, r: &Refusal) -> Response {
    if let Refusal::Locked { until } = r
        && let Some(user) = &ctx.user
    {
        let mut u = user.clone();
        u.status = UserStatus::Locked;
        u.locked_until = *until;
        return render::locked(ctx, &u);
    }
    let status = match r {
        Refusal::RateLimited { .. } | Refusal::PrefixBlocked { .. } => {
            StatusCode::TOO_MANY_REQUESTS
        }
        Refusal::Budget { .. } => StatusCode::SERVICE_UNAVAILABLE,
        Refusal::Destination(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Refusal::Locked { .. } => StatusCode::FORBIDDEN,
    };
    let mut resp = render::message(ctx, status, TOO_MANY_TITLE, page_text(r), None, Vec::new());
    if let Some(secs) = r.retry_after()
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

fn guard_error(ctx: &Ctx, e: GuardError) -> Response {
    match e {
        GuardError::Refused(r) => refused(ctx, &r),
        GuardError::Store(e) => {
            tracing::error!(error = %e, "sign-in: a limit could not be checked");
            server_error(&ctx.state, ctx.t)
        }
    }
}

fn ip() -> Option<IpAddr> {
    client_ip::current()
}

/// Before a code goes out: the per-address send limit.
pub async fn before_send(ctx: &Ctx) -> Result<(), Response> {
    match (ctx.state.otp.guard(), ip()) {
        (Some(g), Some(ip)) => g.take_ip_send(ip).await.map_err(|e| guard_error(ctx, e)),
        _ => Ok(()),
    }
}

/// Before a submitted code is checked: the per-address wrong-code limit.
pub async fn before_code(ctx: &Ctx) -> Result<(), Response> {
    match (ctx.state.otp.guard(), ip()) {
        (Some(g), Some(ip)) => g
            .check_wrong_codes(ip)
            .await
            .map_err(|e| guard_error(ctx, e)),
        _ => Ok(()),
    }
}

/// A wrong code was submitted from this address.
pub async fn code_failed(ctx: &Ctx) {
    if let (Some(g), Some(ip)) = (ctx.state.otp.guard(), ip())
        && let Err(e) = g.record_wrong_code(ip).await
    {
        tracing::warn!(error = %e, "sign-in: counting a wrong code failed");
    }
}

/// Before a password is checked: per-username and per-address limits and delays.
pub async fn before_password(ctx: &Ctx, username: &str) -> Result<(), Response> {
    match ctx.state.otp.guard() {
        Some(g) => g
            .check_password(username, ip())
            .await
            .map_err(|e| guard_error(ctx, e)),
        None => Ok(()),
    }
}

/// A wrong password (for an existing account it also counts towards lockout; the page
/// still says only "wrong username or password").
pub async fn password_failed(ctx: &Ctx, username: &str, user_id: Option<&str>) {
    if let Some(g) = ctx.state.otp.guard()
        && let Err(e) = g.record_password_failure(username, user_id, ip()).await
    {
        tracing::warn!(error = %e, "sign-in: counting a wrong password failed");
    }
}

pub async fn password_ok(ctx: &Ctx, username: &str) {
    if let Some(g) = ctx.state.otp.guard()
        && let Err(e) = g.password_succeeded(username).await
    {
        tracing::warn!(error = %e, "sign-in: resetting the password counter failed");
    }
}
