//! The passwordless sign-in of a username that names no usable account (unknown, no
//! usable number, or locked while nothing is proven): a "ghost" journey. Nothing is
//! sent and no code is ever right, but every answer — status, page, limits, attempt
//! countdown, resend cooldown and limit, expiry — is the one a real account's journey
//! gets at the same point, so the sign-in does not tell which usernames exist. Each
//! function here mirrors its real counterpart step for step; keep them in step.

use axum::http::StatusCode;
use axum::response::Response;
use idgate_core::application::FirstFactor;
use idgate_core::login::Factor;
use idgate_core::otp::{Channel, OtpPolicy};

use crate::login::context::Ctx;
use crate::login::flow::MAX_CODES_PER_JOURNEY;
use crate::login::{render, throttle};
use crate::pages::fill;

async fn policy(ctx: &Ctx) -> OtpPolicy {
    ctx.state
        .otp
        .policy_for(Some(&ctx.app))
        .await
        .unwrap_or_default()
}

/// Whether the ghost's pretend code can no longer be used (a real verification's
/// `max_attempts_reached` or `expired`); `Some(true)` when its attempts are used up.
fn dead(ctx: &Ctx, policy: &OtpPolicy) -> Option<bool> {
    if ctx.journey.ghost_attempts >= policy.max_attempts {
        return Some(true);
    }
    match ctx.journey.ghost_sent_at {
        Some(at) if ctx.state.now() >= at + i64::from(policy.expiry) => Some(false),
        _ => None,
    }
}

/// The pretend first send, as `flow::send` does it for a real account: the journey's
/// code limit, the per-address limit, the channel check and the per-number / per-user
/// limits (counted under the typed username). A refusal writes nothing, like the real one.
pub async fn send(ctx: &mut Ctx) -> Result<(), Response> {
    if ctx.journey.codes_issued >= MAX_CODES_PER_JOURNEY {
        return Err(render::resend_limit(ctx));
    }
    throttle::before_send(ctx).await?;
    ctx.journey.codes_issued += 1;
    if !ctx.state.otp.channel_enabled(Channel::Sms).await {
        ctx.journey.ghost_sent_at = None;
        ctx.journey.chosen = Some(Factor::SmsOtp);
        ctx.save().await?;
        return Err(render::send_failed(ctx, Factor::SmsOtp));
    }
    throttle::before_ghost_send(ctx).await?;
    // A real code would go out after the answer; if the channel's last delivery failed,
    // it most likely fails too, and the next page says so (as for a real code).
    ctx.journey.ghost_undelivered = ctx.state.otp.channel_failing(Channel::Sms);
    ctx.journey.ghost_sent_at = Some(ctx.state.now());
    ctx.journey.ghost_attempts = 0;
    ctx.journey.ghost_resends = 0;
    ctx.save().await
}

