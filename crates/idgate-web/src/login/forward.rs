//! A double-submitted code (a double-clicked "Verify", a resubmitted form).
//!
//! The first submit proves the factor and rotates the session's secret (session fixation);
//! the second arrives with the *old* cookie and the same code. A code proves its factor
//! once — the second submit must not prove it again — yet the browser shows the second
//! answer, so it has to land where the first one went: signed in once, at the application.
//! And the old cookie alone must open nothing, or the rotation would protect nothing.
//!
//! So when a code's proof rotates a session, a short-lived *forward* row is stored under the
//! previous secret: a session row with no user and no factors whose journey carries only
//! the authorization request and the new secret, sealed with AES-GCM under the master key
//! with the previous secret and the code as associated data. A submit that presents the
//! previous cookie, its CSRF token and the same code within [`FORWARD_TTL`] seconds
//! consumes the row — once: a wrong code gets no second try — and continues as the rotated
//! session with its new cookie: the next step of the sign-in, or (when the first submit
//! finished it) a fresh authorization code for the same request from the signed-in session,
//! as single sign-on would give. The sign-in itself is counted once. Someone who holds only
//! the previous cookie (a planted one) has one guess at a code sent to the user's phone.
//!
//! A submit that raced the first one (both read the session before the rotation) finds its
//! verification already approved; it waits up to [`RACE_WAIT`] for the first submit's
//! forward row and then continues the same way.

use std::time::Duration;

use axum::http::HeaderMap;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use idgate_core::login::{Forward, Journey, PendingRequest};
use idgate_core::new_id;
use idgate_core::otp::normalise_input;
use idgate_core::session::Session;

use crate::login::context::{Ctx, expired_page, server_error};
use crate::login::flow;
use crate::oidc::issue;
use crate::pages::i18n;
use crate::session::{self, Loaded};
use crate::state::AppState;

/// How long after a code's proof its double submit is still answered.
pub const FORWARD_TTL: i64 = 30;
/// How long a submit that lost the race waits for the winner's forward row.
const RACE_WAIT: Duration = Duration::from_secs(3);
const RACE_POLL: Duration = Duration::from_millis(25);

/// The associated data binding a sealed secret to the previous cookie and the code.
fn binding(previous_secret: &str, verification_id: &str, code: &str) -> String {
    format!("session-forward\0{previous_secret}\0{verification_id}\0{code}")
}

/// Whether a loaded session is a forward row.
pub fn is_forward(loaded: &Loaded) -> bool {
    loaded
        .session
        .journey
        .as_ref()
        .is_some_and(|j| j.forward.is_some())
}

/// The store key of the forward row for a previous secret. It differs from the session's
/// own key (the session still holds that one until it rotates: the row is stored first),
/// and like it, it is a keyed hash of the secret: the row is found only with the cookie.
fn key(state: &AppState, previous_secret: &str) -> String {
    let mut k = state.keys.lookup_hash(previous_secret);
    k.push_str(".forward");
    k
}

/// The forward row stored for the previous secret a request's cookie carries.
pub async fn find(state: &AppState, previous_secret: &str) -> Option<Loaded> {
    match state
        .store
        .find_session(&key(state, previous_secret), state.now())
        .await
    {
        Ok(Some(session)) => Some(Loaded {
            session,
            secret: previous_secret.to_string(),
        })
        .filter(is_forward),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "looking up a session forward failed");
            None
        }
    }
}

/// Stores the forward row for a rotation that a code's proof is about to cause, from the
/// session as it is before the rotation. A failure is logged and costs only the
/// double-submit comfort, never the sign-in.
pub async fn store(
    state: &AppState,
    previous: &Loaded,
    new_secret: &str,
    request: &PendingRequest,
    proof: &(String, String),
) {
    let (previous_secret, previous_csrf) = (&previous.secret, &previous.session.csrf);
    let (verification_id, code) = proof;
    let sealed = match state.keys.encrypt(
        new_secret.as_bytes(),
        &binding(previous_secret, verification_id, code),
    ) {
        Ok(s) => B64.encode(s),
        Err(e) => {
            tracing::warn!(error = %e, "sealing a session forward failed");
            return;
        }
    };
    let now = state.now();
    let mut journey = Journey::new(request.clone(), now);
    journey.forward = Some(Forward {
        verification_id: verification_id.clone(),
        sealed,
    });
    let row = Session {
        id: new_id(),
        secret_hash: key(state, previous_secret),
        csrf: previous_csrf.clone(),
        user_id: None,
        factors: Vec::new(),
        auth_time: None,
        journey: Some(journey),
        created_at: now,
        updated_at: now,
        expires_at: now + FORWARD_TTL,
    };
    if let Err(e) = state.store.insert_session(&row).await {
        tracing::warn!(error = %e, "storing a session forward failed");
    }
}

