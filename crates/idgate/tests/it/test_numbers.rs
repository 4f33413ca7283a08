//! Test numbers end to end: a config entry signs in through the sign-in pages and
//! passes the Verify API with its fixed code while the fake D7 gateway receives
//! nothing; an application the entry does not name gets a normal provider send; each
//! use is audited and logged as a `test-number` message; the send limits apply (the 6th
//! send in the window is a 429). Entries saved through the admin API and the console
//! are write-only; production mode refuses an entry without `allow_in_production`
//! (the binary exits with the message; the API answers 422).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use idgate::config::{Mode, Secret, TestNumberConfig};
use idgate_core::application::{Application, LoginFlow};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::admin_api::Api;
use crate::console::{Browser as ConsoleBrowser, console_sign_in};
use crate::fake_d7::{self, FakeGateway};
use crate::harness::{MASTER, TestServer};
use crate::oidc::{Browser, REDIRECT, authorize_url, query_param, user};
use crate::oidc_flows::PASSWORD;

const REVIEW_APP: &str = "app_review";
const REVIEW_NUMBER: &str = "+14155550160";
const REVIEW_CODE: &str = "246810";
const REVIEW_SECRET: &str = "review-secret-0123456789";

fn entry(number: &str, code: &str, apps: &[&str], allow: bool) -> TestNumberConfig {
    TestNumberConfig {
        number: number.into(),
        code: Secret(SecretString::from(code)),
        applications: apps.iter().map(|a| a.to_string()).collect(),
        allow_in_production: allow,
    }
}

/// A server whose issuer is its own address, with the review test number configured
/// for `app_review` only, adjusted by `adjust`.
async fn server_with(
    adjust: impl FnOnce(&mut idgate::config::Config) + Send + 'static,
) -> TestServer {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    TestServer::start_with(move |c| {
        c.server.listen = format!("127.0.0.1:{port}").parse().unwrap();
        c.server.issuer = format!("http://127.0.0.1:{port}");
        c.otp.test_numbers = vec![entry(REVIEW_NUMBER, REVIEW_CODE, &[REVIEW_APP], false)];
        adjust(c);
    })
    .await
}

/// Limits on, and sends go to the fake D7 gateway (no dev outbox).
async fn server_with_d7() -> TestServer {
    server_with(|c| {
        c.limits.enabled = true;
        c.dev_outbox.enabled = Some(false);
    })
    .await
}