/// A submitted code (the IP wrong-code limit was checked by the caller): counted like a
/// wrong code of a real verification, with its countdown, and its expiry.
pub async fn code(mut ctx: Ctx) -> Response {
    let t = ctx.t;
    if ctx.journey.ghost_undelivered {
        return render::send_failed(&ctx, Factor::SmsOtp);
    }
    throttle::code_failed(&ctx).await;
    let policy = policy(&ctx).await;
    let msg = match dead(&ctx, &policy) {
        Some(true) => t.too_many_attempts.to_string(),
        Some(false) => t.code_expired.to_string(),
        None => {
            ctx.journey.ghost_attempts = (ctx.journey.ghost_attempts + 1).min(policy.max_attempts);
            if let Err(r) = ctx.save().await {
                return r;
            }
            wrong_code_text(&ctx, &policy)
        }
    };
    render::code(&ctx, None, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await
}

fn wrong_code_text(ctx: &Ctx, policy: &OtpPolicy) -> String {
    let left = policy
        .max_attempts
        .saturating_sub(ctx.journey.ghost_attempts);
    if left == 0 {
        ctx.t.too_many_attempts.to_string()
    } else {
        fill(ctx.t.wrong_code, &[("attempts", &left.to_string())])
    }
}

/// "Resend code", as the real handler and the OTP engine answer it: the per-address
/// limit; a used-up or expired code is replaced by a new one (fresh attempts, no
/// cooldown); otherwise the resend limit, the cooldown and the send limits apply.
pub async fn resend(mut ctx: Ctx) -> Response {
    let t = ctx.t;
    if let Err(r) = throttle::before_send(&ctx).await {
        return r;
    }
    let policy = policy(&ctx).await;
    if ctx.journey.ghost_sent_at.is_none()
        || ctx.journey.ghost_undelivered
        || dead(&ctx, &policy).is_some()
    {
        return match send(&mut ctx).await {
            Ok(()) => render::code(&ctx, Some(t.code_resent.into()), None, StatusCode::OK).await,
            Err(r) => r,
        };
    }
    if ctx.journey.ghost_resends >= policy.max_resends {
        return render::resend_limit(&ctx);
    }
    let wait = render::ghost_resend_wait(&ctx, &policy);
    if wait > 0 {
        let msg = fill(t.resend_wait, &[("wait", &throttle::human_wait(t, wait))]);
        return render::code(&ctx, None, Some(msg), StatusCode::TOO_MANY_REQUESTS).await;
    }
    if let Err(r) = throttle::before_ghost_send(&ctx).await {
        return r;
    }
    ctx.journey.ghost_resends += 1;
    ctx.journey.ghost_sent_at = Some(ctx.state.now());
    if let Err(r) = ctx.save().await {
        return r;
    }
    render::code(&ctx, Some(t.code_resent.into()), None, StatusCode::OK).await
}

/// A passwordless journey whose account is locked while nothing is proven continues as
/// a ghost from where its code stands (attempts, resends, last send), so a lockout is
/// never shown to someone who has not proven anything.
pub async fn if_locked(ctx: &mut Ctx) -> Result<(), Response> {
    let now = ctx.state.now();
    let locked = ctx.user.as_ref().is_some_and(|u| u.is_locked(now));
    if !locked
        || ctx.journey.ghost
        || ctx.flow.first != FirstFactor::SmsOtp
        || !ctx.journey.factors.is_empty()
    {
        return Ok(());
    }
    become_ghost(ctx).await
}

/// This code's wrong answer locked the account: the journey becomes a ghost (the
/// attempt is already counted) and answers as a ghost's wrong code does.
pub async fn locked_by_this_code(mut ctx: Ctx) -> Response {
    if let Err(r) = become_ghost(&mut ctx).await {
        return r;
    }
    let policy = policy(&ctx).await;
    let msg = wrong_code_text(&ctx, &policy);
    render::code(&ctx, None, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await
}

/// Whether a lockout must not be shown: a passwordless journey with nothing proven.
pub fn hides_lockout(ctx: &Ctx) -> bool {
    ctx.flow.first == FirstFactor::SmsOtp && ctx.journey.factors.is_empty()
}

async fn become_ghost(ctx: &mut Ctx) -> Result<(), Response> {
    let pending = ctx.journey.code.take();
    let v = match &pending {
        Some(p) => ctx.state.otp.get(&p.verification_id).await.ok(),
        None => None,
    };
    ctx.journey.ghost = true;
    ctx.journey.user_id = None;
    ctx.user = None;
    ctx.journey.ghost_attempts = v.as_ref().map_or(0, |v| v.attempts);
    ctx.journey.ghost_resends = v.as_ref().map_or(0, |v| v.resends);
    ctx.journey.ghost_sent_at = v.as_ref().map(|v| v.last_sent_at);
    ctx.journey.ghost_undelivered = v
        .as_ref()
        .is_some_and(|v| v.status == idgate_core::otp::VerificationStatus::Failed);
    ctx.save().await
}