/// Waits (bounded) for the forward row the winner of a race stores for `secret`.
pub async fn wait_for(state: &AppState, secret: &str) -> Option<Loaded> {
    let deadline = tokio::time::Instant::now() + RACE_WAIT;
    loop {
        if let Some(row) = find(state, secret).await {
            return Some(row);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(RACE_POLL).await;
    }
}

/// Answers a code submit that presented a forward row's cookie (`row`): consumes the row,
/// opens it with the submitted code, and continues as the rotated session.
pub async fn resume(
    state: &AppState,
    headers: &HeaderMap,
    csrf_ok: bool,
    input: &str,
    row: Loaded,
) -> Response {
    let Some((request, fwd)) = row
        .session
        .journey
        .clone()
        .and_then(|j| j.forward.map(|f| (j.request, f)))
    else {
        return expired_page(state, headers);
    };
    if !csrf_ok {
        return expired_page(state, headers);
    }
    // One use, whatever the code: a wrong guess does not get another.
    match state.store.delete_session(&row.session.id).await {
        Ok(true) => {}
        Ok(false) => return expired_page(state, headers),
        Err(e) => {
            tracing::error!(error = %e, "consuming a session forward failed");
            return expired_page(state, headers);
        }
    }
    let aad = binding(&row.secret, &fwd.verification_id, &normalise_input(input));
    let secret = B64
        .decode(fwd.sealed.as_bytes())
        .ok()
        .and_then(|sealed| state.keys.decrypt(&sealed, &aad).ok())
        .and_then(|s| String::from_utf8(s).ok());
    let Some(secret) = secret else {
        tracing::info!("a code resubmitted with a previous session cookie did not match");
        return expired_page(state, headers);
    };
    // The row is stored just before the rotation it forwards to: that may still be
    // committing.
    let Some(session) = rotated(state, &secret).await else {
        return expired_page(state, headers);
    };
    let loaded = Loaded { session, secret };
    if loaded.session.journey.is_some() {
        // The first submit moved the sign-in on to another step: show it.
        return match Ctx::from_loaded(state, headers, loaded).await {
            Ok(mut ctx) => {
                ctx.new_cookie = true;
                flow::advance(ctx).await
            }
            Err(r) => r,
        };
    }
    finish_again(state, &request, loaded).await
}

/// The session that now carries `secret`, waiting (bounded) for the rotation to land.
async fn rotated(state: &AppState, secret: &str) -> Option<Session> {
    let hash = state.keys.lookup_hash(secret);
    let deadline = tokio::time::Instant::now() + RACE_WAIT;
    loop {
        match state.store.find_session(&hash, state.now()).await {
            Ok(Some(s)) => return Some(s),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "loading a forwarded session failed");
                return None;
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(RACE_POLL).await;
    }
}

/// The first submit finished the sign-in: the same request gets a code of its own from the
/// signed-in session (nothing is proven or counted again), with the session's cookie.
async fn finish_again(state: &AppState, request: &PendingRequest, loaded: Loaded) -> Response {
    let t = i18n::for_locales(request.ui_locales.as_deref(), None);
    let now = state.now();
    let Some(user_id) = loaded.session.signed_in_user(now).map(str::to_string) else {
        return server_error(state, t);
    };
    let (app, user) = match (
        state.store.get_application(&request.client_id).await,
        state.store.get_user(&user_id).await,
    ) {
        (Ok(Some(a)), Ok(Some(u))) => (a, u),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "loading a forwarded sign-in failed");
            return server_error(state, t);
        }
        _ => return server_error(state, t),
    };
    if user.is_locked(now) {
        // Locked since the first submit: no code for it.
        return server_error(state, t);
    }
    let mut r = issue::complete(state, &app, request, &loaded.session, &user).await;
    r.headers_mut().insert(
        axum::http::header::SET_COOKIE,
        session::set_cookie(state, &loaded.secret),
    );
    r
}
