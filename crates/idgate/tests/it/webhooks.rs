//! Signed webhooks both ways, scrubbed gateway answers and safe log lines, end to end:
//! the real server, real providers sending over HTTP to fake gateways, callbacks signed
//! here the way Twilio and Vonage sign them (computed independently of idgate's code).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::admin_api::Api;
use crate::console::admin_in_console;
use crate::fake_d7::{self, FakeGateway};
use crate::harness::TestServer;

const TO: &str = "+14155550100";
const PUBLIC: &str = "https://id.example.com";

// ---- helpers ----------------------------------------------------------------------

/// The whole text log of this test process (text format, debug level), captured through
/// idgate's own logging setup.
fn captured_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        idgate::logging::init_to(
            &idgate::config::LogConfig {
                format: idgate::config::LogFormat::Text,
                level: "debug".into(),
            },
            move || LogSink(sink.clone()),
        );
        buf
    })
    .clone()
}

struct LogSink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn verify(s: &TestServer, app: &(String, String), to: &str) -> (u16, Value) {
    let r = s
        .http
        .post(s.url("/api/v1/verifications"))
        .basic_auth(&app.0, Some(&app.1))
        .json(&json!({"to": to, "channel": "sms"}))
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap())
}

/// Creates an SMS provider (201) and returns its view.
async fn sms_provider(api: &Api<'_>, body: Value) -> Value {
    let p = api.post("/api/v1/channels/sms/providers", body).await;
    assert_eq!(p.status, 201, "{}", p.text);
    p.body
}

/// The message (with its attempt log) of a verification.
async fn message_of(api: &Api<'_>, verification: &Value) -> Value {
    let id = verification["id"].as_str().unwrap();
    let list = api
        .get(&format!("/api/v1/messages?verification_id={id}"))
        .await;
    let mid = list.body["messages"][0]["id"].as_str().unwrap().to_string();
    api.get(&format!("/api/v1/messages/{mid}")).await.body
}

async fn metric(s: &TestServer, kind: &str, reason: &str) -> f64 {
    let series = format!(
        "idgate_webhook_signature_failures_total{{provider_kind=\"{kind}\",reason=\"{reason}\"}} "
    );
    s.metrics()
        .await
        .lines()
        .find_map(|l| l.strip_prefix(&series))
        .map_or(-1.0, |v| v.trim().parse().unwrap())
}

