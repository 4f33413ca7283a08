//! The pages of each step, filled from the journey.

use axum::http::StatusCode;
use axum::response::Response;
use idgate_core::application::{ChannelFallback, FirstFactor};
use idgate_core::login::{Factor, fallback_factor, second_options};
use idgate_core::otp::{OtpPolicy, VerificationStatus};
use idgate_core::user::User;

use crate::login::context::Ctx;
use crate::pages::{self, Action, CodePage, EnrolPage, MessagePage, SignInPage, fill};

pub fn sign_in(ctx: &Ctx, error: Option<String>, status: StatusCode) -> Response {
    let t = ctx.t;
    let passwordless = ctx.flow.first == FirstFactor::SmsOtp;
    let username = ctx
        .journey
        .username
        .clone()
        .or_else(|| ctx.journey.request.login_hint.clone())
        .unwrap_or_default();
    ctx.finish(pages::render(
        status,
        &SignInPage {
            brand: &ctx.state.oidc.brand,
            t,
            title: t.sign_in_title,
            csrf: &ctx.loaded.session.csrf,
            app_name: Some(&ctx.app.name),
            lead: fill(t.sign_in_lead, &[("app", &ctx.app.name)]),
            error,
            username,
            passwordless,
            action: if passwordless {
                "/login/identify"
            } else {
                "/login/password"
            },
        },
    ))
}

fn channel_label(ctx: &Ctx, f: Factor) -> &'static str {
    match f {
        Factor::WhatsappOtp => ctx.t.channel_whatsapp,
        _ => ctx.t.channel_sms,
    }
}

/// The other step-2 factor the user may switch to, as (label, value).
fn switch_option(ctx: &Ctx, current: Factor) -> Option<(&'static str, &'static str)> {
    if ctx.journey.ghost
        || ctx
            .journey
            .code
            .as_ref()
            .is_some_and(|c| c.enrol_number.is_some())
    {
        return None;
    }
    let options = second_options(&ctx.flow);
    if !options.contains(&current) {
        return None;
    }
    options
        .into_iter()
        .find(|f| *f != current)
        .map(|f| match f {
            Factor::WhatsappOtp => (ctx.t.send_by_whatsapp, "whatsapp-otp"),
            _ => (ctx.t.send_by_sms, "sms-otp"),
        })
}

/// The other channel a failure page offers when the application's flow says
/// `channel_fallback = offer` (also when the flow lists only one step-2 option).
fn offered(ctx: &Ctx, factor: Factor) -> Option<(&'static str, &'static str)> {
    if ctx.journey.ghost || ctx.flow.channel_fallback != ChannelFallback::Offer {
        return None;
    }
    fallback_factor(&ctx.flow, factor).map(|f| match f {
        Factor::WhatsappOtp => (ctx.t.send_by_whatsapp, "whatsapp-otp"),
        _ => (ctx.t.send_by_sms, "sms-otp"),
    })
}

/// The code page for the journey's pending code (or the ghost's pretend one).
pub async fn code(
    ctx: &Ctx,
    info: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let t = ctx.t;
    let policy = ctx
        .state
        .otp
        .policy_for(Some(&ctx.app))
        .await
        .unwrap_or_default();
    let now = ctx.state.now();
    let (lead, factor, wait) = match &ctx.journey.code {
        Some(c) if !ctx.journey.ghost => {
            let wait = match ctx.state.otp.get(&c.verification_id).await {
                // Sent after the answer, and the provider failed: say so, offer the way on.
                Ok(v) if v.status == VerificationStatus::Failed => {
                    return send_failed(ctx, c.factor);
                }
                Ok(v) => v.resend_wait(now),
                Err(_) => 0,
            };
            let lead = if ctx.flow.first == FirstFactor::SmsOtp
                && !ctx.journey.factors.contains(&Factor::SmsOtp)
                && c.enrol_number.is_none()
            {
                t.code_sent_account.to_string()
            } else {
                fill(
                    t.code_sent_to,
                    &[
                        ("channel", channel_label(ctx, c.factor)),
                        ("number", &c.masked),
                    ],
                )
            };
            (lead, c.factor, wait)
        }
        _ => (
            t.code_sent_account.to_string(),
            Factor::SmsOtp,
            ghost_resend_wait(ctx, &policy),
        ),
    };
    let info = info.or_else(|| {
        let from = ctx.journey.fell_back_from.filter(|_| !ctx.journey.ghost)?;
        Some(fill(
            t.code_fell_back,
            &[
                ("from", channel_label(ctx, from)),
                ("channel", channel_label(ctx, factor)),
            ],
        ))
    });
    ctx.finish(pages::render(
        status,
        &CodePage {
            brand: &ctx.state.oidc.brand,
            t,
            title: t.code_title,
            csrf: &ctx.loaded.session.csrf,
            lead,
            info,
            error,
            numeric: !policy.alphanumeric,
            code_len: policy.length,
            resend_wait: wait,
            resend_wait_text: fill(
                t.resend_wait,
                &[("wait", &super::throttle::human_wait(t, wait))],
            ),
            switch: switch_option(ctx, factor),
        },
    ))
}

