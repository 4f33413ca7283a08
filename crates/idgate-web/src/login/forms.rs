//! The sign-in form handlers. Each checks the form is genuine, proves or records one
//! thing, and lets `flow::advance` decide the page that follows.

use std::collections::HashMap;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use idgate_core::limits::Refusal;
use idgate_core::login::{Factor, MobileState, Step, accepted_second};
use idgate_core::otp::{CheckOutcome, OtpError, VerificationStatus, normalise_input};
use idgate_core::phone::PhoneNumber;

use crate::login::context::{Ctx, form_ok, load_session, server_error};
use crate::login::{flow, forward, ghost, render, throttle};
use crate::pages::fill;
use crate::session::cookie_value;
use crate::state::AppState;

type Fields = HashMap<String, String>;

fn field<'a>(f: &'a Fields, k: &str) -> &'a str {
    f.get(k).map(String::as_str).unwrap_or_default()
}

/// Loads the context and checks the form; a stale or cross-site form re-shows the step.
async fn start(state: &AppState, headers: &HeaderMap, form: &Fields) -> Result<Ctx, Response> {
    let ctx = Ctx::load(state, headers).await?;
    check_form(ctx, headers, form).await
}

async fn check_form(mut ctx: Ctx, headers: &HeaderMap, form: &Fields) -> Result<Ctx, Response> {
    if !ctx.form_ok(headers, form.get("csrf").map(String::as_str)) {
        let msg = ctx.t.form_expired.to_string();
        return Err(match flow::step(&ctx) {
            Step::Code(_) => render::code(&ctx, None, Some(msg), StatusCode::FORBIDDEN).await,
            Step::Enrol(_) if ctx.journey.code.is_some() => {
                render::code(&ctx, None, Some(msg), StatusCode::FORBIDDEN).await
            }
            Step::Enrol(_) => render::enrol(&ctx, Some(msg), String::new()),
            _ => render::sign_in(&ctx, Some(msg), StatusCode::FORBIDDEN),
        });
    }
    ghost::if_locked(&mut ctx).await?;
    Ok(ctx)
}

pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut ctx = match Ctx::load(&state, &headers).await {
        Ok(ctx) => ctx,
        Err(r) => return r,
    };
    if let Err(r) = ghost::if_locked(&mut ctx).await {
        return r;
    }
    flow::advance(ctx).await
}

