//! Sign-in codes and their channels, against fake D7 gateways: the passwordless first
//! code answers before the provider does (and a failed send shows on the next page),
//! channel fallback at sign-in (offer / send), resends going to the channel that
//! delivered (sign-in and Verify API), and the resend cooldown applying to a switch.

use std::time::{Duration, Instant};

use idgate_core::application::{ChannelFallback, FirstFactor, LoginFlow, SecondFactor};
use serde_json::{Value, json};

use crate::fake_d7::{self, FakeGateway, Fault};
use crate::harness::{TestServer, code_in};
use crate::login_enumeration::limited_server;
use crate::oidc::{Browser, Page, app_with, authorize_url, user};
use crate::oidc_flows::PASSWORD;

const MOBILE: &str = "+14155550150";

/// A server with fake D7 SMS and WhatsApp gateways as its providers.
async fn with_gateways() -> (TestServer, FakeGateway, FakeGateway) {
    let s = limited_server(|c| {
        c.delivery.attempt_timeout_ms = 5_000;
        c.delivery.deadline_ms = 10_000;
        c.delivery.backoff_initial_ms = 10;
        c.delivery.backoff_max_ms = 20;
        c.delivery.max_attempts_per_provider = 1;
    })
    .await;
    let sms = FakeGateway::start().await;
    let wa = FakeGateway::start().await;
    let token = s.admin_token().await;
    for (channel, body) in [
        (
            "sms",
            json!({"name": "d7", "kind": "d7-sms", "settings": {"originator": "SignOTP", "base_url": sms.base},
                   "secrets": {"api_token": fake_d7::TOKEN}}),
        ),
        (
            "whatsapp",
            json!({"name": "wa", "kind": "d7-whatsapp", "settings": {
                   "originator": "+971501234567", "template_id": "otp_test", "base_url": wa.base},
                   "secrets": {"api_token": fake_d7::TOKEN}}),
        ),
    ] {
        let r = s
            .http
            .post(s.url(&format!("/api/v1/channels/{channel}/providers")))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    (s, sms, wa)
}

/// Requests the gateway answered with 200 (codes that went out).
fn delivered(g: &FakeGateway) -> Vec<Value> {
    g.received()
        .into_iter()
        .filter(|r| r.status == 200)
        .map(|r| r.json())
        .collect()
}

fn sms_code(v: &Value) -> String {
    code_in(v["messages"][0]["content"].as_str().unwrap(), 6)
}

fn wa_code(v: &Value) -> String {
    v["messages"][0]["content"]["template"]["buttons"]["actions"][0]["action_payload"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Waits (up to 8 s) until the gateway has delivered `n` codes.
async fn wait_delivered(g: &FakeGateway, n: usize) -> Vec<Value> {
    for _ in 0..160 {
        let d = delivered(g);
        if d.len() >= n {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the gateway delivered {} codes, not {n}",
        delivered(g).len()
    );
}

fn passwordless() -> LoginFlow {
    LoginFlow {
        first: FirstFactor::SmsOtp,
        second: vec![],
        ..LoginFlow::default()
    }
}

async fn identify(s: &TestServer, client_id: &str, username: &str) -> (Browser, Page, Duration) {
    let mut b = Browser::new();
    b.get(&authorize_url(s, client_id, &[])).await;
    let page = b.get(&s.url("/login")).await;
    let t0 = Instant::now();
    let p = b
        .post(
            &s.url("/login/identify"),
            &[("csrf", &page.csrf()), ("username", username)],
        )
        .await;
    (b, p, t0.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signin_passwordless_answers_without_waiting_for_a_slow_gateway() {
    let (s, sms, _wa) = with_gateways().await;
    user(&s, "carol", PASSWORD, Some(MOBILE)).await;
    let (client_id, _) = app_with(&s, passwordless(), false).await;
    sms.fail_always(Some(Fault::Slow(Duration::from_secs(3))));
    let (mut b, real, real_took) = identify(&s, &client_id, "carol").await;
    let (_, ghost, ghost_took) = identify(&s, &client_id, "nobody-here").await;
    assert_eq!((real.status, ghost.status), (200, 200), "{}", real.body);
    assert_eq!(
        real.body.replace(&real.csrf(), "CSRF"),
        ghost.body.replace(&ghost.csrf(), "CSRF")
    );
    for (who, took) in [("real", real_took), ("unknown", ghost_took)] {
        assert!(
            took < Duration::from_millis(1500),
            "the {who} user's code page took {took:?}: it waited for the 3 s gateway"
        );
    }
    // The code still goes out, once, and signs in.
    assert!(delivered(&sms).is_empty(), "not yet: the gateway takes 3 s");
    let sent = wait_delivered(&sms, 1).await;
    let done = b
        .post(
            &s.url("/login/code"),
            &[("csrf", &real.csrf()), ("code", &sms_code(&sent[0]))],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(delivered(&sms).len(), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signin_passwordless_send_that_fails_after_the_answer_shows_on_the_next_page() {
    let (s, sms, _wa) = with_gateways().await;
    user(&s, "carol", PASSWORD, Some(MOBILE)).await;
    let (client_id, _) = app_with(&s, passwordless(), false).await;
    sms.fail_always(Some(Fault::Status500));
    let (mut b, page, _) = identify(&s, &client_id, "carol").await;
    assert_eq!(page.status, 200, "{}", page.body);
    // The background send fails; the next page says so and offers to try again.
    let mut failed = None;
    for _ in 0..100 {
        let p = b.get(&s.url("/login")).await;
        if p.status == 502 {
            failed = Some(p);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failed = failed.expect("the failed send shows");
    assert!(failed.body.contains("/login/resend"), "{}", failed.body);
    // A submitted code says so too.
    let p = b
        .post(
            &s.url("/login/code"),
            &[("csrf", &failed.csrf()), ("code", "123456")],
        )
        .await;
    assert_eq!(p.status, 502, "{}", p.body);
    // An unknown username meets the same while the channel is failing.
    let (mut gb, gpage, _) = identify(&s, &client_id, "nobody-here").await;
    same("code page", &page, &gpage);
    let gfailed = gb.get(&s.url("/login")).await;
    same("next page", &failed, &gfailed);
    let gp = gb
        .post(
            &s.url("/login/code"),
            &[("csrf", &gfailed.csrf()), ("code", "123456")],
        )
        .await;
    same("a submitted code", &p, &gp);
    // "Try again" once the gateway is back: a new code arrives and signs in.
    sms.clear_faults();
    let again = b
        .post(&s.url("/login/resend"), &[("csrf", &p.csrf())])
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    let sent = wait_delivered(&sms, 1).await;
    let gagain = gb
        .post(&s.url("/login/resend"), &[("csrf", &gp.csrf())])
        .await;
    same("try again", &again, &gagain);
    let done = b
        .post(
            &s.url("/login/code"),
            &[("csrf", &again.csrf()), ("code", &sms_code(&sent[0]))],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    s.stop().await;
}

fn same(what: &str, real: &Page, ghost: &Page) {
    let norm = |p: &Page| p.body.replace(&p.csrf(), "CSRF");
    assert_eq!(
        real.status, ghost.status,
        "{what}: {}\n---\n{}",
        real.body, ghost.body
    );
    assert_eq!(norm(real), norm(ghost), "{what}");
}

fn whatsapp_then(fallback: ChannelFallback) -> LoginFlow {
    LoginFlow {
        first: FirstFactor::Password,
        second: vec![SecondFactor::WhatsappOtp],
        channel_fallback: fallback,
        ..LoginFlow::default()
    }
}

/// Signs in with the password: the page after it (the code page, or a failure page).
async fn password_step(s: &TestServer, client_id: &str) -> (Browser, Page) {
    let mut b = Browser::new();
    b.get(&authorize_url(s, client_id, &[])).await;
    let page = b.get(&s.url("/login")).await;
    let p = b
        .post(
            &s.url("/login/password"),
            &[
                ("csrf", &page.csrf()),
                ("username", "carol"),
                ("password", PASSWORD),
            ],
        )
        .await;
    (b, p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signin_fallback_send_mode_delivers_by_sms_and_resends_there() {
    let (s, sms, wa) = with_gateways().await;
    user(&s, "carol", PASSWORD, Some(MOBILE)).await;
    wa.fail_always(Some(Fault::Status500));
    // Off: the failure is said, nothing goes by SMS.
    let (off, _) = app_with(&s, whatsapp_then(ChannelFallback::Off), false).await;
    let (_, p) = password_step(&s, &off).await;
    assert_eq!(p.status, 502, "{}", p.body);
    assert!(!p.body.contains("sms-otp"), "{}", p.body);
    assert!(delivered(&sms).is_empty());
    // Send: the code goes by SMS at once, and the page says so.
    let (send, _) = app_with(&s, whatsapp_then(ChannelFallback::Send), false).await;
    let (mut b, p) = password_step(&s, &send).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains("We sent a code by SMS to ••••••0150."),
        "{}",
        p.body
    );
    assert!(
        p.body
            .contains("It could not be sent by WhatsApp, so we sent it by SMS."),
        "{}",
        p.body
    );
    assert_eq!(delivered(&sms).len(), 1);
    // A resend goes to the channel that delivered.
    s.clock.advance(31);
    let wa_before = wa.received().len();
    let r = b
        .post(&s.url("/login/resend"), &[("csrf", &p.csrf())])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sent = delivered(&sms);
    assert_eq!(sent.len(), 2, "the resend went by SMS");
    assert_eq!(wa.received().len(), wa_before, "and not to WhatsApp");
    let done = b
        .post(
            &s.url("/login/code"),
            &[("csrf", &r.csrf()), ("code", &sms_code(&sent[1]))],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signin_fallback_offer_mode_offers_sms_and_sends_when_asked() {
    let (s, sms, wa) = with_gateways().await;
    user(&s, "carol", PASSWORD, Some(MOBILE)).await;
    wa.fail_always(Some(Fault::Status500));
    let (offer, _) = app_with(&s, whatsapp_then(ChannelFallback::Offer), false).await;
    let (mut b, p) = password_step(&s, &offer).await;
    assert_eq!(p.status, 502, "{}", p.body);
    assert!(p.body.contains("value=\"sms-otp\""), "{}", p.body);
    assert!(delivered(&sms).is_empty(), "offered, not sent");
    let c = b
        .post(
            &s.url("/login/switch"),
            &[("csrf", &p.csrf()), ("factor", "sms-otp")],
        )
        .await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert!(c.body.contains("We sent a code by SMS"), "{}", c.body);
    let sent = delivered(&sms);
    assert_eq!(sent.len(), 1);
    let done = b
        .post(
            &s.url("/login/code"),
            &[("csrf", &c.csrf()), ("code", &sms_code(&sent[0]))],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signin_verify_api_resend_goes_to_the_channel_that_delivered() {
    let (s, sms, wa) = with_gateways().await;
    let app = s.app("Shop").await;
    wa.fail_always(Some(Fault::Status500));
    let r = s
        .http
        .post(s.url("/api/v1/verifications"))
        .basic_auth(&app.0, Some(&app.1))
        .json(&json!({"to": MOBILE, "channel": "whatsapp", "fallback_channel": "sms"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["sent_via"], "sms", "{v}");
    assert_eq!(
        v["channel"], "sms",
        "the stored channel is the one that delivered"
    );
    let id = v["id"].as_str().unwrap();
    s.clock.advance(31);
    let wa_before = wa.received().len();
    let r = s
        .http
        .post(s.url(&format!("/api/v1/verifications/{id}/resend")))
        .basic_auth(&app.0, Some(&app.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let sent = delivered(&sms);
    assert_eq!(sent.len(), 2, "the resend went by SMS");
    assert_eq!(wa.received().len(), wa_before, "and not to WhatsApp");
    let checked: Value = s
        .http
        .post(s.url(&format!("/api/v1/verifications/{id}/check")))
        .basic_auth(&app.0, Some(&app.1))
        .json(&json!({"code": sms_code(&sent[1])}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(checked["status"], "approved", "{checked}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signin_switching_channel_respects_the_resend_cooldown() {
    let (s, sms, wa) = with_gateways().await;
    user(&s, "carol", PASSWORD, Some(MOBILE)).await;
    let flow = LoginFlow {
        first: FirstFactor::Password,
        second: vec![SecondFactor::SmsOtp, SecondFactor::WhatsappOtp],
        ..LoginFlow::default()
    };
    let (client_id, _) = app_with(&s, flow, false).await;
    let (mut b, mut p) = password_step(&s, &client_id).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert_eq!(delivered(&sms).len(), 1);
    // Back and forth within a second: the cooldown answer, and no new code.
    for factor in ["whatsapp-otp", "sms-otp", "whatsapp-otp", "sms-otp"] {
        let r = b
            .post(
                &s.url("/login/switch"),
                &[("csrf", &p.csrf()), ("factor", factor)],
            )
            .await;
        if factor == "whatsapp-otp" {
            assert_eq!(r.status, 429, "{factor}: {}", r.body);
            assert!(
                r.body.contains("You can ask for a new code in"),
                "{}",
                r.body
            );
        } else {
            assert_eq!(r.status, 200, "{factor}: the pending SMS code: {}", r.body);
        }
        p = r;
    }
    assert_eq!(delivered(&sms).len(), 1, "codes sent by SMS");
    assert_eq!(delivered(&wa).len(), 0, "codes sent by WhatsApp");
    // After the cooldown the switch sends; switching straight back waits again.
    s.clock.advance(31);
    let w = b
        .post(
            &s.url("/login/switch"),
            &[("csrf", &p.csrf()), ("factor", "whatsapp-otp")],
        )
        .await;
    assert_eq!(w.status, 200, "{}", w.body);
    assert_eq!(delivered(&wa).len(), 1);
    let back = b
        .post(
            &s.url("/login/switch"),
            &[("csrf", &w.csrf()), ("factor", "sms-otp")],
        )
        .await;
    assert_eq!(back.status, 429, "{}", back.body);
    assert_eq!(delivered(&sms).len(), 1);
    let done = b
        .post(
            &s.url("/login/code"),
            &[
                ("csrf", &back.csrf()),
                ("code", &wa_code(&delivered(&wa)[0])),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    s.stop().await;
}