fn form_of(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

fn encode(pairs: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Twilio's algorithm, written here from its documentation: base64 HMAC-SHA1 (auth token)
/// of the URL followed by each parameter name and value, sorted by name.
fn twilio_signature(token: &str, url: &str, params: &[(String, String)]) -> String {
    use hmac13::{KeyInit, Mac};
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(&k);
        data.push_str(&v);
    }
    let mut mac = hmac13::Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

fn hmac256(key: &[u8], data: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A Vonage signed-webhook JWT (HS256 with the signature secret).
fn vonage_jwt(secret: &str, iat: i64, body: &[u8]) -> String {
    let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let p = URL_SAFE_NO_PAD.encode(
        json!({"iat": iat, "jti": uuid::Uuid::new_v4().to_string(), "iss": "Vonage", "payload_hash": sha256_hex(body), "api_key": fake_d7::VONAGE_KEY})
            .to_string(),
    );
    let s = URL_SAFE_NO_PAD.encode(hmac256(secret.as_bytes(), format!("{h}.{p}").as_bytes()));
    format!("Bearer {h}.{p}.{s}")
}

/// Posts a delivery report to `path` on the server.
async fn post_hook(
    s: &TestServer,
    path: &str,
    content_type: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> u16 {
    let mut r = s
        .http
        .post(s.url(path))
        .header("content-type", content_type)
        .body(body.to_string());
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.unwrap().status().as_u16()
}

// ---- Twilio -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_twilio_callbacks_need_twilios_signature_over_the_public_url() {
    // Behind a proxy: the public URL (server.issuer) is not the bind address.
    let s = TestServer::start_with(|c| c.server.issuer = PUBLIC.into()).await;
    let g = FakeGateway::start().await;
    let api = Api::new(&s).await;
    sms_provider(
        &api,
        json!({"name": "tw", "kind": "twilio", "settings": {"account_sid": fake_d7::TWILIO_SID, "from": "+15005550006", "base_url": g.base},
                   "secrets": {"auth_token": fake_d7::TWILIO_TOKEN}}),
    )
    .await;
    let app = s.app("Shop").await;
    let (st, v) = verify(&s, &app, TO).await;
    assert_eq!(st, 201, "{v}");
    let sent = form_of(&g.received()[0].body);
    let callback = sent
        .iter()
        .find(|(k, _)| k == "StatusCallback")
        .map(|(_, v)| v.clone())
        .expect("a StatusCallback");
    assert!(
        callback.starts_with(&format!("{PUBLIC}/hooks/twilio/")),
        "{callback}"
    );
    let path = callback.strip_prefix(PUBLIC).unwrap().to_string();
    let m = message_of(&api, &v).await;
    let sid = m["provider_message_id"].as_str().unwrap().to_string();
    let params: Vec<(String, String)> = [
        ("AccountSid", fake_d7::TWILIO_SID),
        ("ApiVersion", "2010-04-01"),
        ("MessageSid", sid.as_str()),
        ("MessageStatus", "delivered"),
        ("SmsSid", sid.as_str()),
        ("SmsStatus", "delivered"),
        ("To", TO),
        ("From", "+15005550006"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let body = encode(&params);
    let form = "application/x-www-form-urlencoded";
    let (missing0, bad0) = (
        metric(&s, "twilio", "missing").await,
        metric(&s, "twilio", "bad").await,
    );
    assert_eq!((missing0, bad0), (0.0, 0.0), "the series exist at 0");

    // No signature.
    assert_eq!(post_hook(&s, &path, form, &body, &[]).await, 401);
    assert_eq!(metric(&s, "twilio", "missing").await, 1.0);
    // Signed with another token; over the bind address instead of the public URL; over
    // the right URL but for another body.
    let wrong_token = twilio_signature("not-the-token", &callback, &params);
    let bind_url = twilio_signature(fake_d7::TWILIO_TOKEN, &s.url(&path), &params);
    let good = twilio_signature(fake_d7::TWILIO_TOKEN, &callback, &params);
    let mut tampered = params.clone();
    tampered[3].1 = "undelivered".into();
    for (sig, body) in [
        (wrong_token.as_str(), body.clone()),
        (bind_url.as_str(), body.clone()),
        (good.as_str(), encode(&tampered)),
    ] {
        assert_eq!(
            post_hook(&s, &path, form, &body, &[("x-twilio-signature", sig)]).await,
            401
        );
    }
    assert_eq!(metric(&s, "twilio", "bad").await, 3.0);
    assert_eq!(
        message_of(&api, &v).await["status"],
        "sent",
        "nothing changed"
    );

    // Twilio's real signature, over the public URL.
    assert_eq!(
        post_hook(&s, &path, form, &body, &[("x-twilio-signature", &good)]).await,
        200
    );
    assert_eq!(message_of(&api, &v).await["status"], "delivered");
    assert_eq!(metric(&s, "twilio", "bad").await, 3.0);
    s.stop().await;
}

// ---- Vonage -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_vonage_receipts_move_messages_to_delivered_and_signed_ones_are_checked() {
    let s = TestServer::start().await;
    let g = FakeGateway::start().await;
    let api = Api::new(&s).await;
    let p = sms_provider(
        &api,
        json!({"name": "vn", "kind": "vonage", "settings": {"api_key": fake_d7::VONAGE_KEY, "from": "idgate", "base_url": g.base},
                   "secrets": {"api_secret": fake_d7::VONAGE_SECRET}}),
    )
    .await;
    assert!(p["report_url"].as_str().unwrap().contains("/hooks/vonage/"));
    let pid = p["id"].as_str().unwrap().to_string();
    let app = s.app("Shop").await;

    // Unsigned (no signature secret): the URL secret is the check. Vonage's GET receipt.
    let (st, v1) = verify(&s, &app, TO).await;
    assert_eq!(st, 201, "{v1}");
    let callback = form_of(&g.received()[0].body)
        .into_iter()
        .find(|(k, _)| k == "callback")
        .map(|(_, v)| v)
        .expect("each message names the receipt webhook");
    let path = callback
        .splitn(4, '/')
        .nth(3)
        .map(|p| format!("/{p}"))
        .unwrap();
    assert!(path.starts_with(&format!("/hooks/vonage/{pid}/")), "{path}");
    let m1 = message_of(&api, &v1).await;
    let id1 = m1["provider_message_id"].as_str().unwrap().to_string();
    let query = format!(
        "msisdn=14155550100&to=idgate&network-code=310090&messageId={id1}&price=0.00570000&status=delivered&scts=2612041900&err-code=0&api-key={}&message-timestamp=2026-12-04+19%3A00%3A00",
        fake_d7::VONAGE_KEY
    );
    let wrong_secret = format!("{}/wrong", path.rsplit_once('/').unwrap().0);
    let r = s
        .http
        .get(s.url(&format!("{wrong_secret}?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(message_of(&api, &v1).await["status"], "sent");
    let r = s
        .http
        .get(s.url(&format!("{path}?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(message_of(&api, &v1).await["status"], "delivered");

    // With a signature secret, receipts must carry Vonage's signed JWT.
    let sig_secret = "vonage-signature-secret-0123456789";
    let u = api
        .put(
            &format!("/api/v1/channels/sms/providers/{pid}"),
            json!({"secrets": {"signature_secret": sig_secret}}),
        )
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    assert_eq!(u.body["secrets"]["signature_secret_set"], true);
    assert!(!u.text.contains(sig_secret), "write-only: {}", u.text);
    let (st, v2) = verify(&s, &app, TO).await;
    assert_eq!(st, 201, "{v2}");
    let id2 = message_of(&api, &v2).await["provider_message_id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"msisdn": "14155550100", "to": "idgate", "network-code": "310090", "messageId": id2,
                      "price": "0.00570000", "status": "delivered", "scts": "2612041900", "err-code": "0",
                      "api-key": fake_d7::VONAGE_KEY, "message-timestamp": "2026-12-04 19:00:00"})
    .to_string();
    let now = s.state().now();
    let js = "application/json";
    assert_eq!(
        (
            metric(&s, "vonage", "missing").await,
            metric(&s, "vonage", "bad").await
        ),
        (0.0, 0.0)
    );
    assert_eq!(post_hook(&s, &path, js, &body, &[]).await, 401);
    let unsigned_get = s
        .http
        .get(s.url(&format!("{path}?{}", query.replace(&id1, &id2))))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned_get.status(), 401);
    assert_eq!(metric(&s, "vonage", "missing").await, 2.0);
    let other_secret = vonage_jwt("another-secret", now, body.as_bytes());
    let other_body = vonage_jwt(
        sig_secret,
        now,
        br#"{"messageId":"x","status":"delivered"}"#,
    );
    let stale = vonage_jwt(sig_secret, now - 600, body.as_bytes());
    for auth in [&other_secret, &other_body, &stale] {
        assert_eq!(
            post_hook(&s, &path, js, &body, &[("authorization", auth)]).await,
            401
        );
    }
    assert_eq!(metric(&s, "vonage", "bad").await, 3.0);
    assert_eq!(
        message_of(&api, &v2).await["status"],
        "sent",
        "nothing changed"
    );

    let good = vonage_jwt(sig_secret, now - 10, body.as_bytes());
    assert_eq!(
        post_hook(&s, &path, js, &body, &[("authorization", &good)]).await,
        200
    );
    assert_eq!(message_of(&api, &v2).await["status"], "delivered");
    s.stop().await;
}

// ---- outbound signing ---------------------------------------------------------------

/// A custom gateway that checks Standard Webhooks signatures the way the specification
/// says a receiver must: all three headers, the timestamp within 5 minutes of its own
/// clock, the HMAC over `id.timestamp.body`, and no `webhook-id` seen before.
#[derive(Clone, Default)]
struct StrictGateway {
    inner: Arc<Mutex<Strict>>,
    base: String,
}

#[derive(Default)]
struct Strict {
    key: Vec<u8>,
    seen: HashSet<String>,
    accepted: Vec<(HeaderMap, String)>,
    refused: Vec<String>,
}

impl StrictGateway {
    async fn start() -> Self {
        let mut g = StrictGateway::default();
        let app = Router::new()
            .route("/sms", post(strict_sms))
            .with_state(g.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        g.base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        g
    }

    fn trust(&self, whsec: &str) {
        let b64 = whsec.strip_prefix("whsec_").expect("a whsec_ secret");
        self.inner.lock().unwrap().key = STANDARD.decode(b64).unwrap();
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn standard_signature(key: &[u8], id: &str, ts: i64, body: &str) -> String {
    format!(
        "v1,{}",
        STANDARD.encode(hmac256(key, format!("{id}.{ts}.{body}").as_bytes()))
    )
}

fn check_standard(g: &mut Strict, headers: &HeaderMap, body: &str) -> Result<(), &'static str> {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let (Some(id), Some(ts), Some(sigs)) = (
        h("webhook-id"),
        h("webhook-timestamp"),
        h("webhook-signature"),
    ) else {
        return Err("unsigned");
    };
    let ts: i64 = ts.parse().map_err(|_| "bad timestamp")?;
    if (unix_now() - ts).abs() > 300 {
        return Err("stale timestamp");
    }
    let expected = standard_signature(&g.key, id, ts, body);
    if !sigs.split(' ').any(|s| s == expected) {
        return Err("bad signature");
    }
    if !g.seen.insert(id.to_string()) {
        return Err("replayed");
    }
    Ok(())
}

async fn strict_sms(State(g): State<StrictGateway>, headers: HeaderMap, body: Bytes) -> Response {
    let body = String::from_utf8_lossy(&body).into_owned();
    let mut inner = g.inner.lock().unwrap();
    match check_standard(&mut inner, &headers, &body) {
        Ok(()) => {
            let n = inner.accepted.len() + 1;
            inner.accepted.push((headers, body));
            (
                StatusCode::OK,
                [("content-type", "application/json")],
                json!({"request_id": format!("gw-{n}")}).to_string(),
            )
                .into_response()
        }
        Err(why) => {
            inner.refused.push(why.to_string());
            (
                StatusCode::UNAUTHORIZED,
                [("content-type", "application/json")],
                json!({"error": why}).to_string(),
            )
                .into_response()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_custom_provider_signs_requests_a_strict_gateway_verifies() {
    let s = TestServer::start().await;
    let g = StrictGateway::start().await;
    let api = Api::new(&s).await;
    let settings = json!({"url": format!("{}/sms", g.base), "method": "POST", "content_type": "json",
                          "payload_template": "{\"to\": {{mobile}}, \"text\": {{body}}}", "sign_requests": true});
    let bad = api
        .post(
            "/api/v1/channels/sms/providers",
            json!({"name": "gw", "kind": "custom", "settings": settings, "secrets": {"signing_secret": "not-a-whsec"}}),
        )
        .await;
    bad.problem(422, "secrets.signing_secret");
    let p = sms_provider(
        &api,
        json!({"name": "gw", "kind": "custom", "settings": settings}),
    )
    .await;
    let secret = p["signing_secret"]
        .as_str()
        .expect("generated and shown once")
        .to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(STANDARD.decode(&secret[6..]).unwrap().len(), 32);
    assert_eq!(p["settings"]["sign_requests"], true);
    assert_eq!(p["secrets"]["signing_secret_set"], true);
    let id = p["id"].as_str().unwrap().to_string();
    let read = api
        .get(&format!("/api/v1/channels/sms/providers/{id}"))
        .await;
    assert!(
        !read.text.contains(&secret[6..]),
        "never readable again: {}",
        read.text
    );
    let audit = api.get("/api/v1/audit-events").await;
    assert!(!audit.text.contains(&secret[6..]), "{}", audit.text);
    g.trust(&secret);

    // Real sends, verified by the gateway.
    let app = s.app("Shop").await;
    let (st, v) = verify(&s, &app, TO).await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = verify(&s, &app, "+14155550111").await;
    assert_eq!(st, 201, "{v}");
    let (headers, body) = {
        let inner = g.inner.lock().unwrap();
        assert_eq!(inner.accepted.len(), 2, "refused: {:?}", inner.refused);
        inner.accepted[0].clone()
    };
    assert!(body.contains(TO), "{body}");
    let h = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_string();
    assert_ne!(
        h("webhook-id"),
        g.inner.lock().unwrap().accepted[1].0["webhook-id"],
        "a fresh id per request"
    );

    // The gateway refuses a replayed request, a stale timestamp and an unsigned one.
    let http = reqwest::Client::new();
    let replay = |extra: &[(&str, String)]| {
        let mut r = http
            .post(format!("{}/sms", g.base))
            .header("content-type", "application/json")
            .body(body.clone());
        for (k, v) in extra {
            r = r.header(*k, v);
        }
        r.send()
    };
    let same = [
        ("webhook-id", h("webhook-id")),
        ("webhook-timestamp", h("webhook-timestamp")),
        ("webhook-signature", h("webhook-signature")),
    ];
    assert_eq!(replay(&same).await.unwrap().status(), 401);
    let old = unix_now() - 600;
    let key = g.inner.lock().unwrap().key.clone();
    let stale = [
        ("webhook-id", "msg_stale".to_string()),
        ("webhook-timestamp", old.to_string()),
        (
            "webhook-signature",
            standard_signature(&key, "msg_stale", old, &body),
        ),
    ];
    assert_eq!(replay(&stale).await.unwrap().status(), 401);
    assert_eq!(replay(&[]).await.unwrap().status(), 401);
    assert_eq!(
        g.inner.lock().unwrap().refused,
        ["replayed", "stale timestamp", "unsigned"]
    );

    // Rotation: clearing the secret generates a new one, shown once; the gateway that
    // still trusts the old one refuses the next send.
    let u = api
        .put(
            &format!("/api/v1/channels/sms/providers/{id}"),
            json!({"secrets": {"signing_secret": null}}),
        )
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    let rotated = u.body["signing_secret"].as_str().unwrap().to_string();
    assert_ne!(rotated, secret);
    let (st, v) = verify(&s, &app, TO).await;
    assert_eq!(st, 502, "{v}");
    assert_eq!(
        g.inner.lock().unwrap().refused.last().unwrap(),
        "bad signature"
    );
    g.trust(&rotated);
    let (st, v) = verify(&s, &app, TO).await;
    assert_eq!(st, 201, "{v}");
    // A WSO2-shaped update (which has no word for sign_requests) keeps the signing on.
    let w = api
        .put(
            "/api/server/v1/notification-senders/sms/gw",
            json!({"name": "gw", "provider": "Custom", "providerURL": format!("{}/sms", g.base), "contentType": "JSON",
                   "properties": [{"key": "body", "value": "{\"to\": {{mobile}}, \"text\": {{body}}}"},
                                  {"key": "http.method", "value": "POST"}]}),
        )
        .await;
    assert_eq!(w.status, 200, "{}", w.text);
    let after = api
        .get(&format!("/api/v1/channels/sms/providers/{id}"))
        .await;
    assert_eq!(
        after.body["settings"]["sign_requests"], true,
        "{}",
        after.text
    );
    let (st, v) = verify(&s, &app, TO).await;
    assert_eq!(st, 201, "{v}");
    // A plain save keeps the secret (nothing new to show).
    let keep = api
        .put(
            &format!("/api/v1/channels/sms/providers/{id}"),
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(keep.status, 200, "{}", keep.text);
    assert!(keep.body.get("signing_secret").is_none(), "{}", keep.text);
    s.stop().await;
}

// ---- scrubbing ----------------------------------------------------------------------

const HEADER_TOKEN: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
const API_KEY: &str = "ak-9f8e7d6c5b4a3921";
const LK_NUMBER: &str = "+94771234567";

/// A gateway that refuses with 401 and echoes the whole request back — URL, headers,
/// body — plus the number as it would write it (national forms), as many gateways do.
async fn echo_gateway() -> String {
    async fn echo(headers: HeaderMap, RawQuery(q): RawQuery, body: Bytes) -> Response {
        let mut text = String::from("401 Unauthorized: invalid credentials for ");
        text.push_str(&format!("POST /echo?{} ", q.unwrap_or_default()));
        for (k, v) in &headers {
            if k.as_str().starts_with('x') || k == "authorization" {
                text.push_str(&format!("{k}: {} ", v.to_str().unwrap_or_default()));
            }
        }
        text.push_str(&format!(
            "recipient 077 123 4567 / 0771234567 / 771234567 / 94771234567 / 077+123+4567 body {}",
            String::from_utf8_lossy(&body)
        ));
        (StatusCode::UNAUTHORIZED, text).into_response()
    }
    let app = Router::new().route("/echo", post(echo));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_gateway_echoes_are_scrubbed_from_answers_logs_and_message_log() {
    let log = captured_log();
    let s = crate::oidc::server().await;
    let api = Api::new(&s).await;
    // The console session first (its code goes through the dev outbox).
    let (mut b, overview) = admin_in_console(&s, &api).await;
    assert_eq!(overview.status, 200);

    // The console's save notice shows a generated signing secret once (the provider is
    // left disabled: it takes no part in the sends below).
    let csrf = overview.csrf();
    let saved = b
        .post(
            "/console/channels/sms/providers",
            &[
                ("csrf", csrf.as_str()),
                ("kind", "custom"),
                ("name", "signed"),
                ("url", "https://gateway.example.com/sms"),
                ("content_type", "json"),
                ("method", "POST"),
                (
                    "payload_template",
                    "{\"to\": {{mobile}}, \"text\": {{body}}}",
                ),
                ("sign_requests", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let at = saved
        .body
        .find("whsec_")
        .expect("the notice shows the secret");
    let whsec: String = saved.body[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "_+/=".contains(*c))
        .collect();
    assert!(whsec.len() > 40, "{whsec}");
    let signed = api.get("/api/v1/channels/sms/providers").await;
    assert_eq!(
        signed.body["providers"][0]["settings"]["sign_requests"],
        true
    );
    assert_eq!(signed.body["providers"][0]["enabled"], false);
    let edit = b
        .get(&format!(
            "/console/channels/sms?tab=custom&edit={}",
            signed.body["providers"][0]["id"].as_str().unwrap()
        ))
        .await;
    assert!(!edit.body.contains(&whsec[6..]), "shown once only");
    assert!(edit.body.contains("Sign requests"), "{}", edit.body);

    let base = echo_gateway().await;
    sms_provider(
        &api,
        json!({"name": "echo", "kind": "custom",
                   "settings": {"url": format!("{base}/echo?to={{{{mobile}}}}"), "method": "POST", "content_type": "json",
                                "payload_template": "{\"to\": {{mobile}}, \"text\": {{body}}}"},
                   "secrets": {"headers": format!("Authorization: Bearer {HEADER_TOKEN}, X-Api-Key: {API_KEY}")}}),
    )
    .await;
    let app = s.app("Shop").await;
    let before = log.lock().unwrap().len();
    let (st, v) = verify(&s, &app, LK_NUMBER).await;
    assert_eq!(st, 502, "{v}");
    let answer = v.to_string();
    assert_eq!(v["type"], "urn:idgate:problem:delivery_failed");
    let message_id = v["message_id"]
        .as_str()
        .expect("the message id")
        .to_string();
    assert!(
        v["detail"].as_str().unwrap().contains(&message_id),
        "{answer}"
    );
    assert!(
        !answer.contains("Unauthorized") && !answer.contains("invalid credentials"),
        "no gateway text for callers: {answer}"
    );

    let m = api.get(&format!("/api/v1/messages/{message_id}")).await;
    assert_eq!(m.status, 200, "{}", m.text);
    let attempt = m.body["attempt_log"][0]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        attempt.contains("invalid credentials")
            && attempt.contains("[redacted]")
            && attempt.contains("+9477•••••67"),
        "admins see the scrubbed gateway text: {attempt}"
    );
    let console = b.get("/console/messages?status=failed").await;
    assert_eq!(console.status, 200);
    assert!(
        console.body.contains("invalid credentials"),
        "{}",
        console.body
    );
    let server_log = String::from_utf8_lossy(&log.lock().unwrap()[before..]).into_owned();
    assert!(
        server_log.contains("provider attempt failed") && server_log.contains("[redacted]"),
        "{server_log}"
    );

    let forbidden = [
        HEADER_TOKEN,
        API_KEY,
        LK_NUMBER,
        "94771234567",
        "%2B94771234567",
        "077 123 4567",
        "0771234567",
        "771234567",
        "077+123+4567",
    ];
    for (place, text) in [
        ("Verify API answer", answer.as_str()),
        ("message log (admin API)", m.text.as_str()),
        ("console", console.body.as_str()),
        ("server log", server_log.as_str()),
    ] {
        for f in forbidden {
            assert!(!text.contains(f), "{place} holds {f}: {text}");
        }
    }
    s.stop().await;
}

// ---- log lines ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_delivery_report_fields_cannot_forge_log_lines() {
    let log = captured_log();
    let s = TestServer::start().await;
    let g = FakeGateway::start().await;
    let api = Api::new(&s).await;
    let p = sms_provider(
        &api,
        json!({"name": "d7", "kind": "d7-sms", "settings": {"originator": "SignOTP", "base_url": g.base},
                   "secrets": {"api_token": fake_d7::TOKEN}}),
    )
    .await;
    let url = p["report_url"].as_str().unwrap();
    let path = url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap();
    let app = s.app("Shop").await;
    let (st, v) = verify(&s, &app, TO).await;
    assert_eq!(st, 201, "{v}");
    let rid = message_of(&api, &v).await["provider_message_id"]
        .as_str()
        .unwrap()
        .to_string();
    let forged = "1999-01-01T00:00:00.000000Z  INFO idgate_web::auth: FORGED admin signed in";
    let before = log.lock().unwrap().len();
    // Unknown message (its id is logged), a known one with an unknown status (the status
    // is logged), as JSON and as a form, with every kind of control character.
    let reports = [
        (
            "application/json",
            json!({"request_id": format!("nope\n{forged}"), "status": "delivered"}).to_string(),
        ),
        (
            "application/json",
            json!({"request_id": rid, "status": format!("odd\r\n{forged}\r\x1b[1A\x1b[2K\u{2028}{forged}\u{85}{forged}\x0b\x0c")}).to_string(),
        ),
        (
            "application/x-www-form-urlencoded",
            format!(
                "request_id={rid}&status={}",
                url::form_urlencoded::byte_serialize(format!("x\n{forged}").as_bytes())
                    .collect::<String>()
            ),
        ),
    ];
    for (ct, body) in &reports {
        assert_eq!(post_hook(&s, &path, ct, body, &[]).await, 200, "{body}");
    }
    let text = String::from_utf8_lossy(&log.lock().unwrap()[before..]).into_owned();
    let with_forgery: Vec<&str> = text.lines().filter(|l| l.contains("FORGED")).collect();
    assert_eq!(with_forgery.len(), 3, "each report logged once: {text}");
    for line in &with_forgery {
        assert!(
            line.contains("delivery report"),
            "the forged text stays inside the real line: {line:?}"
        );
        assert!(!line.starts_with("1999"), "{line:?}");
    }
    for bad in [
        "\r", "\x1b[1A", "\x1b[2K", "\u{2028}", "\u{85}", "\x0b", "\x0c",
    ] {
        assert!(!text.contains(bad), "{bad:?} reached the log: {text:?}");
    }
    assert!(
        text.contains(r"\n1999-01-01"),
        "escaped, still readable: {text}"
    );
    assert!(!text.lines().any(|l| l.starts_with("1999")), "{text}");
    s.stop().await;
}