/// Step 1, password. Unknown users verify against a dummy hash (same time, same
/// answer); a locked account is only revealed to someone who knows its password.
pub async fn password(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Response {
    let mut ctx = match start(&state, &headers, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let username = field(&form, "username").trim().to_string();
    let password = field(&form, "password");
    ctx.journey.username = Some(username.clone());
    let user = if username.is_empty() || username.len() > 256 {
        None
    } else {
        match state.store.find_user_by_username(&username).await {
            Ok(u) => u,
            Err(e) => {
                tracing::error!(error = %e, "login: finding the user failed");
                return server_error(&state, ctx.t);
            }
        }
    };
    if let Err(r) = throttle::before_password(&ctx, &username).await {
        return r;
    }
    let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
    let ok = state.oidc.verify_password(password, hash).await && !password.is_empty();
    let user_id = user.as_ref().map(|u| u.id.clone());
    let Some(user) = user.filter(|_| ok) else {
        tracing::info!(client_id = %ctx.app.client_id, "sign-in: wrong username or password");
        throttle::password_failed(&ctx, &username, user_id.as_deref()).await;
        if let Err(r) = ctx.save().await {
            return r;
        }
        return render::sign_in(
            &ctx,
            Some(ctx.t.wrong_credentials.into()),
            StatusCode::UNAUTHORIZED,
        );
    };
    if user.is_locked(state.now()) {
        return render::locked(&ctx, &user);
    }
    throttle::password_ok(&ctx, &username).await;
    if ctx.journey.user_id.as_deref() != Some(user.id.as_str()) {
        // A different person than the session's: nothing carried over counts.
        ctx.journey.factors.clear();
        ctx.journey.code = None;
    }
    ctx.journey.user_id = Some(user.id.clone());
    ctx.user = Some(user);
    flow::proven(&mut ctx, Factor::Password);
    flow::advance(ctx).await
}

/// Passwordless step 1: the username. Whoever it names — or nobody — the next page is
/// the code page; a code is only sent to a real account with a usable number.
pub async fn identify(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Response {
    let mut ctx = match start(&state, &headers, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let username = field(&form, "username").trim().to_string();
    if username.is_empty() {
        return render::sign_in(
            &ctx,
            Some(ctx.t.field_required.into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let user = if username.len() > 256 {
        None
    } else {
        match state.store.find_user_by_username(&username).await {
            Ok(u) => u,
            Err(e) => {
                tracing::error!(error = %e, "login: finding the user failed");
                return server_error(&state, ctx.t);
            }
        }
    };
    let now = state.now();
    let usable = user.as_ref().is_some_and(|u| {
        !u.is_locked(now)
            && MobileState::of(&ctx.flow, u.mobile.is_some(), u.mobile_verified)
                == MobileState::Usable
    });
    ctx.journey.username = Some(username);
    ctx.journey.factors.clear();
    ctx.journey.code = None;
    ctx.journey.ghost_attempts = 0;
    ctx.journey.ghost_resends = 0;
    // A ghost's pretend code "goes out" in `flow::advance`, through the same limits.
    ctx.journey.ghost_sent_at = None;
    ctx.journey.fell_back_from = None;
    ctx.journey.ghost_undelivered = false;
    if usable {
        ctx.journey.user_id = user.as_ref().map(|u| u.id.clone());
        ctx.journey.ghost = false;
        ctx.user = user;
    } else {
        ctx.journey.user_id = None;
        ctx.journey.ghost = true;
        ctx.user = None;
    }
    if let Err(r) = ctx.save().await {
        return r;
    }
    flow::advance(ctx).await
}

/// A submitted code.
pub async fn code(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Response {
    let input = field(&form, "code").trim().to_string();
    let loaded = match load_session(&state, &headers).await {
        Ok(l) => l,
        Err(r) => {
            // The same code again, after its first submit rotated the session.
            let row = match cookie_value(&headers) {
                Some(secret) => forward::find(&state, &secret).await,
                None => None,
            };
            let Some(row) = row else { return r };
            let csrf = form.get("csrf").map(String::as_str);
            let csrf_ok = form_ok(&state, &headers, &row.session.csrf, csrf);
            return forward::resume(&state, &headers, csrf_ok, &input, row).await;
        }
    };
    let ctx = match Ctx::from_loaded(&state, &headers, loaded).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut ctx = match check_form(ctx, &headers, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let t = ctx.t;
    if input.is_empty() {
        return render::code(
            &ctx,
            None,
            Some(t.field_required.into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    if let Err(r) = throttle::before_code(&ctx).await {
        return r;
    }
    if ctx.journey.ghost {
        // Mirrors a real verification's countdown and expiry; no code is ever right.
        return ghost::code(ctx).await;
    }
    let Some(pending) = ctx.journey.code.clone() else {
        return flow::advance(ctx).await;
    };
    let outcome = match state.otp.check(&pending.verification_id, &input).await {
        Ok(o) => o,
        // Approved by a concurrent submit of this form (a double click): that submit
        // rotates the session and leaves a forward row; land where it lands.
        Err(OtpError::NotPending(VerificationStatus::Approved)) => {
            if let Some(row) = forward::wait_for(&state, &ctx.loaded.secret).await {
                return forward::resume(&state, &headers, true, &input, row).await;
            }
            ctx.journey.code = None;
            return flow::advance(ctx).await;
        }
        // Over for another reason (expired, used up, failed in a background send): the
        // page says why, as for the submit that ended it.
        Err(OtpError::NotPending(status)) => CheckOutcome {
            status,
            attempts_left: 0,
        },
        // Gone: start this step again.
        Err(OtpError::NotFound) => {
            ctx.journey.code = None;
            return flow::advance(ctx).await;
        }
        // This wrong code locked the account: with nothing proven, no lockout page.
        Err(OtpError::Refused(Refusal::Locked { .. })) if ghost::hides_lockout(&ctx) => {
            throttle::code_failed(&ctx).await;
            return ghost::locked_by_this_code(ctx).await;
        }
        Err(OtpError::Refused(r)) => {
            throttle::code_failed(&ctx).await;
            return throttle::refused(&ctx, &r);
        }
        Err(e) => {
            tracing::error!(error = %e, "checking a sign-in code failed");
            return server_error(&state, t);
        }
    };
    let msg = match outcome.status {
        VerificationStatus::Approved => {
            if let Some(number) = &pending.enrol_number
                && let Err(r) = save_enrolled(&mut ctx, number).await
            {
                return r;
            }
            ctx.journey.code = None;
            ctx.forward_proof = Some((pending.verification_id.clone(), normalise_input(&input)));
            flow::proven(&mut ctx, pending.factor);
            return flow::advance(ctx).await;
        }
        VerificationStatus::Pending => fill(
            t.wrong_code,
            &[("attempts", &outcome.attempts_left.to_string())],
        ),
        VerificationStatus::MaxAttemptsReached => t.too_many_attempts.to_string(),
        // Sent after the answer, and the provider failed.
        VerificationStatus::Failed => return render::send_failed(&ctx, pending.factor),
        _ => t.code_expired.to_string(),
    };
    throttle::code_failed(&ctx).await;
    tracing::info!(client_id = %ctx.app.client_id, status = outcome.status.as_str(), "sign-in code not accepted");
    render::code(&ctx, None, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await
}

/// Enrolment done: the number is the user's, verified (it just received a code).
async fn save_enrolled(ctx: &mut Ctx, number: &str) -> Result<(), Response> {
    let Some(mut user) = ctx.user.clone() else {
        return Err(server_error(&ctx.state, ctx.t));
    };
    let phone = PhoneNumber::parse(number, None).map_err(|_| server_error(&ctx.state, ctx.t))?;
    user.mobile = Some(phone);
    user.mobile_verified = true;
    user.updated_at = ctx.state.now();
    ctx.state.store.update_user(&user).await.map_err(|e| {
        tracing::error!(error = %e, "saving an enrolled mobile number failed");
        server_error(&ctx.state, ctx.t)
    })?;
    ctx.user = Some(user);
    Ok(())
}

/// "Resend code": the same verification again (cooldown and limit enforced by the OTP
/// engine), or a new one when the old one is finished.
pub async fn resend(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Response {
    let mut ctx = match start(&state, &headers, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let t = ctx.t;
    if ctx.journey.ghost {
        return ghost::resend(ctx).await;
    }
    let Some(pending) = ctx.journey.code.clone() else {
        return flow::advance(ctx).await;
    };
    let user_name = ctx.user_name();
    let locale = ctx.locale();
    if let Err(r) = throttle::before_send(&ctx).await {
        return r;
    }
    let resent = if flow::identifying(&ctx, pending.factor, pending.enrol_number.is_some()) {
        // As the first code: the answer does not wait for the provider.
        state
            .otp
            .prepare_resend(
                &pending.verification_id,
                Some(&ctx.app),
                user_name.as_deref(),
                locale.as_deref(),
            )
            .await
            .map(|p| flow::deliver_later(&ctx, p.finishing_on_failure()))
    } else {
        state
            .otp
            .resend(
                &pending.verification_id,
                Some(&ctx.app),
                user_name.as_deref(),
                locale.as_deref(),
            )
            .await
            .map(|_| ())
    };
    match resent {
        Ok(()) => render::code(&ctx, Some(t.code_resent.into()), None, StatusCode::OK).await,
        Err(OtpError::Cooldown(secs)) => {
            let msg = fill(t.resend_wait, &[("wait", &throttle::human_wait(t, secs))]);
            render::code(&ctx, None, Some(msg), StatusCode::TOO_MANY_REQUESTS).await
        }
        Err(OtpError::Refused(r)) => throttle::refused(&ctx, &r),
        Err(OtpError::ResendLimit(_)) => render::resend_limit(&ctx),
        Err(OtpError::NotPending(_)) | Err(OtpError::NotFound) => {
            // The code is finished (expired, used up): a new one, to the same number.
            let to = match &pending.enrol_number {
                Some(n) => PhoneNumber::parse(n, None).ok(),
                None => ctx.user.as_ref().and_then(|u| u.mobile.clone()),
            };
            let Some(to) = to else {
                return server_error(&state, t);
            };
            match flow::send(&mut ctx, pending.factor, &to, pending.enrol_number.clone()).await {
                Ok(()) => {
                    render::code(&ctx, Some(t.code_resent.into()), None, StatusCode::OK).await
                }
                Err(r) => r,
            }
        }
        Err(OtpError::Delivery(e)) => {
            tracing::warn!(error = %e, "resending a sign-in code failed");
            render::send_failed(&ctx, pending.factor)
        }
        Err(e) => {
            tracing::error!(error = %e, "resending a sign-in code failed");
            server_error(&state, t)
        }
    }
}

/// "Send by WhatsApp instead" / "Send by SMS instead".
pub async fn switch(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Response {
    let mut ctx = match start(&state, &headers, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let wanted = match field(&form, "factor") {
        "sms-otp" => Factor::SmsOtp,
        "whatsapp-otp" => Factor::WhatsappOtp,
        _ => return flow::advance(ctx).await,
    };
    if !accepted_second(&ctx.flow).contains(&wanted) || ctx.journey.ghost {
        return flow::advance(ctx).await;
    }
    // A switch sends a new code: the pending one's resend cooldown applies to it too.
    if let Some(p) = &ctx.journey.code
        && p.factor != wanted
        && let Ok(v) = state.otp.get(&p.verification_id).await
        && v.effective_status(state.now()) == VerificationStatus::Pending
    {
        let wait = v.resend_wait(state.now());
        if wait > 0 {
            let t = ctx.t;
            let msg = fill(t.resend_wait, &[("wait", &throttle::human_wait(t, wait))]);
            return render::code(&ctx, None, Some(msg), StatusCode::TOO_MANY_REQUESTS).await;
        }
    }
    // The pending code stays when it is already on the wanted channel (no new send).
    if ctx
        .journey
        .code
        .as_ref()
        .is_some_and(|p| p.factor != wanted)
        && let Some(p) = ctx.journey.code.take()
    {
        let _ = state.otp.cancel(&p.verification_id).await;
    }
    ctx.journey.chosen = Some(wanted);
    if let Err(r) = ctx.save().await {
        return r;
    }
    flow::advance(ctx).await
}

/// Enrolment: the number to verify.
pub async fn enrol(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Response {
    let mut ctx = match start(&state, &headers, &form).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Step::Enrol(factor) = flow::step(&ctx) else {
        return flow::advance(ctx).await;
    };
    let typed = field(&form, "mobile").trim().to_string();
    let phone = match PhoneNumber::parse(&typed, state.settings.default_region.as_deref()) {
        Ok(p) => p,
        Err(_) => return render::enrol(&ctx, Some(ctx.t.invalid_number.into()), typed),
    };
    if let Some(p) = ctx.journey.code.take() {
        let _ = state.otp.cancel(&p.verification_id).await;
    }
    let e164 = phone.as_str().to_string();
    match flow::send(&mut ctx, factor, &phone, Some(e164)).await {
        Ok(()) => render::code(&ctx, None, None, StatusCode::OK).await,
        Err(r) => r,
    }
}