/// The fake D7 gateway as the SMS provider, and the application the config entry names
/// (with the client id the config uses).
async fn d7_and_review_app(s: &TestServer, api: &Api<'_>) -> FakeGateway {
    let g = FakeGateway::start().await;
    let r = api
        .post(
            "/api/v1/channels/sms/providers",
            json!({"name": "d7", "kind": "d7-sms",
                   "settings": {"originator": "idgate", "base_url": g.base},
                   "secrets": {"api_token": fake_d7::TOKEN}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let st = s.state();
    st.store
        .create_application(&Application {
            id: idgate_core::new_id(),
            client_id: REVIEW_APP.into(),
            client_secret_hash: Some(st.keys.token_hash(REVIEW_SECRET)),
            name: "Review".into(),
            redirect_uris: vec![REDIRECT.into()],
            post_logout_redirect_uris: vec![],
            login_flow: LoginFlow::default(),
            otp_policy: None,
            created_at: st.now(),
            updated_at: st.now(),
        })
        .await
        .unwrap();
    g
}

async fn start(s: &TestServer, client: (&str, &str), to: &str) -> reqwest::Response {
    s.http
        .post(s.url("/api/v1/verifications"))
        .basic_auth(client.0, Some(client.1))
        .json(&json!({"to": to, "channel": "sms"}))
        .send()
        .await
        .unwrap()
}

async fn check(s: &TestServer, client: (&str, &str), id: &str, code: &str) -> Value {
    let r = s
        .http
        .post(s.url(&format!("/api/v1/verifications/{id}/check")))
        .basic_auth(client.0, Some(client.1))
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn sends_to(g: &FakeGateway, number: &str) -> usize {
    let digits = number.trim_start_matches('+');
    g.received()
        .iter()
        .filter(|r| r.body.contains(digits))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_numbers_sign_in_and_verify_with_the_fixed_code_never_reach_d7_and_count_against_limits()
 {
    let s = server_with_d7().await;
    let api = Api::new(&s).await;
    let g = d7_and_review_app(&s, &api).await;
    let review = (REVIEW_APP, REVIEW_SECRET);

    // The Verify API: the fixed code approves; a wrong code is a wrong attempt as usual.
    let r = start(&s, review, REVIEW_NUMBER).await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    let wrong = check(&s, review, &id, "111111").await;
    assert_eq!(wrong["status"], "pending", "{wrong}");
    assert_eq!(wrong["attempts_left"], 4, "{wrong}");
    let ok = check(&s, review, &id, REVIEW_CODE).await;
    assert_eq!(ok["status"], "approved", "{ok}");
    assert_eq!(g.received().len(), 0, "nothing reached the provider");

    // The message log: one delivered `test-number` message, recipient masked.
    let m = api
        .get(&format!("/api/v1/messages?verification_id={id}"))
        .await;
    let msgs = m.body["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 1, "{}", m.text);
    assert_eq!(msgs[0]["provider"], "test-number");
    assert_eq!(msgs[0]["status"], "delivered");
    assert!(!m.text.contains(&REVIEW_NUMBER[1..]), "{}", m.text);

    // An application the entry does not name: a normal send through D7, and the fixed
    // code is just a wrong code there.
    let other = s.app("Other").await;
    let r = start(&s, (&other.0, &other.1), REVIEW_NUMBER).await;
    assert_eq!(r.status(), 201);
    assert_eq!(sends_to(&g, REVIEW_NUMBER), 1);
    let v: Value = r.json().await.unwrap();
    let sent = g.received()[0].json();
    let text = sent["messages"][0]["content"].as_str().unwrap_or_default();
    if !text.contains(REVIEW_CODE) {
        let c = check(
            &s,
            (&other.0, &other.1),
            v["id"].as_str().unwrap(),
            REVIEW_CODE,
        )
        .await;
        assert_eq!(c["status"], "pending", "{c}");
    }

    // The sign-in pages: password, then the fixed code; nothing sent.
    user(&s, "reviewer", PASSWORD, Some(REVIEW_NUMBER)).await;
    let mut b = Browser::new();
    let p = b.get(&authorize_url(&s, REVIEW_APP, &[])).await;
    assert_eq!(p.location.as_deref(), Some("/login"), "{}", p.body);
    let page = b.get(&s.url("/login")).await;
    let code_page = b
        .post(
            &s.url("/login/password"),
            &[
                ("csrf", &page.csrf()),
                ("username", "reviewer"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(code_page.status, 200, "{}", code_page.body);
    let done = b
        .post(
            &s.url("/login/code"),
            &[("csrf", &code_page.csrf()), ("code", REVIEW_CODE)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let loc = done.location.unwrap();
    assert!(loc.starts_with(REDIRECT), "{loc}");
    assert!(query_param(&loc, "code").is_some(), "{loc}");
    assert_eq!(sends_to(&g, REVIEW_NUMBER), 1, "the sign-in sent nothing");

    // Each use is audited (the Verify API send and the sign-in's), never with the number.
    let a = api
        .get("/api/v1/audit-events?action=otp.test_number_used")
        .await;
    let events = a.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{}", a.text);
    assert!(events.iter().all(|e| e["target"].is_string()), "{}", a.text);
    assert!(!a.text.contains(&REVIEW_NUMBER[1..]), "{}", a.text);

    // Limits as usual: three sends so far (Verify API, the other app, the sign-in); the
    // default allows five per number in ten minutes, so the sixth is refused.
    for _ in 0..2 {
        assert_eq!(start(&s, review, REVIEW_NUMBER).await.status(), 201);
    }
    let r = start(&s, review, REVIEW_NUMBER).await;
    assert_eq!(r.status(), 429);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["rule"], "sends_per_number", "{v}");
    assert_eq!(g.received().len(), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_numbers_saved_through_the_admin_api_are_write_only_and_can_be_deleted() {
    let s = server_with_d7().await;
    let api = Api::new(&s).await;
    let g = d7_and_review_app(&s, &api).await;
    let number = "+14155550161";
    let code = "97531864";
    let path = "/api/v1/test-numbers";

    api.post(path, json!({"number": number, "code": "12a4"}))
        .await
        .problem(422, "code");
    api.post(path, json!({"number": number, "code": "123"}))
        .await
        .problem(422, "code");
    let bad = api
        .post(path, json!({"number": "+1 415 555 01", "code": code}))
        .await;
    bad.problem(422, "number");
    api.post(
        path,
        json!({"number": number, "code": code, "applications": ["app_nope"]}),
    )
    .await
    .problem(422, "applications[0]");
    api.post(path, json!({"number": number, "code": code, "extra": 1}))
        .await
        .problem(422, "extra");
    // A number the config file sets is changed there.
    api.post(path, json!({"number": REVIEW_NUMBER, "code": code}))
        .await
        .problem(409, "number");

    let r = api
        .post(path, json!({"number": number, "code": code}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["all_applications"], true);
    assert_eq!(r.body["source"], "admin");
    assert!(!r.text.contains(code), "{}", r.text);
    let list = api.get(path).await;
    let all = list.body["test_numbers"].as_array().unwrap();
    assert_eq!(all.len(), 2, "{}", list.text);
    assert_eq!(all[0]["number"], REVIEW_NUMBER);
    assert_eq!(all[0]["source"], "config");
    assert_eq!(all[0]["applications"], json!([REVIEW_APP]));
    assert_eq!(all[1]["number"], number);
    assert!(!list.text.contains(code) && !list.text.contains(REVIEW_CODE));
    let saved = api
        .get("/api/v1/audit-events?action=test_number.saved")
        .await;
    assert_eq!(saved.body["events"].as_array().unwrap().len(), 1);
    assert!(!saved.text.contains(code), "{}", saved.text);

    // No applications named: every application gets the fixed code, nothing is sent.
    let other = s.app("Other").await;
    let r = start(&s, (&other.0, &other.1), number).await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    let id = v["id"].as_str().unwrap();
    // A resend after the cooldown "sends" the same fixed code, again to no provider.
    s.clock.advance(31);
    let r = s
        .http
        .post(s.url(&format!("/api/v1/verifications/{id}/resend")))
        .basic_auth(&other.0, Some(&other.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let c = check(&s, (&other.0, &other.1), id, code).await;
    assert_eq!(c["status"], "approved", "{c}");
    assert_eq!(g.received().len(), 0);
    let used = api
        .get("/api/v1/audit-events?action=otp.test_number_used")
        .await;
    assert_eq!(
        used.body["events"].as_array().unwrap().len(),
        2,
        "{}",
        used.text
    );

    // Deleted: the next send is a real one.
    let d = api.delete("/api/v1/test-numbers/%2B14155550161").await;
    assert_eq!(d.status, 204, "{}", d.text);
    let d = api.delete("/api/v1/test-numbers/%2B14155550161").await;
    assert_eq!(d.status, 404, "{}", d.text);
    assert_eq!(start(&s, (&other.0, &other.1), number).await.status(), 201);
    assert_eq!(sends_to(&g, number), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_mode_takes_test_numbers_only_with_allow_in_production() {
    let s = TestServer::start_with(|c| {
        c.mode = Mode::Production;
        c.server.issuer = "https://id.example.com".into();
        c.limits.enabled = true;
        c.otp.test_numbers = vec![entry("+14155550162", "2468", &[], true)];
    })
    .await;
    let api = Api::new(&s).await;
    let path = "/api/v1/test-numbers";
    api.post(path, json!({"number": "+14155550163", "code": "8642"}))
        .await
        .problem(422, "allow_in_production");
    let r = api
        .post(
            path,
            json!({"number": "+14155550163", "code": "8642", "allow_in_production": true}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["active"], true);
    let list = api.get(path).await;
    assert_eq!(list.body["test_numbers"].as_array().unwrap().len(), 2);
    s.stop().await;
}

/// `idgate serve` in production mode with an `idgate.toml` holding `entry`; returns the
/// exit code and stderr (None: it started and was stopped).
fn serve_production(entry: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("idgate.toml"),
        format!(
            "mode = \"production\"\n[server]\nissuer = \"https://id.example.com\"\nlisten = \"127.0.0.1:0\"\n\n[[otp.test_numbers]]\n{entry}\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_idgate"))
        .arg("serve")
        .current_dir(dir.path())
        .env_remove("IDGATE_CONFIG")
        .env("IDGATE_DATA_DIR", dir.path().join("data"))
        .env("IDGATE_SECRETS__MASTER_SECRET", MASTER)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status.code(), err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return (None, String::new());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_binary_refuses_to_start_in_production_with_a_test_number_lacking_allow_in_production() {
    let (code, err) = serve_production("number = \"+14155550164\"\ncode = \"135790\"");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("otp.test_numbers[0]") && err.contains("allow_in_production = true"),
        "{err}"
    );
    assert!(
        !err.contains("135790") && !err.contains("4155550164"),
        "{err}"
    );
    // A bad code is named by its key, the value never shown.
    let (code, err) =
        serve_production("number = \"+14155550164\"\ncode = \"13a\"\nallow_in_production = true");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("otp.test_numbers[0].code") && !err.contains("13a"),
        "{err}"
    );
    // Unknown keys are refused too.
    let (code, err) = serve_production(
        "number = \"+14155550164\"\ncode = \"135790\"\nallow_in_production = true\napps = []",
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("apps"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_lists_test_numbers_with_a_warning_and_saves_them_write_only() {
    let s = server_with(|_| {}).await;
    let api = Api::new(&s).await;
    let admin_mobile = "+14155550165";
    let a = api
        .post("/api/v1/users", json!({"username": "root", "password": PASSWORD, "mobile": admin_mobile, "mobile_verified": true, "is_admin": true}))
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let mut b = ConsoleBrowser::new(&s);
    let overview = console_sign_in(&s, &mut b, "root", PASSWORD, admin_mobile).await;
    assert!(
        overview.body.contains("href=\"/console/test-numbers\""),
        "{}",
        overview.body
    );

    let p = b.get("/console/test-numbers").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body
            .contains("Warning: a test number signs in with a fixed code"),
        "{}",
        p.body
    );
    assert!(
        p.body.contains(REVIEW_NUMBER) && p.body.contains(REVIEW_APP),
        "{}",
        p.body
    );
    assert!(
        p.body.contains("change it in the config file"),
        "{}",
        p.body
    );
    assert!(!p.body.contains(REVIEW_CODE));

    let number = "+14155550166";
    let code = "86420975";
    let bad = b
        .post(
            "/console/test-numbers",
            &[("csrf", &p.csrf()), ("number", number), ("code", "1a")],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(
        bad.body.contains("code must be 4 to 10 digits"),
        "{}",
        bad.body
    );
    let saved = b
        .post(
            "/console/test-numbers",
            &[
                ("csrf", &p.csrf()),
                ("number", number),
                ("code", code),
                ("applications", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, 201, "{}", saved.body);
    assert!(saved.body.contains(number) && saved.body.contains("every application"));
    assert!(!saved.body.contains(code), "the code is write-only");
    let list = api.get("/api/v1/test-numbers").await;
    assert_eq!(
        list.body["test_numbers"].as_array().unwrap().len(),
        2,
        "{}",
        list.text
    );

    let gone = b
        .post(
            "/console/test-numbers/delete",
            &[("csrf", &p.csrf()), ("number", number)],
        )
        .await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    assert!(gone.body.contains("Test number deleted.") && !gone.body.contains(number));
    let list = api.get("/api/v1/test-numbers").await;
    assert_eq!(
        list.body["test_numbers"].as_array().unwrap().len(),
        1,
        "{}",
        list.text
    );
    s.stop().await;
}
