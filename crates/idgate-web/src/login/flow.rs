//! Moving the journey forward: after each proven step, decide the next one, send a code
//! when one is needed, or finish the sign-in and return to the application.

use axum::http::StatusCode;
use axum::response::Response;
use idgate_core::login::{Factor, MobileState, PendingCode, Step, next_step};
use idgate_core::otp::{Issue, OtpError, Purpose};
use idgate_core::phone::PhoneNumber;

use crate::login::context::{Ctx, server_error};
use crate::login::{render, throttle};
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
            if ctx.journey.ghost || pending {
                if let Err(r) = ctx.flush().await {
                    return r;
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

/// Issues a code for `factor` to `to`, recording it in the journey. Enrolment passes the
/// number being verified.
pub async fn send(
    ctx: &mut Ctx,
    factor: Factor,
    to: &PhoneNumber,
    enrol_number: Option<String>,
) -> Result<(), Response> {
    let t = ctx.t;
    if ctx.journey.codes_issued >= MAX_CODES_PER_JOURNEY {
        return Err(render::message(
            ctx,
            StatusCode::TOO_MANY_REQUESTS,
            t.error_title,
            t.resend_limit.into(),
            None,
            Vec::new(),
        ));
    }
    let Some(channel) = factor.channel() else {
        return Err(server_error(&ctx.state, t));
    };
    throttle::before_send(ctx).await?;
    ctx.journey.codes_issued += 1;
    let user_name = ctx.user_name();
    let locale = ctx.locale();
    let issued = ctx
        .state
        .otp
        .issue(Issue {
            application: Some(&ctx.app),
            user_id: ctx.journey.user_id.as_deref(),
            user_name: user_name.as_deref(),
            locale: locale.as_deref(),
            purpose: if enrol_number.is_some() {
                Purpose::Enrollment
            } else {
                Purpose::Login
            },
            channel,
            fallback: None,
            to,
        })
        .await;
    match issued {
        Ok(i) => {
            ctx.journey.code = Some(PendingCode {
                verification_id: i.verification.id,
                factor,
                masked: to.masked_last4(),
                enrol_number,
            });
            ctx.save().await
        }
        Err(OtpError::Delivery(e)) => {
            tracing::warn!(error = %e, channel = %channel, "sign-in code could not be sent");
            ctx.journey.code = None;
            ctx.journey.chosen = Some(factor);
            ctx.save().await?;
            Err(render::send_failed(ctx, factor))
        }
        Err(OtpError::Refused(r)) => Err(throttle::refused(ctx, &r)),
        Err(OtpError::ChannelDisabled(c)) => {
            tracing::warn!(channel = %c, "sign-in code on a channel without a provider");
            ctx.journey.code = None;
            ctx.journey.chosen = Some(factor);
            ctx.save().await?;
            Err(render::send_failed(ctx, factor))
        }
        Err(e) => {
            tracing::error!(error = %e, "issuing a sign-in code failed");
            Err(server_error(&ctx.state, t))
        }
    }
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