/// The pretend cooldown of a ghost journey's code (0 when it is not a ghost).
pub fn ghost_resend_wait(ctx: &Ctx, policy: &OtpPolicy) -> i64 {
    match (ctx.journey.ghost, ctx.journey.ghost_sent_at) {
        (true, Some(at)) => (at + i64::from(policy.resend_cooldown) - ctx.state.now()).max(0),
        _ => 0,
    }
}

pub fn enrol(ctx: &Ctx, error: Option<String>, value: String) -> Response {
    let t = ctx.t;
    ctx.finish(pages::render(
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        &EnrolPage {
            brand: &ctx.state.oidc.brand,
            t,
            title: t.enrol_title,
            csrf: &ctx.loaded.session.csrf,
            error,
            value,
        },
    ))
}

/// A message page inside the journey, with optional action buttons.
pub fn message(
    ctx: &Ctx,
    status: StatusCode,
    title: &str,
    text: String,
    detail: Option<String>,
    actions: Vec<Action>,
) -> Response {
    let link = None;
    ctx.finish(pages::render(
        status,
        &MessagePage {
            brand: &ctx.state.oidc.brand,
            t: ctx.t,
            title,
            csrf: &ctx.loaded.session.csrf,
            kind: "error",
            text,
            detail,
            actions,
            link,
        },
    ))
}

/// "No more codes can be sent for this sign-in" (`429`): the journey's code limit or a
/// verification's resend limit.
pub fn resend_limit(ctx: &Ctx) -> Response {
    let t = ctx.t;
    message(
        ctx,
        StatusCode::TOO_MANY_REQUESTS,
        t.error_title,
        t.resend_limit.into(),
        None,
        Vec::new(),
    )
}

/// "Account locked", saying until when.
pub fn locked(ctx: &Ctx, user: &User) -> Response {
    let t = ctx.t;
    let text = match user.locked_until {
        Some(until) => fill(t.locked_until, &[("until", &human_time(until))]),
        None => t.locked_admin.to_string(),
    };
    message(
        ctx,
        StatusCode::FORBIDDEN,
        t.locked_title,
        text,
        None,
        Vec::new(),
    )
}

/// `2026-11-25 14:05 UTC`.
fn human_time(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// The provider could not send: say what to do, offer a retry and the other channel.
pub fn send_failed(ctx: &Ctx, factor: Factor) -> Response {
    let t = ctx.t;
    let mut actions = vec![Action {
        url: "/login/resend",
        label: t.try_again,
        factor: None,
    }];
    let mut detail = None;
    if let Some((label, value)) = switch_option(ctx, factor).or_else(|| offered(ctx, factor)) {
        actions.push(Action {
            url: "/login/switch",
            label,
            factor: Some(value),
        });
        detail = Some(t.send_failed_other_channel.to_string());
    }
    message(
        ctx,
        StatusCode::BAD_GATEWAY,
        t.send_failed_title,
        t.send_failed.to_string(),
        detail,
        actions,
    )
}
