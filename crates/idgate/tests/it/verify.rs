//! The OTP engine through the Verify API: issue, deliver to the dev outbox, check.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestServer, code_in};

const TO: &str = "+14155550100";

struct Api<'a> {
    s: &'a TestServer,
    id: String,
    secret: String,
}

impl<'a> Api<'a> {
    async fn new(s: &'a TestServer) -> Self {
        let (id, secret) = s.app("Shop").await;
        Self { s, id, secret }
    }

    async fn post(
        &self,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value, reqwest::header::HeaderMap) {
        let r = self
            .s
            .http
            .post(self.s.url(path))
            .basic_auth(&self.id, Some(&self.secret))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        (status, r.json().await.unwrap_or(Value::Null), headers)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .s
            .http
            .get(self.s.url(path))
            .basic_auth(&self.id, Some(&self.secret))
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    async fn start(&self, to: &str) -> Value {
        let (st, v, _) = self
            .post("/api/v1/verifications", json!({"to": to, "channel": "sms"}))
            .await;
        assert_eq!(st, 201, "{v}");
        v
    }

    async fn check(&self, id: &str, code: &str) -> Value {
        let (st, v, _) = self
            .post(
                &format!("/api/v1/verifications/{id}/check"),
                json!({"code": code}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        v
    }

    /// A check that must be refused because the verification is over: 409
    /// `verification_not_pending` naming the status, never `valid: true`.
    async fn check_refused(&self, id: &str, code: &str, status: &str) -> Value {
        let (st, v, _) = self
            .post(
                &format!("/api/v1/verifications/{id}/check"),
                json!({"code": code}),
            )
            .await;
        assert_eq!(st, 409, "{v}");
        assert_eq!(
            v["type"], "urn:idgate:problem:verification_not_pending",
            "{v}"
        );
        assert_eq!(v["verification_status"], status, "{v}");
        assert_ne!(v["valid"], true, "{v}");
        v
    }

    async fn code(&self, to: &str, len: usize) -> String {
        let text = self
            .s
            .last_text_to(to)
            .await
            .expect("a message in the outbox");
        code_in(&text, len)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_deliver_check_approve() {
    let s = TestServer::start().await;
    let api = Api::new(&s).await;
    let v = api.start("(415) 555-0100").await;
    assert_eq!(v["status"], "pending");
    assert_eq!(v["channel"], "sms");
    assert_eq!(v["to"], "••••••0100", "the number is masked");
    assert!(v["expires_at"].as_str().unwrap().ends_with('Z'));
    let id = v["id"].as_str().unwrap();

    let text = s.last_text_to(TO).await.unwrap();
    assert!(
        text.starts_with("Your one-time password for the Shop is ")
            && text.ends_with("This expires in 5 minutes."),
        "WSO2's default text: {text}"
    );
    let code = code_in(&text, 6);
    assert_eq!(code.len(), 6);

    let r = api.check(id, &code).await;
    assert_eq!(r["status"], "approved");
    assert_eq!(r["valid"], true);
    assert!(!r.to_string().contains(&code), "the code is never echoed");
    // A code approves once: the same (right) code again is refused, and so is any other.
    let v = api.check_refused(id, &code, "approved").await;
    assert!(
        v["detail"].as_str().unwrap().contains("approves once"),
        "{v}"
    );
    let wrong = if code == "000000" { "111111" } else { "000000" };
    api.check_refused(id, wrong, "approved").await;
    api.check_refused(id, &code, "approved").await;
    // Reading it still says approved.
    let (st, v) = api.get(&format!("/api/v1/verifications/{id}")).await;
    assert_eq!(st, 200);
    assert_eq!(v["status"], "approved");
    let (st, _, _) = api
        .post(&format!("/api/v1/verifications/{id}/resend"), json!({}))
        .await;
    assert_eq!(st, 409, "an approved verification cannot be resent");

    // The message log has the text without the code.
    let msgs = s
        .state()
        .store
        .list_messages(&idgate_core::store::MessageFilter {
            verification_id: Some(id.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(msgs.len(), 1);
    assert!(
        !msgs[0].body_redacted.contains(&code),
        "{}",
        msgs[0].body_redacted
    );
    assert_eq!(msgs[0].provider, "dev-outbox");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_use_up_attempts_then_the_code_is_dead() {
    let s = TestServer::start().await;
    let api = Api::new(&s).await;
    let v = api.start(TO).await;
    let id = v["id"].as_str().unwrap();
    let code = api.code(TO, 6).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (1..5).rev() {
        let r = api.check(id, wrong).await;
        assert_eq!(r["status"], "pending");
        assert_eq!(r["valid"], false);
        assert_eq!(r["attempts_left"], left);
        assert!(
            r["message"]
                .as_str()
                .unwrap()
                .contains(&format!("{left} attempt")),
            "{r}"
        );
    }
    let r = api.check(id, wrong).await;
    assert_eq!(r["status"], "max_attempts_reached");
    assert_eq!(r["valid"], false);
    // Dead even with the right code: refused like any submit to a finished verification.
    api.check_refused(id, &code, "max_attempts_reached").await;
    api.check_refused(id, wrong, "max_attempts_reached").await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_expire_on_the_injected_clock() {
    let s = TestServer::start().await;
    let api = Api::new(&s).await;
    let id = api.start(TO).await["id"].as_str().unwrap().to_string();
    let code = api.code(TO, 6).await;
    s.clock.advance(301);
    api.check_refused(&id, &code, "expired").await;
    let (_, v, _) = api
        .post(&format!("/api/v1/verifications/{id}/resend"), json!({}))
        .await;
    assert_eq!(v["verification_status"], "expired", "{v}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resend_respects_cooldown_and_limit_and_replaces_the_code() {
    let s = TestServer::start().await;
    let api = Api::new(&s).await;
    let id = api.start(TO).await["id"].as_str().unwrap().to_string();
    let first = api.code(TO, 6).await;
    let path = format!("/api/v1/verifications/{id}/resend");

    let (st, v, h) = api.post(&path, json!({})).await;
    assert_eq!(st, 429, "{v}");
    assert_eq!(v["type"], "urn:idgate:problem:resend_cooldown");
    let retry: i64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");

    for n in 1..=3 {
        s.clock.advance(30);
        let (st, v, _) = api.post(&path, json!({})).await;
        assert_eq!(st, 200, "resend {n}: {v}");
        assert_eq!(v["resends_left"], 3 - n);
    }
    let latest = api.code(TO, 6).await;
    s.clock.advance(30);
    let (st, v, _) = api.post(&path, json!({})).await;
    assert_eq!(st, 429);
    assert_eq!(v["type"], "urn:idgate:problem:resend_limit_reached");

    if first != latest {
        let r = api.check(&id, &first).await;
        assert_eq!(r["status"], "pending", "the replaced code no longer works");
    }
    let r = api.check(&id, &latest).await;
    assert_eq!(r["status"], "approved");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_resend_same_code_and_alphanumeric_codes() {
    let s = TestServer::start().await;
    let token = s.admin_token().await;
    let r = s
        .http
        .put(s.url("/api/v1/otp-policy"))
        .bearer_auth(&token)
        .json(&json!({"length": 8, "alphanumeric": true, "resend_code": "same", "resend_cooldown": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let api = Api::new(&s).await;
    let id = api.start(TO).await["id"].as_str().unwrap().to_string();
    let code = api.code(TO, 8).await;
    assert!(
        code.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && code.len() == 8,
        "{code}"
    );
    let (st, _, _) = api
        .post(&format!("/api/v1/verifications/{id}/resend"), json!({}))
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        api.code(TO, 8).await,
        code,
        "policy `same` resends the same code"
    );
    // Typed in lower case with a dash and spaces: still the code.
    let typed = format!(
        " {}-{} ",
        code[..4].to_lowercase(),
        code[4..].to_lowercase()
    );
    assert_eq!(api.check(&id, &typed).await["status"], "approved");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_correct_submissions_approve_exactly_once() {
    let s = Arc::new(TestServer::start().await);
    let (client_id, secret) = s.app("Shop").await;
    let api = Api {
        s: &s,
        id: client_id.clone(),
        secret: secret.clone(),
    };
    let id = api.start(TO).await["id"].as_str().unwrap().to_string();
    let code = api.code(TO, 6).await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (http, url, cid, sec, code) = (
            s.http.clone(),
            s.url(&format!("/api/v1/verifications/{id}/check")),
            client_id.clone(),
            secret.clone(),
            code.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .basic_auth(cid, Some(sec))
                .json(&json!({"code": code}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }));
    }
    let (mut approved, mut refused) = (0, 0);
    for t in tasks {
        let (st, v) = t.await.unwrap();
        match st {
            200 => {
                assert_eq!(v["status"], "approved", "{v}");
                assert_eq!(v["valid"], true, "{v}");
                approved += 1;
            }
            409 => {
                assert_eq!(v["verification_status"], "approved", "{v}");
                assert_ne!(v["valid"], true, "{v}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {v}"),
        }
    }
    assert_eq!(
        (approved, refused),
        (1, 49),
        "one submit proves the number; the other 49 are told it is over"
    );
    // A later right code is refused too, and the verification still reads approved.
    api.check_refused(&id, &code, "approved").await;
    // Exactly one transition happened: the store recorded one approval and no attempt.
    let v = s
        .state()
        .store
        .get_verification(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.status.as_str(), "approved");
    assert_eq!(v.attempts, 0);
    assert!(v.finished_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_wrong_submissions_count_exactly_max_attempts() {
    let s = TestServer::start().await;
    let (client_id, secret) = s.app("Shop").await;
    let api = Api {
        s: &s,
        id: client_id.clone(),
        secret: secret.clone(),
    };
    let id = api.start(TO).await["id"].as_str().unwrap().to_string();
    let code = api.code(TO, 6).await;
    let wrong = if code == "999999" { "888888" } else { "999999" };
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (http, url, cid, sec) = (
            s.http.clone(),
            s.url(&format!("/api/v1/verifications/{id}/check")),
            client_id.clone(),
            secret.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .basic_auth(cid, Some(sec))
                .json(&json!({"code": wrong}))
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()
        }));
    }
    let (mut pending, mut last, mut refused) = (0, 0, 0);
    for t in tasks {
        let v = t.await.unwrap();
        match (v["status"].as_str(), v["verification_status"].as_str()) {
            (Some("pending"), _) => pending += 1,
            (Some("max_attempts_reached"), _) => last += 1,
            (None, Some("max_attempts_reached")) => refused += 1,
            _ => panic!("unexpected answer {v}"),
        }
    }
    assert_eq!(
        (pending, last, refused),
        (4, 1, 195),
        "the first four wrong codes leave it pending, the fifth closes it, the rest are refused"
    );
    let v = s
        .state()
        .store
        .get_verification(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.attempts, 5);
    assert_eq!(v.status.as_str(), "max_attempts_reached");
    api.check_refused(&id, &code, "max_attempts_reached").await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_name_the_field() {
    let s = TestServer::start().await;
    let api = Api::new(&s).await;
    let cases = [
        (json!({"to": "+1 555", "channel": "sms"}), "to"),
        (json!({"to": "12ab", "channel": "sms"}), "to"),
        (json!({"to": "+1 900 555 0199", "channel": "sms"}), "to"),
        (json!({"to": TO, "channel": "pigeon"}), "channel"),
        (json!({"to": TO}), "channel"),
        (
            json!({"to": TO, "channel": "sms", "colour": "red"}),
            "colour",
        ),
        (json!({"to": 14155550100u64, "channel": "sms"}), "to"),
    ];
    for (body, field) in cases {
        let (st, v, h) = api.post("/api/v1/verifications", body.clone()).await;
        assert_eq!(st, 422, "{body}: {v}");
        assert_eq!(v["field"], field, "{body}: {v}");
        assert_eq!(h["content-type"], "application/problem+json");
        assert!(v["detail"].as_str().unwrap().len() > 10, "{v}");
    }
    // Not JSON, wrong content type.
    let r = s
        .http
        .post(s.url("/api/v1/verifications"))
        .basic_auth(&api.id, Some(&api.secret))
        .body("to=1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = s
        .http
        .post(s.url("/api/v1/verifications"))
        .basic_auth(&api.id, Some(&api.secret))
        .header("content-type", "application/json")
        .body("{\"to\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Wrong secret, no auth.
    let r = s
        .http
        .post(s.url("/api/v1/verifications"))
        .basic_auth(&api.id, Some("nope"))
        .json(&json!({"to": TO, "channel": "sms"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_some());
    let r = s
        .http
        .post(s.url("/api/v1/verifications"))
        .json(&json!({"to": TO, "channel": "sms"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Another application's verification is invisible.
    let id = api.start(TO).await["id"].as_str().unwrap().to_string();
    let other = Api::new(&s).await;
    let (st, _, _) = other
        .post(
            &format!("/api/v1/verifications/{id}/check"),
            json!({"code": "123456"}),
        )
        .await;
    assert_eq!(st, 404);
    let (st, _, _) = api
        .post(
            "/api/v1/verifications/nope/check",
            json!({"code": "123456"}),
        )
        .await;
    assert_eq!(st, 404);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_without_providers_is_refused_up_front() {
    let s = TestServer::start_with(|c| c.dev_outbox.enabled = Some(false)).await;
    let api = Api::new(&s).await;
    let (st, v, _) = api
        .post(
            "/api/v1/verifications",
            json!({"to": TO, "channel": "whatsapp"}),
        )
        .await;
    assert_eq!(st, 422, "{v}");
    assert_eq!(v["field"], "channel");
    let r = s.http.get(s.url("/dev/outbox.json")).send().await.unwrap();
    assert_eq!(r.status(), 404, "no outbox pages when the outbox is off");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_and_templates_admin_api() {
    let s = TestServer::start().await;
    let token = s.admin_token().await;
    let put = |path: &str, body: Value| {
        s.http
            .put(s.url(path))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let r = s
        .http
        .get(s.url("/api/v1/otp-policy"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let p: Value = r.json().await.unwrap();
    assert_eq!(
        p,
        json!({"length": 6, "alphanumeric": false, "expiry": 300, "max_attempts": 5, "max_resends": 3, "resend_cooldown": 30, "resend_code": "new"})
    );
    let r = s
        .http
        .get(s.url("/api/v1/otp-policy"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    for (body, field) in [
        (json!({"length": 3}), "length"),
        (json!({"length": 11}), "length"),
        (json!({"expiry": 10}), "expiry"),
        (json!({"max_attempts": 0}), "max_attempts"),
        (json!({"lenght": 6}), "lenght"),
        (json!({"length": "six"}), "length"),
        (json!({"resend_code": "maybe"}), "resend_code"),
    ] {
        let r = put("/api/v1/otp-policy", body.clone()).await.unwrap();
        assert_eq!(r.status(), 422, "{body}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["field"], field, "{body}: {v}");
    }
    let r = put("/api/v1/otp-policy", json!({"length": 3}))
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["detail"], "length must be between 4 and 10 (got 3)");

    // Templates: unknown placeholders refused; a saved template is used; expiry rounds up.
    let r = put(
        "/api/v1/channels/sms/template",
        json!({"text": "Code {{confirmation-code}} for {{app-name}}"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["field"], "text");
    assert!(v["detail"].as_str().unwrap().contains("app-name"), "{v}");

    let r = put("/api/v1/otp-policy", json!({"expiry": 90}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = put(
        "/api/v1/channels/sms/template",
        json!({"text": "{{application-name}}: {{confirmation-code}} (valid {{otp-expiry-time}} min) ©{{current-year}}"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["segments"]["segments"], 1);
    let r = s
        .http
        .get(s.url("/api/v1/channels/sms/template"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["is_default"], false);
    let wa = s
        .http
        .get(s.url("/api/v1/channels/whatsapp/template"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let wa: Value = wa.json().await.unwrap();
    assert_eq!(wa["text"], "{{confirmation-code}}");

    let api = Api::new(&s).await;
    api.start(TO).await;
    let text = s.last_text_to(TO).await.unwrap();
    assert!(
        text.starts_with("Shop: ") && text.contains("(valid 2 min)"),
        "90 s rounds up to 2: {text}"
    );

    // Every change is audited.
    let events = s.state().store.list_audit(10, None).await.unwrap();
    assert!(events.iter().any(|e| e.action == "otp_policy.updated"));
    assert!(events.iter().any(|e| e.action == "template.updated"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_expires_and_purges_into_history() {
    let s = TestServer::start_with(|c| {
        c.verifications.sweep_interval_secs = 1;
        c.verifications.retention_secs = 60;
    })
    .await;
    let api = Api::new(&s).await;
    let id = api.start(TO).await["id"].as_str().unwrap().to_string();
    s.clock.advance(301);
    let store = &s.state().store;
    let mut expired = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if let Some(v) = store.get_verification(&id).await.unwrap()
            && v.status.as_str() == "expired"
        {
            expired = true;
            break;
        }
    }
    assert!(expired, "the sweeper marked the overdue code expired");
    s.clock.advance(61);
    let mut purged = false;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if store.get_verification(&id).await.unwrap().is_none() {
            purged = true;
            break;
        }
    }
    assert!(purged, "the sweeper purged the finished verification");
    let history = store.verification_history(10).await.unwrap();
    let h = history
        .iter()
        .find(|h| h["id"] == id.as_str())
        .expect("history record");
    assert_eq!(h["status"], "expired");
    assert!(
        h.get("code_hmac").is_none() && h.get("destination").is_none(),
        "{h}"
    );
    assert_eq!(h["destination_masked"], "+1415•••••00");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_outbox_page_lists_messages_newest_first() {
    let s = TestServer::start().await;
    let api = Api::new(&s).await;
    api.start(TO).await;
    api.start("+14155550199").await;
    let page = s.http.get(s.url("/dev/outbox")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("http-equiv=\"refresh\""), "refreshes itself");
    let newest = html.find("+14155550199").unwrap();
    let older = html.find(TO).unwrap();
    assert!(newest < older, "newest first");
    s.stop().await;
}

/// `{{organization-name}}` is `branding.organization_name`, else `branding.product_name`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organization_name_comes_from_the_branding_config() {
    for (org, expected) in [(None, "Acme ID"), (Some("Acme Corp"), "Acme Corp")] {
        let s = TestServer::start_with(|c| {
            c.branding.product_name = "Acme ID".into();
            c.branding.organization_name = org.map(str::to_string);
        })
        .await;
        let token = s.admin_token().await;
        let r = s
            .http
            .put(s.url("/api/v1/channels/sms/template"))
            .bearer_auth(&token)
            .json(&json!({"text": "{{organization-name}}: {{confirmation-code}}"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let api = Api::new(&s).await;
        api.start(TO).await;
        let text = s.last_text_to(TO).await.unwrap();
        assert!(text.starts_with(&format!("{expected}: ")), "{text}");
        s.stop().await;
    }
}
