//! Moving the journey forward: after each proven step, decide the next one, send a code
//! when one is needed, or finish the sign-in and return to the application.

use axum::http::StatusCode;
use axum::response::Response;
use idgate_core::application::{ChannelFallback, FirstFactor};
use idgate_core::limits::Refusal;
use idgate_core::login::{Factor, MobileState, PendingCode, Step, fallback_factor, next_step};
use idgate_core::otp::{Channel, Issue, OtpError, PendingSend, Purpose};
use idgate_core::phone::PhoneNumber;

use crate::login::context::{Ctx, server_error};
use crate::login::{ghost, render, throttle};
use crate::oidc::issue;

/// How many codes one journey may have issued (each allows its own resends).
pub const MAX_CODES_PER_JOURNEY: u32 = 5;

fn mobile_state(ctx: &Ctx) -> MobileState {
    ctx.user.as_ref().map_or(MobileState::Missing, |u| {
        MobileState::of(&ctx.flow, u.mobile.is_some(), u.mobile_verified)
    })
}

pub fn step(ctx: &Ctx) -> Step {
    next_step(
        &ctx.flow,
        &ctx.journey.factors,
        ctx.journey.user_id.is_some() || ctx.journey.ghost,
        mobile_state(ctx),
        ctx.journey.chosen,
    )
}

/// Shows or performs what the journey needs next. Every outcome writes the session when
/// a proven factor left a rotation due ([`Ctx::rotate_on_save`]): finishing and sending
/// a code write it anyway; every other page flushes it first, so it carries the new
/// cookie.
pub async fn advance(mut ctx: Ctx) -> Response {
    let step = step(&ctx);
    if !matches!(step, Step::Done | Step::Code(_))
        && let Err(r) = ctx.flush().await
    {
        return r;
    }
    match step {
        Step::Done => finish(ctx).await,
        Step::Password | Step::Identify => render::sign_in(&ctx, None, StatusCode::OK),
        Step::Refuse => {
            let t = ctx.t;
            render::message(
                &ctx,
                StatusCode::FORBIDDEN,
                t.refused_title,
                t.refused.into(),
                None,
                Vec::new(),
            )
        }
        Step::Enrol(_) => {
            if ctx.journey.code.is_some() {
                render::code(&ctx, None, None, StatusCode::OK).await
            } else {
                render::enrol(&ctx, None, String::new())
            }
        }
        Step::Code(factor) => {
            let pending = ctx
                .journey
                .code
                .as_ref()
                .is_some_and(|c| c.factor == factor);
            if ctx.journey.ghost && ctx.journey.ghost_sent_at.is_none() {
                return match ghost::send(&mut ctx).await {
                    Ok(()) => render::code(&ctx, None, None, StatusCode::OK).await,
                    Err(r) => r,
                };
            }
            if ctx.journey.ghost || pending {
                if let Err(r) = ctx.flush().await {
                    return r;
                }
                if ctx.journey.ghost && ctx.journey.ghost_undelivered {
                    return render::send_failed(&ctx, Factor::SmsOtp);
                }
                return render::code(&ctx, None, None, StatusCode::OK).await;
            }
            let to = ctx.user.as_ref().and_then(|u| u.mobile.clone());
            let Some(to) = to else {
                return server_error(&ctx.state, ctx.t);
            };
            match send(&mut ctx, factor, &to, None).await {
                Ok(()) => render::code(&ctx, None, None, StatusCode::OK).await,
                // Refused or failed before writing: the factor is still stored (and the
                // answer carries the new cookie), as when the rotation wrote at once.
                Err(r) => match ctx.flush().await {
                    Ok(()) => ctx.finish(r),
                    Err(r) => r,
                },
            }
        }
    }
}

/// Whether a code proves the passwordless first step. Its page answers before the
/// provider does — the send goes on in a task of its own — so how long the answer takes
/// says nothing about whether the username is an account (docs/security.md).
pub fn identifying(ctx: &Ctx, factor: Factor, enrol: bool) -> bool {
    ctx.flow.first == FirstFactor::SmsOtp
        && factor == Factor::SmsOtp
        && !enrol
        && !ctx.journey.factors.contains(&Factor::SmsOtp)
}

/// A refusal by the channel's own rules for this number (its destination rules, a
/// blocked prefix, its spent hourly budget): the other channel may still deliver.
fn channel_refusal(r: &Refusal) -> bool {
    matches!(
        r,
        Refusal::Destination(_) | Refusal::PrefixBlocked { .. } | Refusal::Budget { .. }
    )
}

