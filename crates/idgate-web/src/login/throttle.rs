//! Abuse protection inside the sign-in journey: per-address limits on sends, wrong codes
//! and passwords, and the friendly pages shown when a limit (or a lockout) refuses.

use std::net::IpAddr;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use idgate_core::limits::{GuardError, Refusal};
use idgate_core::otp::Channel;
use idgate_core::user::UserStatus;

use crate::client_ip;
use crate::login::context::{Ctx, server_error};
use crate::login::render;
use crate::pages::{Texts, fill};

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
    let (title, text) = page_text(ctx.t, r);
    let mut resp = render::message(ctx, status, title, text, None, Vec::new());
    if let Some(secs) = r.retry_after()
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// The title and text of the page for a refusal, in the user's language (no number,
/// address or secret).
fn page_text(t: &'static Texts, r: &Refusal) -> (&'static str, String) {
    let wait = r
        .retry_after()
        .map(|secs| human_wait(t, secs))
        .unwrap_or_default();
    match r {
        Refusal::RateLimited { .. } => (t.too_many_title, fill(t.rate_limited, &[("wait", &wait)])),
        Refusal::PrefixBlocked { .. } | Refusal::Budget { .. } => {
            (t.send_paused_title, fill(t.send_paused, &[("wait", &wait)]))
        }
        Refusal::Destination(_) => (t.destination_title, t.destination_refused.to_string()),
        Refusal::Locked { .. } => (t.locked_title, t.locked_admin.to_string()),
    }
}

/// `a second`, `30 seconds`, `2 minutes` (rounded up past 90 seconds).
pub fn human_wait(t: &'static Texts, secs: i64) -> String {
    match secs {
        ..=1 => t.wait_second.to_string(),
        2..=90 => fill(t.wait_seconds, &[("n", &secs.to_string())]),
        _ => fill(t.wait_minutes, &[("n", &((secs + 59) / 60).to_string())]),
    }
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

/// Before a ghost journey's pretend code "goes out": the send limits a real account's
/// code would meet, counted under the typed username (see [`crate::login::ghost`]).
pub async fn before_ghost_send(ctx: &Ctx) -> Result<(), Response> {
    let username = ctx.journey.username.as_deref().unwrap_or_default();
    match ctx.state.otp.guard() {
        Some(g) => g
            .before_ghost_send(Channel::Sms, username, Some(&ctx.app.client_id))
            .await
            .map_err(|e| guard_error(ctx, e)),
        None => Ok(()),
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

#[cfg(test)]
mod tests {
    use idgate_core::limits::Rule;

    use super::*;
    use crate::pages::i18n::EN;

    #[test]
    fn waits_read_well() {
        assert_eq!(human_wait(&EN, 1), "a second");
        assert_eq!(human_wait(&EN, 30), "30 seconds");
        assert_eq!(human_wait(&EN, 600), "10 minutes");
        assert_eq!(human_wait(&EN, 61 + 59), "2 minutes");
    }

    /// Every refusal page reads from the catalogue: a catalogue whose texts differ is
    /// what the page shows.
    #[test]
    fn refusal_pages_come_from_the_catalogue() {
        static XX: Texts = Texts {
            lang: "xx",
            too_many_title: "T-many",
            rate_limited: "R {wait}",
            send_paused_title: "T-paused",
            send_paused: "P {wait}",
            destination_title: "T-dest",
            destination_refused: "D",
            locked_title: "T-locked",
            locked_admin: "L",
            wait_second: "1s",
            wait_seconds: "{n}s",
            wait_minutes: "{n}m",
            ..EN
        };
        let rate = Refusal::RateLimited {
            rule: Rule::SendsPerIp,
            retry_after: 600,
        };
        assert_eq!(page_text(&XX, &rate), ("T-many", "R 10m".to_string()));
        let paused = Refusal::PrefixBlocked { retry_after: 30 };
        assert_eq!(page_text(&XX, &paused), ("T-paused", "P 30s".to_string()));
        let budget = Refusal::Budget {
            channel: Channel::Sms,
            retry_after: 60 + 30,
        };
        assert_eq!(page_text(&XX, &budget), ("T-paused", "P 90s".to_string()));
        let dest = Refusal::Destination("it is a toll-free number");
        assert_eq!(page_text(&XX, &dest), ("T-dest", "D".to_string()));
        let locked = Refusal::Locked { until: None };
        assert_eq!(page_text(&XX, &locked), ("T-locked", "L".to_string()));
        assert_eq!(human_wait(&XX, 91), "2m");
        assert_eq!(human_wait(&XX, 0), "1s");
    }
}
