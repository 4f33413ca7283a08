//! No user enumeration: a wrong password for a real account and any password for an
//! account that does not exist get the same answer (same status, same page). Timing is
//! a benchmark's business, not a test's: the unknown user is checked against a dummy
//! hash, which is what makes the two paths the same work.

use idgate::config::Config;
use idgate_core::application::{FirstFactor, LoginFlow};
use idgate_core::limits::Rate;

use crate::harness::{TestServer, code_in};
use crate::oidc::{Browser, Page, app_with, authorize_url, server, server_with, user};
use crate::oidc_flows::PASSWORD;

/// The page without the per-session CSRF token and the typed-back username.
fn normalised(p: &Page, username: &str) -> String {
    p.body
        .replace(&p.csrf(), "CSRF")
        .replace(&format!("value=\"{username}\""), "value=\"USER\"")
}

async fn attempt(
    s: &crate::harness::TestServer,
    client_id: &str,
    username: &str,
    password: &str,
) -> Page {
    let mut b = Browser::new();
    b.get(&authorize_url(s, client_id, &[])).await;
    let page = b.get(&s.url("/login")).await;
    b.post(
        &s.url("/login/password"),
        &[
            ("csrf", &page.csrf()),
            ("username", username),
            ("password", password),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_unknown_user_and_wrong_password_are_indistinguishable() {
    let s = server().await;
    user(&s, "kim", PASSWORD, Some("+14155550140")).await;
    let (client_id, _) = app_with(&s, LoginFlow::default(), false).await;

    let wrong = attempt(&s, &client_id, "kim", "not the password").await;
    let unknown = attempt(&s, &client_id, "kimberly", "not the password").await;
    let unknown_right_pw = attempt(&s, &client_id, "kimberly", PASSWORD).await;
    let empty = attempt(&s, &client_id, "kim", "").await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(
        wrong
            .body
            .contains("The username or password is not right."),
        "{}",
        wrong.body
    );
    for (p, name) in [
        (&unknown, "kimberly"),
        (&unknown_right_pw, "kimberly"),
        (&empty, "kim"),
    ] {
        assert_eq!(p.status, wrong.status);
        assert_eq!(p.location, wrong.location);
        assert_eq!(normalised(p, name), normalised(&wrong, "kim"));
    }
    // And the right password does get further (so the comparison above can fail).
    let right = attempt(&s, &client_id, "kim", PASSWORD).await;
    assert_eq!(right.status, 200);
    assert_ne!(normalised(&right, "kim"), normalised(&wrong, "kim"));
    s.stop().await;
}

// Passwordless: a real account and a username that names nobody, compared answer for
// answer (status and page, normalised only for the CSRF token and the typed username).

fn passwordless() -> LoginFlow {
    LoginFlow {
        first: FirstFactor::SmsOtp,
        second: vec![],
        ..LoginFlow::default()
    }
}

/// A server whose issuer is its own address, with the production limits on (the
/// per-address ones raised: every request comes from 127.0.0.1).
pub async fn limited_server(adjust: impl FnOnce(&mut Config)) -> TestServer {
    server_with(move |c| {
        c.limits.enabled = true;
        c.limits.sends_per_ip = Rate::new(10_000, 600);
        c.limits.wrong_codes_per_ip = Rate::new(10_000, 600);
        adjust(c);
    })
    .await
}

/// A new journey that names `username` on the passwordless first page.
async fn identify(s: &TestServer, client_id: &str, username: &str) -> (Browser, Page) {
    let mut b = Browser::new();
    b.get(&authorize_url(s, client_id, &[])).await;
    let page = b.get(&s.url("/login")).await;
    let p = b
        .post(
            &s.url("/login/identify"),
            &[("csrf", &page.csrf()), ("username", username)],
        )
        .await;
    (b, p)
}

fn norm(p: &Page, username: &str) -> String {
    let body = if p.body.contains("name=\"csrf\"") {
        p.body.replace(&p.csrf(), "CSRF")
    } else {
        p.body.clone()
    };
    body.replace(&format!("value=\"{username}\""), "value=\"USER\"")
}

/// The two journeys got the same answer.
fn same(what: &str, real: &Page, ghost: &Page) {
    assert_eq!(
        (real.status, &real.location),
        (ghost.status, &ghost.location),
        "{what}: real\n{}\n--- unknown\n{}",
        real.body,
        ghost.body
    );
    assert_eq!(norm(real, REAL), norm(ghost, GHOST), "{what}");
}

const REAL: &str = "carol";
const GHOST: &str = "nobody-here";

/// Both journeys post the same form.
async fn both(
    s: &TestServer,
    what: &str,
    path: &str,
    (rb, rp): (&mut Browser, &Page),
    (gb, gp): (&mut Browser, &Page),
    extra: &[(&str, &str)],
) -> (Page, Page) {
    let mut rf = vec![("csrf", rp.csrf())];
    let mut gf = vec![("csrf", gp.csrf())];
    for (k, v) in extra {
        rf.push((k, v.to_string()));
        gf.push((k, v.to_string()));
    }
    let rf: Vec<(&str, &str)> = rf.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gf: Vec<(&str, &str)> = gf.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = rb.post(&s.url(path), &rf).await;
    let g = gb.post(&s.url(path), &gf).await;
    same(what, &r, &g);
    (r, g)
}

/// A code that is not the one sent to `mobile`.
async fn wrong_code(s: &TestServer, mobile: &str) -> String {
    let right = code_in(&s.last_text_to(mobile).await.expect("a code"), 6);
    if right == "000000" {
        "111111"
    } else {
        "000000"
    }
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_passwordless_send_limits_are_the_same_for_real_and_unknown_usernames() {
    let s = limited_server(|_| {}).await;
    user(&s, REAL, PASSWORD, Some("+14155550141")).await;
    let (client_id, _) = app_with(&s, passwordless(), false).await;
    // A fresh journey each time: the 6th code for the number (sends_per_number 5/600 s)
    // is refused, and so is the 6th for a username that names nobody.
    for i in 1..=6 {
        let (_, r) = identify(&s, &client_id, REAL).await;
        let (_, g) = identify(&s, &client_id, GHOST).await;
        same(&format!("identify #{i}"), &r, &g);
        assert_eq!(r.status, if i < 6 { 200 } else { 429 }, "#{i}: {}", r.body);
    }
    // One journey naming the username again and again: its own code limit.
    s.clock.advance(601);
    let real2 = "dora";
    user(&s, real2, PASSWORD, Some("+14155550142")).await;
    let (mut rb, mut rp) = identify(&s, &client_id, real2).await;
    let (mut gb, mut gp) = identify(&s, &client_id, "nobody-else").await;
    for i in 2..=6 {
        s.clock.advance(31);
        let r = rb
            .post(
                &s.url("/login/identify"),
                &[("csrf", &rp.csrf()), ("username", real2)],
            )
            .await;
        let g = gb
            .post(
                &s.url("/login/identify"),
                &[("csrf", &gp.csrf()), ("username", "nobody-else")],
            )
            .await;
        assert_eq!(
            r.status, g.status,
            "same journey #{i}: {}\n{}",
            r.body, g.body
        );
        assert_eq!(
            norm(&r, real2),
            norm(&g, "nobody-else"),
            "same journey #{i}"
        );
        assert_eq!(r.status, if i < 6 { 200 } else { 429 }, "#{i}");
        (rp, gp) = (r, g);
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_passwordless_wrong_codes_and_resend_are_the_same_for_real_and_unknown_usernames() {
    let s = limited_server(|_| {}).await;
    let mobile = "+14155550143";
    user(&s, REAL, PASSWORD, Some(mobile)).await;
    let (client_id, _) = app_with(&s, passwordless(), false).await;
    let (mut rb, rp) = identify(&s, &client_id, REAL).await;
    let (mut gb, gp) = identify(&s, &client_id, GHOST).await;
    same("code page", &rp, &gp);
    let wrong = wrong_code(&s, mobile).await;
    let (mut rp, mut gp) = (rp, gp);
    // Inside the cooldown, a resend is refused alike.
    (rp, gp) = both(
        &s,
        "early resend",
        "/login/resend",
        (&mut rb, &rp),
        (&mut gb, &gp),
        &[],
    )
    .await;
    assert_eq!(rp.status, 429);
    for i in 1..=6 {
        (rp, gp) = both(
            &s,
            &format!("wrong code #{i}"),
            "/login/code",
            (&mut rb, &rp),
            (&mut gb, &gp),
            &[("code", &wrong)],
        )
        .await;
    }
    assert!(rp.body.contains("Too many wrong codes"), "{}", rp.body);
    // The code is used up: "Resend code" starts a new one with fresh attempts (no
    // cooldown), for the real account and the unknown username alike.
    (rp, gp) = both(
        &s,
        "resend after too many",
        "/login/resend",
        (&mut rb, &rp),
        (&mut gb, &gp),
        &[],
    )
    .await;
    assert_eq!(rp.status, 200, "{}", rp.body);
    let wrong = wrong_code(&s, mobile).await;
    (rp, gp) = both(
        &s,
        "wrong code after the resend",
        "/login/code",
        (&mut rb, &rp),
        (&mut gb, &gp),
        &[("code", &wrong)],
    )
    .await;
    assert!(rp.body.contains("4 attempts left"), "{}", rp.body);
    // A live code's resend after the cooldown keeps its attempts, alike.
    s.clock.advance(31);
    (rp, gp) = both(
        &s,
        "resend after the cooldown",
        "/login/resend",
        (&mut rb, &rp),
        (&mut gb, &gp),
        &[],
    )
    .await;
    assert_eq!(rp.status, 200);
    (rp, gp) = both(
        &s,
        "wrong code after the second resend",
        "/login/code",
        (&mut rb, &rp),
        (&mut gb, &gp),
        &[("code", "999999")],
    )
    .await;
    // And after the expiry (300 s), "expired" alike.
    s.clock.advance(301);
    (rp, _) = both(
        &s,
        "expired",
        "/login/code",
        (&mut rb, &rp),
        (&mut gb, &gp),
        &[("code", "999999")],
    )
    .await;
    assert!(rp.body.contains("expired"), "{}", rp.body);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_passwordless_lockout_is_not_shown_before_anything_is_proven() {
    let s = limited_server(|c| c.limits.lockout.after_failures = 3).await;
    let mobile = "+14155550144";
    let uid = user(&s, REAL, PASSWORD, Some(mobile)).await;
    let (client_id, _) = app_with(&s, passwordless(), false).await;
    let (mut rb, mut rp) = identify(&s, &client_id, REAL).await;
    let (mut gb, mut gp) = identify(&s, &client_id, GHOST).await;
    let wrong = wrong_code(&s, mobile).await;
    // The third wrong code locks the real account; neither page says so.
    for i in 1..=4 {
        (rp, gp) = both(
            &s,
            &format!("wrong code #{i}"),
            "/login/code",
            (&mut rb, &rp),
            (&mut gb, &gp),
            &[("code", &wrong)],
        )
        .await;
        assert_eq!(rp.status, 422, "#{i}: {}", rp.body);
    }
    let stored = s.state().store.get_user(&uid).await.unwrap().unwrap();
    assert!(stored.is_locked(s.state().now()), "the account did lock");
    // The page again, a resend, the right code, and a new journey: all alike.
    let r = rb.get(&s.url("/login")).await;
    let g = gb.get(&s.url("/login")).await;
    same("refresh", &r, &g);
    (rp, gp) = both(
        &s,
        "resend",
        "/login/resend",
        (&mut rb, &r),
        (&mut gb, &g),
        &[],
    )
    .await;
    let right = code_in(&s.last_text_to(mobile).await.unwrap(), 6);
    (rp, gp) = both(
        &s,
        "the right code",
        "/login/code",
        (&mut rb, &rp),
        (&mut gb, &gp),
        &[("code", &right)],
    )
    .await;
    assert_eq!(
        rp.status, 422,
        "a locked account's right code does not sign in"
    );
    let _ = gp;
    let (_, r) = identify(&s, &client_id, REAL).await;
    let (_, g) = identify(&s, &client_id, GHOST).await;
    same("new journey while locked", &r, &g);
    assert!(!r.body.contains("locked"), "{}", r.body);
    s.stop().await;
}