/// Issues a code for `factor` to `to`, recording it in the journey. Enrolment passes the
/// number being verified. When the flow says so, a code the chosen channel cannot
/// deliver goes out on the other one (`channel_fallback = send`), or the failure page
/// offers it (`offer`); the journey's code then names the factor that was delivered.
pub async fn send(
    ctx: &mut Ctx,
    factor: Factor,
    to: &PhoneNumber,
    enrol_number: Option<String>,
) -> Result<(), Response> {
    let t = ctx.t;
    if ctx.journey.codes_issued >= MAX_CODES_PER_JOURNEY {
        return Err(render::resend_limit(ctx));
    }
    let Some(channel) = factor.channel() else {
        return Err(server_error(&ctx.state, t));
    };
    throttle::before_send(ctx).await?;
    ctx.journey.codes_issued += 1;
    let background = identifying(ctx, factor, enrol_number.is_some());
    let fallback = if background {
        None
    } else {
        fallback_factor(&ctx.flow, factor)
    };
    let automatic = fallback
        .filter(|_| ctx.flow.channel_fallback == ChannelFallback::Send)
        .and_then(Factor::channel);
    let purpose = if enrol_number.is_some() {
        Purpose::Enrollment
    } else {
        Purpose::Login
    };
    let mut issued = issue(ctx, channel, automatic, to, purpose, background).await;
    if let (Err(OtpError::Refused(r)), Some(other)) = (&issued, automatic)
        && channel_refusal(r)
    {
        tracing::info!(refusal = r.label(), from = %channel, to = %other, "sign-in code refused by the channel's rules: sending on the fallback channel");
        issued = issue(ctx, other, None, to, purpose, false).await;
    }
    let failed = |ctx: &mut Ctx| {
        ctx.journey.code = None;
        ctx.journey.fell_back_from = None;
        ctx.journey.chosen = Some(factor);
    };
    match issued {
        Ok((verification_id, delivered)) => {
            let delivered = Factor::from_channel(delivered);
            ctx.journey.code = Some(PendingCode {
                verification_id,
                factor: delivered,
                masked: to.masked_last4(),
                enrol_number,
            });
            ctx.journey.fell_back_from = (delivered != factor).then_some(factor);
            ctx.save().await
        }
        Err(OtpError::Delivery(e)) => {
            tracing::warn!(error = %e, channel = %channel, "sign-in code could not be sent");
            failed(ctx);
            ctx.save().await?;
            Err(render::send_failed(ctx, factor))
        }
        Err(OtpError::Refused(r))
            if channel_refusal(&r)
                && fallback.is_some()
                && ctx.flow.channel_fallback == ChannelFallback::Offer =>
        {
            tracing::info!(refusal = r.label(), channel = %channel, "sign-in code refused by the channel's rules: offering the other channel");
            failed(ctx);
            ctx.save().await?;
            Err(render::send_failed(ctx, factor))
        }
        Err(OtpError::Refused(r)) => Err(throttle::refused(ctx, &r)),
        Err(OtpError::ChannelDisabled(c)) => {
            tracing::warn!(channel = %c, "sign-in code on a channel without a provider");
            failed(ctx);
            ctx.save().await?;
            Err(render::send_failed(ctx, factor))
        }
        Err(e) => {
            tracing::error!(error = %e, "issuing a sign-in code failed");
            Err(server_error(&ctx.state, t))
        }
    }
}

/// Issues one code on `channel`: the verification's id and the channel that carried it.
/// `background`: answers once the code is stored, and delivers it in a task of its own
/// (a failure then ends the verification as `failed`, which the next page shows).
async fn issue(
    ctx: &Ctx,
    channel: Channel,
    fallback: Option<Channel>,
    to: &PhoneNumber,
    purpose: Purpose,
    background: bool,
) -> Result<(String, Channel), OtpError> {
    let user_name = ctx.user_name();
    let locale = ctx.locale();
    let req = Issue {
        application: Some(&ctx.app),
        user_id: ctx.journey.user_id.as_deref(),
        user_name: user_name.as_deref(),
        locale: locale.as_deref(),
        purpose,
        channel,
        fallback,
        to,
    };
    if !background {
        let i = ctx.state.otp.issue(req).await?;
        return Ok((i.verification.id, i.delivered.channel));
    }
    let (v, pending) = ctx.state.otp.prepare_issue(req).await?;
    deliver_later(ctx, pending);
    Ok((v.id, channel))
}

/// Delivers a prepared code after the answer (see [`identifying`]).
pub fn deliver_later(ctx: &Ctx, pending: PendingSend) {
    let otp = ctx.state.otp.clone();
    tokio::spawn(async move {
        let channel = pending.channel;
        if let Err(e) = otp.deliver(pending).await {
            tracing::warn!(error = %e, channel = %channel, "sign-in code could not be sent (after the answer)");
        }
    });
}

/// Records a proven factor; the session secret rotates with the next session write,
/// which [`advance`] always makes.
pub fn proven(ctx: &mut Ctx, factor: Factor) {
    if !ctx.journey.factors.contains(&factor) {
        ctx.journey.factors.push(factor);
    }
    ctx.rotate_on_save();
}

/// The flow is satisfied: the session becomes signed in, and the application gets its code.
async fn finish(mut ctx: Ctx) -> Response {
    let Some(user) = ctx.user.clone() else {
        return server_error(&ctx.state, ctx.t);
    };
    let now = ctx.state.now();
    if user.is_locked(now) {
        return render::locked(&ctx, &user);
    }
    let request = ctx.journey.request.clone();
    let s = &mut ctx.loaded.session;
    // The journey holds every factor that counts (a step-up starts from the session's).
    s.user_id = Some(user.id.clone());
    s.factors = ctx.journey.factors.clone();
    s.auth_time = Some(now);
    s.journey = None;
    // With the rotation the last factor left due, in the same write.
    if let Err(r) = ctx.write_session().await {
        return r;
    }
    tracing::info!(client_id = %ctx.app.client_id, amr = ?idgate_core::login::amr(&ctx.loaded.session.factors), "sign-in complete");
    idgate_core::login::count_signin(&ctx.loaded.session.factors);
    let r = issue::complete(&ctx.state, &ctx.app, &request, &ctx.loaded.session, &user).await;
    ctx.finish(r)
}
