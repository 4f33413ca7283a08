//! Providers end to end: the real server sends through real HTTP to the fake gateway.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fake_d7::{self, FakeGateway, Fault};
use crate::harness::{TestServer, code_in};

const TO: &str = "+14155550100";
const SEED_SMS: &str = include_str!("../../../idgate-notify/fixtures/seed-d7-sms.json.tmpl");
const SEED_WA: &str = include_str!("../../../idgate-notify/fixtures/seed-d7-whatsapp.json.tmpl");

async fn server() -> TestServer {
    TestServer::start_with(|c| {
        c.delivery.attempt_timeout_ms = 700;
        c.delivery.deadline_ms = 4_000;
        c.delivery.backoff_initial_ms = 10;
        c.delivery.backoff_max_ms = 50;
    })
    .await
}

struct Admin<'a> {
    s: &'a TestServer,
    token: String,
}

impl<'a> Admin<'a> {
    async fn new(s: &'a TestServer) -> Self {
        Self {
            token: s.admin_token().await,
            s,
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = self
            .s
            .http
            .request(method, self.s.url(path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let st = r.status();
        (st, r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// Creates a provider and returns its view.
    async fn provider(&self, channel: &str, body: Value) -> Value {
        let (st, v) = self
            .post(&format!("/api/v1/channels/{channel}/providers"), body)
            .await;
        assert_eq!(st, 201, "{v}");
        v
    }
}

fn d7_sms(name: &str, g: &FakeGateway) -> Value {
    json!({"name": name, "kind": "d7-sms", "settings": {"originator": "SignOTP", "base_url": g.base},
           "secrets": {"api_token": fake_d7::TOKEN}})
}

/// Starts a verification through the Verify API.
async fn start(
    s: &TestServer,
    app: &(String, String),
    channel: &str,
    extra: Value,
) -> (StatusCode, Value) {
    let mut body = json!({"to": TO, "channel": channel});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let r = s
        .http
        .post(s.url("/api/v1/verifications"))
        .basic_auth(&app.0, Some(&app.1))
        .json(&body)
        .send()
        .await
        .unwrap();
    let st = r.status();
    (st, r.json().await.unwrap())
}

async fn check(s: &TestServer, app: &(String, String), id: &str, code: &str) -> Value {
    s.http
        .post(s.url(&format!("/api/v1/verifications/{id}/check")))
        .basic_auth(&app.0, Some(&app.1))
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The message of a verification, with its attempt log.
async fn message_of(admin: &Admin<'_>, verification: &str) -> Value {
    let (st, list) = admin
        .get(&format!("/api/v1/messages?verification_id={verification}"))
        .await;
    assert_eq!(st, 200, "{list}");
    let id = list["messages"][0]["id"]
        .as_str()
        .expect("a message")
        .to_string();
    admin.get(&format!("/api/v1/messages/{id}")).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_seed_sms_template_verbatim_reaches_d7_and_the_code_works() {
    let s = server().await;
    let g = FakeGateway::start().await;
    let admin = Admin::new(&s).await;
    admin
        .provider(
            "sms",
            json!({"name": "wso2-guide", "kind": "custom", "settings": {
                "url": format!("{}/messages/v1/send", g.base), "content_type": "JSON", "method": "POST",
                "payload_template": SEED_SMS},
                "secrets": {"headers": format!("Authorization: Bearer {}", fake_d7::TOKEN)}}),
        )
        .await;
    let app = s.app("Shop").await;
    let (st, v) = start(&s, &app, "sms", json!({})).await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["sent_via"], "sms");
    let got = g.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].status, 200, "D7 accepted it: {}", got[0].body);
    let body = got[0].json();
    assert_eq!(body["messages"][0]["recipients"], json!([TO]));
    let content = body["messages"][0]["content"].as_str().unwrap();
    assert!(
        content.starts_with("Your OTP code for login is: \"Your one-time password"),
        "{content}"
    );
    let code = code_in(content, 6);
    assert_eq!(
        check(&s, &app, v["id"].as_str().unwrap(), &code).await["status"],
        "approved"
    );
    let m = message_of(&admin, v["id"].as_str().unwrap()).await;
    assert_eq!(m["status"], "sent");
    assert_eq!(m["provider_message_id"], "req-0001");
    assert!(
        !m.to_string().contains(&code),
        "the log never holds the code"
    );
    assert_eq!(got[0].path, "/messages/v1/send");
    assert_eq!(
        got[0].headers["authorization"],
        format!("Bearer {}", fake_d7::TOKEN).as_str()
    );

    // A 422 is not retried and its field list is the reason admins see in the message
    // log (the caller gets a fixed text and the message id).
    g.fail_next(&[Fault::Status422]);
    let (st, v) = start(&s, &app, "sms", json!({})).await;
    assert_eq!(st, 502, "{v}");
    let (_, failed) = admin
        .get(&format!(
            "/api/v1/messages/{}",
            v["message_id"].as_str().unwrap()
        ))
        .await;
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("invalid fields: messages.0.recipients (field required)"),
        "{failed}"
    );
    assert_eq!(g.received().len(), 2);
    s.stop().await;
}

/// The value of one series in a /metrics text (0 when it is absent).
async fn metric(s: &TestServer, series: &str) -> f64 {
    let text = s.metrics().await;
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// D7's guide puts the custom provider's `{{body}}` into a WhatsApp authentication
/// template's button (`action_payload`, at most 15 characters): a WhatsApp test message
/// is therefore a sample code, not the SMS test sentence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_whatsapp_test_send_fits_the_guides_template() {
    let s = server().await;
    let g = FakeGateway::start().await;
    let admin = Admin::new(&s).await;
    let p = admin
        .provider(
            "whatsapp",
            json!({"name": "guide-wa", "kind": "custom", "settings": {
                "url": format!("{}/whatsapp/v2/send", g.base), "content_type": "JSON",
                "payload_template": SEED_WA},
                "secrets": {"headers": [{"name": "Authorization", "value": format!("Bearer {}", fake_d7::TOKEN)}]}}),
        )
        .await;
    let (st, v) = admin
        .post(
            "/api/v1/channels/whatsapp/test",
            json!({"to": TO, "provider": p["id"]}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (v["sent"].as_bool(), v["text"].as_str()),
        (Some(true), Some("000000")),
        "{v}"
    );
    let got = g.received();
    assert_eq!(got[0].status, 200, "{}", got[0].body);
    assert_eq!(
        got[0].json()["messages"][0]["content"]["template"]["buttons"]["actions"][0]["action_payload"],
        "000000"
    );
    // SMS keeps its sentence.
    admin.provider("sms", d7_sms("d7", &g)).await;
    let (st, v) = admin
        .post("/api/v1/channels/sms/test", json!({"to": TO}))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v["text"],
        "This is a test message from idgate: your provider works."
    );

    // Codes (not test messages) are counted by channel, provider kind and outcome.
    let sent = r#"idgate_codes_sent_total{channel="whatsapp",provider="custom",outcome="sent"}"#;
    let failed =
        r#"idgate_codes_sent_total{channel="whatsapp",provider="custom",outcome="failed"}"#;
    let (sent_before, failed_before) = (metric(&s, sent).await, metric(&s, failed).await);
    let app = s.app("Shop").await;
    assert_eq!(start(&s, &app, "whatsapp", json!({})).await.0, 201);
    g.fail_next(&[Fault::Status422]);
    assert_eq!(start(&s, &app, "whatsapp", json!({})).await.0, 502);
    assert!(metric(&s, sent).await > sent_before);
    assert!(metric(&s, failed).await > failed_before);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_seed_whatsapp_template_and_d7_whatsapp_preset() {
    let s = server().await;
    let g = FakeGateway::start().await;
    let admin = Admin::new(&s).await;
    let p = admin
        .provider(
            "whatsapp",
            json!({"name": "guide-wa", "kind": "custom", "settings": {
                "url": format!("{}/whatsapp/v2/send", g.base), "content_type": "JSON",
                "payload_template": SEED_WA},
                "secrets": {"headers": [{"name": "Authorization", "value": format!("Bearer {}", fake_d7::TOKEN)}]}}),
        )
        .await;
    assert_eq!(p["header_names"], json!(["Authorization"]));
    let app = s.app("Shop").await;
    let (st, v) = start(&s, &app, "whatsapp", json!({})).await;
    assert_eq!(st, 201, "{v}");
    let got = g.received();
    assert_eq!(got[0].status, 200, "{}", got[0].body);
    let payload = got[0].json()["messages"][0]["content"]["template"]["buttons"]["actions"][0]["action_payload"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(payload.len(), 6, "the WhatsApp text is the code alone");
    assert_eq!(
        check(&s, &app, v["id"].as_str().unwrap(), &payload).await["status"],
        "approved"
    );

    // The preset builds the same documented body itself.
    let (st, _) = admin
        .call(
            reqwest::Method::DELETE,
            &format!(
                "/api/v1/channels/whatsapp/providers/{}",
                p["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(st, 204);
    admin
        .provider(
            "whatsapp",
            json!({"name": "d7-wa", "kind": "d7-whatsapp", "settings": {
                "originator": "+971501234567", "template_id": "otp_test", "base_url": g.base},
                "secrets": {"api_token": fake_d7::TOKEN}}),
        )
        .await;
    let (st, v) = start(&s, &app, "whatsapp", json!({})).await;
    assert_eq!(st, 201, "{v}");
    let last = g.received().pop().unwrap();
    assert_eq!(last.status, 200, "{}", last.body);
    let j = last.json();
    assert!(
        j["messages"][0]["report_url"]
            .as_str()
            .unwrap()
            .contains("/hooks/d7/")
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_custom_escapes_json_and_form_and_get() {
    let s = server().await;
    let g = FakeGateway::start().await;
    let admin = Admin::new(&s).await;
    // A template whose text holds a quote, a backslash and a new line.
    let (st, _) = admin
        .call(
            reqwest::Method::PUT,
            "/api/v1/channels/sms/template",
            Some(json!({"text": "Say \"hi\" \\ then\nuse {{confirmation-code}}"})),
        )
        .await;
    assert_eq!(st, 200);
    let p = admin
        .provider("sms", json!({"name": "json", "kind": "custom", "settings": {
            "url": format!("{}/custom", g.base), "payload_template": "{\"to\": {{mobile}}, \"text\": {{body}}}"}}))
        .await;
    let app = s.app("Shop").await;
    assert_eq!(start(&s, &app, "sms", json!({})).await.0, 201);
    let j = g.received()[0].json();
    assert!(
        j["text"]
            .as_str()
            .unwrap()
            .starts_with("Say \"hi\" \\ then\nuse "),
        "{j}"
    );

    let id = p["id"].as_str().unwrap();
    let (st, v) = admin
        .call(reqwest::Method::PUT, &format!("/api/v1/channels/sms/providers/{id}"), Some(json!({"settings": {
            "url": format!("{}/custom", g.base), "content_type": "FORM", "payload_template": "to={{mobile}}&text={{otp}}"}})))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(start(&s, &app, "sms", json!({})).await.0, 201);
    assert!(
        g.received()[1].body.starts_with("to=%2B14155550100&text="),
        "{}",
        g.received()[1].body
    );

    let (st, v) = admin
        .call(reqwest::Method::PUT, &format!("/api/v1/channels/sms/providers/{id}"), Some(json!({"settings": {
            "url": format!("{}/custom?to={{{{mobile}}}}&code={{{{otp}}}}", g.base), "method": "GET"}})))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(start(&s, &app, "sms", json!({})).await.0, 201);
    assert!(g.received()[2].body.starts_with("to=%2B14155550100&code="));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_500_twice_then_200_is_one_message_with_three_attempts() {
    let s = server().await;
    let g = FakeGateway::start().await;
    let admin = Admin::new(&s).await;
    admin.provider("sms", d7_sms("d7", &g)).await;
    g.fail_next(&[Fault::Status500, Fault::Status500]);
    let app = s.app("Shop").await;
    let (st, v) = start(&s, &app, "sms", json!({})).await;
    assert_eq!(st, 201, "{v}");
    let got = g.received();
    assert_eq!(
        got.iter().map(|r| r.status).collect::<Vec<_>>(),
        [500, 500, 200]
    );
    // Every retry carried the same text, so the same code.
    assert!(
        got.iter()
            .all(|r| r.json()["messages"][0]["content"] == got[2].json()["messages"][0]["content"])
    );
    let (_, list) = admin
        .get(&format!(
            "/api/v1/messages?verification_id={}",
            v["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(list["messages"].as_array().unwrap().len(), 1);
    let m = message_of(&admin, v["id"].as_str().unwrap()).await;
    assert_eq!(m["attempts"], 3);
    let log = m["attempt_log"].as_array().unwrap();
    assert_eq!(
        log.iter()
            .map(|a| a["http_status"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [500, 500, 200]
    );
    assert_eq!(log[2]["provider_message_id"], m["provider_message_id"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_hang_times_out_and_fails_over_with_the_same_code() {
    let s = server().await;
    let slow = FakeGateway::start().await;
    let good = FakeGateway::start().await;
    let admin = Admin::new(&s).await;
    admin.provider("sms", d7_sms("slow", &slow)).await;
    admin.provider("sms", d7_sms("good", &good)).await;
    slow.fail_always(Some(Fault::Hang));
    let app = s.app("Shop").await;
    let (st, v) = start(&s, &app, "sms", json!({})).await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        slow.received().len(),
        1,
        "a timeout is not repeated on the same gateway"
    );
    let sent = good.received();
    assert_eq!(sent.len(), 1);
    let code = code_in(
        sent[0].json()["messages"][0]["content"].as_str().unwrap(),
        6,
    );
    let slow_code = code_in(
        slow.received()[0].json()["messages"][0]["content"]
            .as_str()
            .unwrap(),
        6,
    );
    assert_eq!(code, slow_code, "both gateways got the same code");
    let m = message_of(&admin, v["id"].as_str().unwrap()).await;
    assert_eq!(m["provider"], "good");
    assert!(
        m["attempt_log"][0]["error"]
            .as_str()
            .unwrap()
            .contains("no answer within"),
        "{m}"
    );
    assert_eq!(
        check(&s, &app, v["id"].as_str().unwrap(), &code).await["status"],
        "approved"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_401_and_402_fail_over_at_once_with_d7s_reason() {
    let s = server().await;
    let a = FakeGateway::start().await;
    let b = FakeGateway::start().await;
    let c = FakeGateway::start().await;
    let admin = Admin::new(&s).await;
    admin.provider("sms", d7_sms("a", &a)).await;
    admin.provider("sms", d7_sms("b", &b)).await;
    admin.provider("sms", d7_sms("c", &c)).await;
    a.fail_always(Some(Fault::Status401));
    b.fail_always(Some(Fault::Status402));
    c.fail_next(&[Fault::Drop]);
    let app = s.app("Shop").await;
    let (st, v) = start(&s, &app, "sms", json!({})).await;
    // c dropped the connection: ambiguous, not repeated there; nothing else is left.
    assert_eq!(st, 502, "{v}");
    assert_eq!(
        (a.received().len(), b.received().len(), c.received().len()),
        (1, 1, 1)
    );
    // The caller gets a fixed text and the message id; D7's reasons are in the message
    // log, for admins.
    let detail = v["detail"].as_str().unwrap();
    assert!(!detail.contains("INSUFFICIENT_CREDIT"), "{detail}");
    let (_, failed) = admin
        .get(&format!(
            "/api/v1/messages/{}",
            v["message_id"].as_str().unwrap()
        ))
        .await;
    let reasons = failed["error"].as_str().unwrap();
    assert!(
        reasons.contains("ACCESS_TOKEN_SIGNATURE_VERIFICATION_FAILED"),
        "{reasons}"
    );
    assert!(reasons.contains("INSUFFICIENT_CREDIT"), "{reasons}");
    assert!(!reasons.contains(TO), "{reasons}");

    // With the drop gone, c sends.
    let (st, v) = start(&s, &app, "sms", json!({})).await;
    assert_eq!(st, 201, "{v}");
    let m = message_of(&admin, v["id"].as_str().unwrap()).await;
    let log = m["attempt_log"].as_array().unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(
        (
            log[0]["http_status"].as_u64(),
            log[1]["http_status"].as_u64()
        ),
        (Some(401), Some(402))
    );
    assert!(
        log[1]["error"]
            .as_str()
            .unwrap()
            .contains("INSUFFICIENT_CREDIT")
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_all_down_fails_the_verification_and_says_so() {
    let s = server().await;
    let g = FakeGateway::start().await;
    let admin = Admin::new(&s).await;
    admin.provider("sms", d7_sms("d7", &g)).await;
    g.fail_always(Some(Fault::Status500));
    let app = s.app("Shop").await;
    let (st, v) = start(&s, &app, "sms", json!({})).await;
    assert_eq!(st, 502, "{v}");
    assert_eq!(v["type"], "urn:idgate:problem:delivery_failed");
    assert_eq!(
        g.received().len(),
        3,
        "retried up to max_attempts_per_provider"
    );
    let (_, list) = admin
        .get("/api/v1/messages?status=failed&channel=sms")
        .await;
    let m = &list["messages"][0];
    let vid = m["verification_id"].as_str().unwrap();
    let verification = s
        .state()
        .store
        .get_verification(vid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(verification.status.as_str(), "failed");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_channel_fallback_sends_on_the_other_channel() {
    let s = server().await;
    let sms = FakeGateway::start().await;
    let wa = FakeGateway::start().await;
    let admin = Admin::new(&s).await;
    admin.provider("sms", d7_sms("d7", &sms)).await;
    admin
        .provider(
            "whatsapp",
            json!({"name": "wa", "kind": "d7-whatsapp", "settings": {
            "originator": "+971501234567", "template_id": "otp_test", "base_url": wa.base},
            "secrets": {"api_token": fake_d7::TOKEN}}),
        )
        .await;
    sms.fail_always(Some(Fault::Status401));
    let app = s.app("Shop").await;
    // Off by default.
    assert_eq!(start(&s, &app, "sms", json!({})).await.0, 502);
    assert!(wa.received().is_empty());
    // Explicit per request.
    let (st, v) = start(&s, &app, "sms", json!({"fallback_channel": "whatsapp"})).await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(
        (v["sent_via"].as_str(), v["fallback_used"].as_bool()),
        (Some("whatsapp"), Some(true))
    );
    let code = wa.received()[0].json()["messages"][0]["content"]["template"]["buttons"]["actions"]
        [0]["action_payload"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        check(&s, &app, v["id"].as_str().unwrap(), &code).await["status"],
        "approved"
    );
    // Automatic for the application.
    let (st, _) = admin
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/delivery/fallback/{}", app.0),
            Some(json!({"mode": "automatic"})),
        )
        .await;
    assert_eq!(st, 200);
    let (st, v) = start(&s, &app, "sms", json!({})).await;
    assert_eq!(
        (st.as_u16(), v["sent_via"].as_str()),
        (201, Some("whatsapp"))
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_dlr_flips_to_delivered_and_forged_dlr_changes_nothing() {
    let s = server().await;
    let g = FakeGateway::start().await;
    let admin = Admin::new(&s).await;
    let p = admin.provider("sms", d7_sms("d7", &g)).await;
    let report_url = p["report_url"].as_str().unwrap().to_string();
    let app = s.app("Shop").await;
    let (_, v) = start(&s, &app, "sms", json!({})).await;
    let sent = g.received()[0].json();
    let hook = sent["messages"][0]["report_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(hook, report_url);
    let path = hook.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap();
    let m = message_of(&admin, v["id"].as_str().unwrap()).await;
    let rid = m["provider_message_id"].as_str().unwrap().to_string();

    // A forged report: right provider, wrong secret.
    let forged = format!("{}/wrong-secret", path.rsplit_once('/').unwrap().0);
    let r = s
        .http
        .post(s.url(&forged))
        .json(&json!({"request_id": rid, "status": "delivered"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        message_of(&admin, v["id"].as_str().unwrap()).await["status"],
        "sent"
    );

    // An unknown request id is acknowledged and changes nothing.
    let r = s
        .http
        .post(s.url(&path))
        .json(&json!({"request_id": "nope", "status": "delivered"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The real one, as a form (one version of D7's docs).
    let r = s
        .http
        .post(s.url(&path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "request_id={rid}&msg_id=m1&recipient=%2B14155550100&status=delivered"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        message_of(&admin, v["id"].as_str().unwrap()).await["status"],
        "delivered"
    );
    // A late interim report does not undo it.
    s.http
        .post(s.url(&path))
        .json(&json!({"request_id": rid, "status": "sent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        message_of(&admin, v["id"].as_str().unwrap()).await["status"],
        "delivered"
    );

    let (_, delivered) = admin.get("/api/v1/messages?status=delivered").await;
    assert_eq!(delivered["messages"].as_array().unwrap().len(), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_secrets_are_write_only_and_encrypted_at_rest() {
    let s = server().await;
    let g = FakeGateway::start().await;
    let admin = Admin::new(&s).await;
    let p = admin.provider("sms", d7_sms("d7", &g)).await;
    let id = p["id"].as_str().unwrap();
    let (st, got) = admin
        .get(&format!("/api/v1/channels/sms/providers/{id}"))
        .await;
    assert_eq!(st, 200);
    assert_eq!(got["token_set"], true);
    assert_eq!(got["secrets"]["api_token_set"], true);
    let (_, list) = admin.get("/api/v1/channels/sms/providers").await;
    for text in [got.to_string(), list.to_string()] {
        assert!(!text.contains(fake_d7::TOKEN), "{text}");
    }
    let row = s.state().store.get_provider(id).await.unwrap().unwrap();
    assert!(!String::from_utf8_lossy(&row.secrets_ciphertext).contains(fake_d7::TOKEN));
    assert!(!row.settings.to_string().contains(fake_d7::TOKEN));
    // The audit log does not hold it either.
    let audit = s.state().store.list_audit(50, None).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "provider.created"));
    assert!(
        !serde_json::to_string(&audit)
            .unwrap()
            .contains(fake_d7::TOKEN)
    );

    // A PUT without secrets keeps them; the provider still sends.
    let (st, v) = admin
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/channels/sms/providers/{id}"),
            Some(json!({"name": "d7-main"})),
        )
        .await;
    assert_eq!(
        (st.as_u16(), v["token_set"].as_bool()),
        (200, Some(true)),
        "{v}"
    );
    let (st, v) = admin
        .post("/api/v1/channels/sms/test", json!({"to": TO}))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (v["sent"].as_bool(), v["provider"].as_str()),
        (Some(true), Some("d7-main"))
    );
    assert_eq!(
        g.received()[0].json()["messages"][0]["recipients"],
        json!([TO])
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_invalid_settings_are_refused_with_the_field() {
    let s = server().await;
    let admin = Admin::new(&s).await;
    let cases = [
        (
            json!({"name": "x", "kind": "custom", "settings": {"url": "https://gw.example/send",
            "payload_template": "{\n  \"to\": {{mobile}},\n  \"text\": {{body}}\n  \"x\": 1\n}"}}),
            "settings.payload_template",
            "line 4",
        ),
        (
            json!({"name": "x", "kind": "custom", "settings": {"url": "file:///etc/passwd", "payload_template": "{}"}}),
            "settings.url",
            "http",
        ),
        (
            json!({"name": "x", "kind": "custom", "settings": {"url": "https://gw.example", "payload_template": "{\"to\": {{mobile}}, \"t\": {{body}}}"},
            "secrets": {"headers": "Authorization Bearer x"}}),
            "secrets.headers",
            "header entry 1",
        ),
        (
            json!({"name": "x", "kind": "d7-sms", "settings": {"originator": "SignOTP"}}),
            "secrets.api_token",
            "api_token",
        ),
        (json!({"name": "x", "kind": "sms-magic"}), "kind", "unknown"),
        (json!({"name": "", "kind": "d7-sms"}), "name", "name"),
    ];
    for (body, field, needle) in cases {
        let (st, v) = admin.post("/api/v1/channels/sms/providers", body).await;
        assert_eq!(st, 422, "{v}");
        assert_eq!(v["field"], field, "{v}");
        assert!(v["detail"].as_str().unwrap().contains(needle), "{v}");
    }
    let (st, _) = admin
        .post("/api/v1/channels/fax/providers", json!({}))
        .await;
    assert_eq!(st, 422);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn providers_wso2_sender_api_and_twilio_vonage_presets() {
    let s = server().await;
    let g = FakeGateway::start().await;
    let admin = Admin::new(&s).await;
    let base = "/api/server/v1/notification-senders/sms";
    let sender = json!({"name": "SMSPublisher", "provider": "Custom",
        "providerURL": format!("{}/messages/v1/send", g.base), "contentType": "JSON",
        "properties": [{"key": "body", "value": SEED_SMS}, {"key": "http.method", "value": "POST"},
                       {"key": "http.headers", "value": format!("Authorization: Bearer {}", fake_d7::TOKEN)}]});
    let (st, v) = admin.post(base, sender.clone()).await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(admin.post(base, sender).await.0, 409);
    let (st, v) = admin.get(&format!("{base}/SMSPublisher")).await;
    assert_eq!(st, 200);
    assert_eq!(
        (v["provider"].as_str(), v["contentType"].as_str()),
        (Some("Custom"), Some("JSON"))
    );
    assert!(!v.to_string().contains(fake_d7::TOKEN), "{v}");
    assert!(
        v["properties"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["key"] == "body")
    );
    let app = s.app("Shop").await;
    assert_eq!(start(&s, &app, "sms", json!({})).await.0, 201);
    assert_eq!(g.received()[0].status, 200, "{}", g.received()[0].body);
    let (st, _) = admin
        .call(
            reqwest::Method::DELETE,
            &format!("{base}/SMSPublisher"),
            None,
        )
        .await;
    assert_eq!(st, 204);
    assert_eq!(admin.get(&format!("{base}/SMSPublisher")).await.0, 404);

    // Twilio through the WSO2 shape; Vonage through idgate's.
    let (st, v) = admin
        .post(base, json!({"name": "tw", "provider": "Twilio", "providerURL": g.base, "key": fake_d7::TWILIO_SID,
            "secret": fake_d7::TWILIO_TOKEN, "sender": "+15005550006", "contentType": "FORM", "properties": []}))
        .await;
    assert_eq!(st, 201, "{v}");
    assert!(v.get("secret").is_none());
    let (st, v) = admin
        .post("/api/v1/channels/sms/test", json!({"to": TO}))
        .await;
    assert_eq!((st.as_u16(), v["sent"].as_bool()), (200, Some(true)), "{v}");
    assert!(v["provider_message_id"].as_str().unwrap().starts_with("SM"));
    let (_, list) = admin.get(base).await;
    let tw_id = admin.get("/api/v1/channels/sms/providers").await.1["providers"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let vn = admin
        .provider("sms", json!({"name": "vn", "kind": "vonage", "settings": {"api_key": fake_d7::VONAGE_KEY, "from": "idgate", "base_url": g.base},
            "secrets": {"api_secret": fake_d7::VONAGE_SECRET}}))
        .await;
    let (st, v) = admin
        .post(
            "/api/v1/channels/sms/test",
            json!({"to": TO, "provider": vn["id"]}),
        )
        .await;
    assert_eq!((st.as_u16(), v["sent"].as_bool()), (200, Some(true)), "{v}");
    // Reorder: Vonage first.
    let (st, v) = admin
        .call(
            reqwest::Method::PUT,
            "/api/v1/channels/sms/provider-order",
            Some(json!({"ids": [vn["id"], tw_id]})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["providers"][0]["name"], "vn");
    let (st, v) = admin
        .post("/api/v1/channels/sms/test", json!({"to": TO}))
        .await;
    assert_eq!(
        (st.as_u16(), v["provider"].as_str()),
        (200, Some("vn")),
        "{v}"
    );
    s.stop().await;
}
