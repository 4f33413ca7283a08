//! Abuse protection against the real server: the per-number send limit shared by two
//! processes, lockout across verifications (and unlock), the prefix-velocity guard, the
//! destination rules, the hourly budget breaker and the password delay.

use idgate::config::Config;
use idgate_core::application::LoginFlow;
use idgate_core::user::UserStatus;
use serde_json::{Value, json};

use crate::fake_d7::{self, FakeGateway, Fault};
use crate::harness::{TestDb, TestServer, code_in, drop_pg};
use crate::oidc::{Browser, app_with, authorize_url, user};
use crate::process::{cli, spawn_server_env};

/// A server whose issuer is its own address, with the limits on (the harness turns
/// them off) and adjusted by `adjust`.
async fn limited(adjust: impl FnOnce(&mut Config) + Send + 'static) -> TestServer {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    TestServer::start_with(move |c| {
        c.server.listen = format!("127.0.0.1:{port}").parse().unwrap();
        c.server.issuer = format!("http://127.0.0.1:{port}");
        c.limits.enabled = true;
        adjust(c);
    })
    .await
}

async fn send(s: &TestServer, app: &(String, String), to: &str) -> reqwest::Response {
    s.http
        .post(s.url("/api/v1/verifications"))
        .basic_auth(&app.0, Some(&app.1))
        .json(&json!({"to": to, "channel": "sms"}))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_share_the_per_number_send_limit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = TestDb::new().await;
    let app = cli(
        d,
        &db,
        &[
            "app",
            "add",
            "--name",
            "Shop",
            "--redirect-uri",
            "https://shop.example.com/cb",
        ],
    );
    let field = |name: &str| {
        app.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .to_string()
    };
    let (client_id, secret) = (field("client_id: "), field("client_secret: "));
    // Default limits (5 sends per number per 10 minutes), both nodes on one database.
    let on = [("IDGATE_LIMITS__ENABLED", "true")];
    let a = spawn_server_env(d, &db, &on);
    let b = spawn_server_env(d, &db, &on);
    let http = reqwest::Client::new();
    let to = "+14155550177";
    let issue = |base: String, to: &'static str| {
        http.post(format!("{base}/api/v1/verifications"))
            .basic_auth(&client_id, Some(&secret))
            .json(&json!({"to": to, "channel": "sms"}))
            .send()
    };
    for i in 0..5 {
        let base = if i % 2 == 0 { a.base() } else { b.base() };
        let r = issue(base, to).await.unwrap();
        assert_eq!(r.status(), 201, "send {} was refused", i + 1);
    }
    // The sixth is refused whichever node gets it.
    for base in [a.base(), b.base()] {
        let r = issue(base, to).await.unwrap();
        assert_eq!(r.status(), 429);
        let retry: i64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=600).contains(&retry), "{retry}");
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "application/problem+json"
        );
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["type"], "urn:idgate:problem:rate_limited");
        assert_eq!(v["rule"], "sends_per_number");
        assert!(!v.to_string().contains("4155550177"), "{v}");
    }
    // Another number is not affected.
    assert_eq!(issue(b.base(), "+14155550178").await.unwrap().status(), 201);
    drop(a);
    drop(b);
    drop_pg(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_after_wrong_codes_across_verifications_refuses_the_right_code_until_unlocked() {
    let s = limited(|c| c.limits.lockout.after_failures = 7).await;
    let mobile = "+14155550131";
    let uid = user(&s, "lou", "correct horse battery", Some(mobile)).await;
    let (client_id, _) = app_with(&s, LoginFlow::default(), false).await;
    let mut b = Browser::new();
    b.get(&authorize_url(&s, &client_id, &[])).await;
    let page = b.get(&s.url("/login")).await;
    let mut page = b
        .post(
            &s.url("/login/password"),
            &[
                ("csrf", &page.csrf()),
                ("username", "lou"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    // Verification 1: five wrong codes use it up (failures 1–5).
    for _ in 0..5 {
        page = b
            .post(
                &s.url("/login/code"),
                &[("csrf", &page.csrf()), ("code", "000000")],
            )
            .await;
        assert_eq!(page.status, 422, "{}", page.body);
    }
    // A new code (verification 2), then two more wrong ones: the seventh failure locks.
    page = b
        .post(&s.url("/login/resend"), &[("csrf", &page.csrf())])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let code = code_in(&s.last_text_to(mobile).await.unwrap(), 6);
    page = b
        .post(
            &s.url("/login/code"),
            &[("csrf", &page.csrf()), ("code", "000000")],
        )
        .await;
    assert_eq!(page.status, 422);
    let csrf = page.csrf();
    page = b
        .post(
            &s.url("/login/code"),
            &[("csrf", &csrf), ("code", "000000")],
        )
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("locked until"), "{}", page.body);
    let st = s.state();
    let u = st.store.get_user(&uid).await.unwrap().unwrap();
    assert_eq!(u.status, UserStatus::Locked);
    assert_eq!(u.locked_until, Some(st.now() + 900));
    let audit = st.store.list_audit(20, None).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "user.locked" && e.actor == "system")
    );

    // The right code (of the still-pending verification 2) is refused while locked.
    page = b
        .post(&s.url("/login/code"), &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("locked until"));
    assert!(page.location.is_none());

    // An admin unlocks (the CLI, on the same database); the same code now signs in.
    cli(s._dir.path(), &s.db, &["user", "unlock", "lou"]);
    let u = st.store.get_user(&uid).await.unwrap().unwrap();
    assert_eq!((u.status, u.locked_until), (UserStatus::Active, None));
    page = b
        .post(&s.url("/login/code"), &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(
        page.location
            .as_deref()
            .is_some_and(|l| l.starts_with("http://127.0.0.1:9/cb?code=")),
        "{:?}",
        page.location
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_to_one_prefix_trips_the_velocity_guard_and_other_prefixes_still_work() {
    // Only the prefix guard is under test: the per-number limit stays at its default.
    let s = limited(|_| {}).await;
    let app = s.app("Pump").await;
    let mut statuses = Vec::new();
    for i in 0..50 {
        let r = send(&s, &app, &format!("+1415555{:04}", 100 + i)).await;
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["type"], "urn:idgate:problem:destination_paused", "{v}");
        }
    }
    // The default: 20 distinct numbers per prefix in 10 minutes, then the prefix is blocked.
    assert!(statuses[..20].iter().all(|s| *s == 201), "{statuses:?}");
    assert!(statuses[20..].iter().all(|s| *s == 429), "{statuses:?}");
    // A number that got through before is blocked now too; another prefix is not.
    assert_eq!(send(&s, &app, "+14155550100").await.status(), 429);
    assert_eq!(send(&s, &app, "+14085550100").await.status(), 201);
    let st = s.state();
    let audit = st.store.list_audit(50, None).await.unwrap();
    let blocked: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "limits.prefix_blocked")
        .collect();
    assert_eq!(blocked.len(), 1, "one audit event per block");
    assert_eq!(blocked[0].target.as_deref(), Some("sms:+1415555"));
    let metrics = s.metrics().await;
    assert!(metrics.contains("idgate_prefix_blocks_total"), "{metrics}");
    // After the block and the window, the prefix works again.
    s.clock.advance(3601);
    assert_eq!(send(&s, &app, "+14155550199").await.status(), 201);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destination_rules_and_the_hourly_budget_breaker() {
    let s = limited(|c| {
        c.limits.sms.hourly_budget = 3;
        c.limits.sms.deny_countries = vec!["GB".into()];
    })
    .await;
    let app = s.app("Budget").await;
    // Toll-free and (for SMS) fixed-line numbers are refused; US numbers, which
    // libphonenumber calls FIXED_LINE_OR_MOBILE, are not.
    for (to, why) in [("+18005550199", "toll-free"), ("+447400123456", "blocked")] {
        let r = send(&s, &app, to).await;
        assert_eq!(r.status(), 422, "{to}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["field"], "to");
        assert!(v["detail"].as_str().unwrap().contains(why), "{v}");
    }
    for i in 0..3 {
        assert_eq!(
            send(&s, &app, &format!("+1212555{:04}", 100 + i))
                .await
                .status(),
            201
        );
    }
    let r = send(&s, &app, "+13125550100").await;
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "urn:idgate:problem:send_budget_exhausted");
    s.clock.advance(3600);
    assert_eq!(send(&s, &app, "+13125550100").await.status(), 201);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_geographic_numbers_are_refused_for_sms_by_default_and_listed_as_001() {
    // Satellite (+881 Iridium, +870 Inmarsat) and international-network (+882) numbers
    // that libphonenumber calls mobile.
    let numbers = ["+881612345678", "+870301234567", "+8823421234"];
    let s = limited(|_| {}).await;
    let app = s.app("Satellite").await;
    for to in numbers {
        let (status, v) = send_via(&s, &app, to, "sms", "none").await;
        assert_eq!(status, 422, "{to}: {v}");
        assert_eq!(v["field"], "to");
        assert!(
            v["detail"].as_str().unwrap().contains("non-geographic"),
            "{v}"
        );
        assert!(!v.to_string().contains(&to[4..]), "{v}");
        // WhatsApp sends to them unless told otherwise.
        let (status, v) = send_via(&s, &app, to, "whatsapp", "none").await;
        assert_eq!(status, 201, "{to}: {v}");
    }
    s.stop().await;

    // Allowed explicitly for SMS; denied for WhatsApp by their list name, 001.
    let s = limited(|c| {
        c.limits.sms.allow_non_geographic = true;
        c.limits.whatsapp.deny_countries = vec!["001".into()];
    })
    .await;
    let app = s.app("Satellite").await;
    for to in numbers {
        let (status, v) = send_via(&s, &app, to, "sms", "none").await;
        assert_eq!(status, 201, "{to}: {v}");
        let (status, v) = send_via(&s, &app, to, "whatsapp", "none").await;
        assert_eq!(status, 422, "{to}: {v}");
        assert!(v["detail"].as_str().unwrap().contains("blocked"), "{v}");
    }
    s.stop().await;
}

/// A Verify API send on `channel`, falling back to `fallback`.
async fn send_via(
    s: &TestServer,
    app: &(String, String),
    to: &str,
    channel: &str,
    fallback: &str,
) -> (u16, Value) {
    let r = s
        .http
        .post(s.url("/api/v1/verifications"))
        .basic_auth(&app.0, Some(&app.1))
        .json(&json!({"to": to, "channel": channel, "fallback_channel": fallback}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fallback_send_meets_the_rules_and_budget_of_the_channel_it_goes_out_on() {
    // WhatsApp (requested) allows every country; SMS (the fallback) denies GB and has a
    // budget of 2 codes an hour.
    let s = limited(|c| {
        c.limits.sms.deny_countries = vec!["GB".into()];
        c.limits.sms.hourly_budget = 2;
    })
    .await;
    let wa = FakeGateway::start().await;
    wa.fail_always(Some(Fault::Status401));
    let (st, v) = admin_post(
        &s,
        "/api/v1/channels/whatsapp/providers",
        json!({"name": "wa", "kind": "d7-whatsapp", "settings": {
            "originator": "+971501234567", "template_id": "otp_test", "base_url": wa.base},
            "secrets": {"api_token": fake_d7::TOKEN}}),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    let app = s.app("Fallback").await;

    // WhatsApp cannot deliver; SMS may not send to GB, so the fallback is refused as a
    // destination rule, although WhatsApp itself accepts the number.
    let (st, v) = send_via(&s, &app, "+447400123456", "whatsapp", "sms").await;
    assert_eq!(st, 422, "{v}");
    assert_eq!(v["field"], "to");
    assert!(v["detail"].as_str().unwrap().contains("blocked"), "{v}");
    assert_eq!(wa.received().len(), 1, "WhatsApp was tried first");

    // A fallback that goes out by SMS counts against the SMS budget...
    let (st, v) = send_via(&s, &app, "+12125550100", "whatsapp", "sms").await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        (v["sent_via"].as_str(), v["fallback_used"].as_bool()),
        (Some("sms"), Some(true))
    );
    assert_eq!(send(&s, &app, "+12125550101").await.status(), 201);
    // ...so with the budget spent, the next fallback to SMS trips the SMS breaker.
    let (st, v) = send_via(&s, &app, "+12125550102", "whatsapp", "sms").await;
    assert_eq!(st, 503, "{v}");
    assert_eq!(v["type"], "urn:idgate:problem:send_budget_exhausted");
    assert_eq!(v["channel"], "sms");
    assert_eq!(send(&s, &app, "+12125550103").await.status(), 503);
    // Nothing went out by SMS past the budget.
    let sent = |to: &'static str| {
        let url = s.url(&format!("/dev/outbox.json?to=%2B{}", &to[1..]));
        let http = s.http.clone();
        async move {
            let v: Value = http.get(url).send().await.unwrap().json().await.unwrap();
            v["messages"].as_array().unwrap().len()
        }
    };
    assert_eq!(
        sent("+12125550100").await,
        1,
        "the fallback went out by SMS"
    );
    assert_eq!(sent("+12125550102").await, 0);
    assert_eq!(sent("+447400123456").await, 0);
    s.stop().await;
}

async fn admin_post(s: &TestServer, path: &str, body: Value) -> (u16, Value) {
    let r = s
        .http
        .post(s.url(path))
        .bearer_auth(s.admin_token().await)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_meet_a_progressive_delay_with_a_friendly_page() {
    let s = limited(|_| {}).await;
    user(&s, "pat", "correct horse battery", Some("+14155550132")).await;
    let (client_id, _) = app_with(&s, LoginFlow::default(), false).await;
    let mut b = Browser::new();
    b.get(&authorize_url(&s, &client_id, &[])).await;
    let mut page = b.get(&s.url("/login")).await;
    // Three wrong passwords are answered normally (default password_delay_after = 3).
    for _ in 0..3 {
        page = b
            .post(
                &s.url("/login/password"),
                &[
                    ("csrf", &page.csrf()),
                    ("username", "pat"),
                    ("password", "wrong"),
                ],
            )
            .await;
        assert_eq!(page.status, 401, "{}", page.body);
    }
    // The fourth comes too soon: even the right password waits.
    let csrf = page.csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("username", "pat"),
        ("password", "correct horse battery"),
    ];
    page = b.post(&s.url("/login/password"), &form).await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.body.contains("Too many attempts"), "{}", page.body);
    // An unknown username is delayed the same way (no account enumeration).
    for expected in [401, 401, 401, 429] {
        let p = b
            .post(
                &s.url("/login/password"),
                &[("csrf", &csrf), ("username", "nobody"), ("password", "x")],
            )
            .await;
        assert_eq!(p.status, expected, "{}", p.body);
    }
    s.clock.advance(2);
    page = b.post(&s.url("/login/password"), &form).await;
    assert_eq!(page.status, 200, "after the delay: {}", page.body);
    s.stop().await;
}
