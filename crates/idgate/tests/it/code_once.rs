//! A code proves its factor once. At the Verify API that is a 409 for every submit after
//! the approval (`verify.rs`); here, on the sign-in pages: a double-submitted code page
//! lands the browser at the application signed in once, the old cookie alone opens
//! nothing, and the Verify API cannot touch sign-in codes.

use idgate_core::application::LoginFlow;
use idgate_core::otp::Purpose;
use idgate_core::store::MessageFilter;
use serde_json::{Value, json};

use crate::harness::{TestServer, code_in};
use crate::oidc::{Browser, Page, REDIRECT, app_with, authorize_url, query_param, server, user};
use crate::oidc_flows::PASSWORD;

const MOBILE: &str = "+14155550161";

/// Authorize → password → the code page; returns the page and the code sent.
async fn to_code_page(s: &TestServer, b: &mut Browser, client_id: &str) -> (Page, String) {
    b.get(&authorize_url(s, client_id, &[])).await;
    let page = b.get(&s.url("/login")).await;
    let code_page = b
        .post(
            &s.url("/login/password"),
            &[
                ("csrf", &page.csrf()),
                ("username", "dana"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(code_page.status, 200, "{}", code_page.body);
    let code = code_in(&s.last_text_to(MOBILE).await.expect("a code"), 6);
    (code_page, code)
}

fn signins(metrics: &str) -> u64 {
    metrics
        .lines()
        .find(|l| l.starts_with(r#"idgate_signins_total{factors="password+sms"}"#))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .expect("the sign-in counter")
}

/// A redirect back to the application with an authorization code and the state.
fn assert_at_app(p: &Page, what: &str) -> String {
    assert_eq!(p.status, 303, "{what}: {}", p.body);
    let loc = p.location.clone().unwrap_or_default();
    assert!(loc.starts_with(REDIRECT), "{what}: {loc}");
    assert_eq!(
        query_param(&loc, "state").as_deref(),
        Some("st-1"),
        "{what}"
    );
    query_param(&loc, "code").unwrap_or_else(|| panic!("{what}: no code in {loc}"))
}

async fn redeem(s: &TestServer, client_id: &str, secret: &str, code: &str) -> Value {
    let r = s
        .http
        .post(s.url("/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_submitted_code_signs_in_once_and_both_answers_reach_the_app() {
    let s = server().await;
    let user_id = user(&s, "dana", PASSWORD, Some(MOBILE)).await;
    let (client_id, secret) = app_with(&s, LoginFlow::default(), false).await;
    let secret = secret.unwrap();

    // Several rounds: which submit reads the session first varies.
    for round in 0..4 {
        let mut b = Browser::new();
        let (code_page, code) = to_code_page(&s, &mut b, &client_id).await;
        let before = signins(&s.metrics().await);
        let csrf = code_page.csrf();
        let form = [("csrf", csrf.as_str()), ("code", code.as_str())];
        let (mut b1, mut b2) = (Browser::new(), Browser::new());
        b1.cookie = b.cookie.clone();
        b2.cookie = b.cookie.clone();
        let url = s.url("/login/code");
        let (p1, p2) = tokio::join!(b1.post(&url, &form), b2.post(&url, &form));
        let c1 = assert_at_app(&p1, &format!("round {round}, first"));
        let c2 = assert_at_app(&p2, &format!("round {round}, second"));
        assert_ne!(c1, c2, "each answer carries its own authorization code");
        assert!(
            b1.cookie.is_some() && b1.cookie != b.cookie,
            "round {round}"
        );
        assert_eq!(
            b1.cookie, b2.cookie,
            "round {round}: both answers carry the one rotated session cookie"
        );
        assert_eq!(
            signins(&s.metrics().await),
            before + 1,
            "round {round}: the sign-in is counted once"
        );
        // Whichever answer the browser kept, its code works at the token endpoint.
        let t = redeem(&s, &client_id, &secret, &c2).await;
        assert!(t["id_token"].is_string(), "{t}");
        // And the browser is signed in (single sign-on answers without a new sign-in).
        let p = b2
            .get(&authorize_url(&s, &client_id, &[("prompt", "none")]))
            .await;
        assert_at_app(&p, "prompt=none after the double submit");
    }
    let sessions = s.state().store.list_user_sessions(&user_id).await.unwrap();
    assert_eq!(sessions.len(), 4, "one session per round: {sessions:?}");
    s.stop().await;
}

fn with_cookie(cookie: &Option<String>) -> Browser {
    let mut b = Browser::new();
    b.cookie = cookie.clone();
    b
}

/// A sign-in up to the code page, then the code submitted once: the cookie and the form
/// from before that submit, and the browser that made it.
async fn signed_in_once(
    s: &TestServer,
    client_id: &str,
) -> (Option<String>, String, String, Browser) {
    let mut b = Browser::new();
    let (code_page, code) = to_code_page(s, &mut b, client_id).await;
    let mut first = with_cookie(&b.cookie);
    let csrf = code_page.csrf();
    let done = first
        .post(&s.url("/login/code"), &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_at_app(&done, "the first submit");
    (b.cookie, csrf, code, first)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_previous_cookie_opens_nothing_without_the_code_and_only_once() {
    let s = server().await;
    user(&s, "dana", PASSWORD, Some(MOBILE)).await;
    let (client_id, _) = app_with(&s, LoginFlow::default(), false).await;

    let mut b = Browser::new();
    let (code_page, code) = to_code_page(&s, &mut b, &client_id).await;
    let planted = b.cookie.clone();
    let csrf = code_page.csrf();
    let done = b
        .post(&s.url("/login/code"), &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_at_app(&done, "the first submit");
    let wrong = if code == "000000" { "111111" } else { "000000" };

    // Someone holding only the old cookie (a planted one): the pages show nothing,
    // a wrong code gets the expired page — and uses up the one try.
    let mut attacker = Browser::new();
    attacker.cookie = planted.clone();
    let p = attacker.get(&s.url("/login")).await;
    assert_eq!(p.status, 400, "{}", p.body);
    let p = attacker
        .post(&s.url("/login/code"), &[("csrf", &csrf), ("code", wrong)])
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.location.is_none());
    assert_eq!(attacker.cookie, planted, "no cookie is handed out");
    let p = attacker
        .post(&s.url("/login/code"), &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(p.status, 400, "the forward is used up: {}", p.body);
    assert_eq!(attacker.cookie, planted);

    // A resubmit with the right code but a wrong CSRF token is refused too.
    let (old, _, code, _) = signed_in_once(&s, &client_id).await;
    let mut again = with_cookie(&old);
    let p = again
        .post(
            &s.url("/login/code"),
            &[("csrf", "not-the-token"), ("code", &code)],
        )
        .await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert_eq!(again.cookie, old);

    // A sequential resubmit (the first answer lost) with the right code lands at the app.
    let (old, csrf, code, first) = signed_in_once(&s, &client_id).await;
    let form = [("csrf", csrf.as_str()), ("code", code.as_str())];
    let mut again = with_cookie(&old);
    assert_at_app(&again.post(&s.url("/login/code"), &form).await, "resubmit");
    assert_eq!(again.cookie, first.cookie);
    // Once only: a third submit with the old cookie gets the expired page.
    assert_eq!(
        with_cookie(&old)
            .post(&s.url("/login/code"), &form)
            .await
            .status,
        400
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verify_api_cannot_read_check_resend_or_cancel_sign_in_codes() {
    let s = server().await;
    user(&s, "dana", PASSWORD, Some(MOBILE)).await;
    let (client_id, secret) = app_with(&s, LoginFlow::default(), false).await;
    let secret = secret.unwrap();
    let mut b = Browser::new();
    let (code_page, code) = to_code_page(&s, &mut b, &client_id).await;
    let msgs = s
        .state()
        .store
        .list_messages(&MessageFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let id = msgs[0].verification_id.clone().expect("a verification");
    let v = s
        .state()
        .store
        .get_verification(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.purpose, Purpose::Login);
    assert_eq!(v.application_id.as_deref(), Some(client_id.as_str()));

    let api = |method: reqwest::Method, path: String, body: Option<Value>| {
        let mut rb = s
            .http
            .request(method, s.url(&path))
            .basic_auth(&client_id, Some(&secret));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        rb.send()
    };
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for (method, path, body) in [
        (
            reqwest::Method::GET,
            format!("/api/v1/verifications/{id}"),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/verifications/{id}/check"),
            Some(json!({"code": wrong})),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/verifications/{id}/check"),
            Some(json!({"code": code})),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/verifications/{id}/resend"),
            Some(json!({})),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/verifications/{id}/cancel"),
            Some(json!({})),
        ),
    ] {
        let r = api(method.clone(), path.clone(), body).await.unwrap();
        assert_eq!(r.status(), 404, "{method} {path}");
    }
    // Nothing changed: no attempt counted, still pending, no second message.
    let after = s
        .state()
        .store
        .get_verification(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.attempts, 0);
    assert_eq!(after.status, v.status);
    assert_eq!(after.resends, 0);
    // And the user still signs in with the code.
    let done = b
        .post(
            &s.url("/login/code"),
            &[("csrf", &code_page.csrf()), ("code", &code)],
        )
        .await;
    assert_at_app(&done, "the sign-in");
    s.stop().await;
}
