//! A fake SMS gateway: D7's `/messages/v1/send` and `/whatsapp/v2/send`, Twilio's Messages
//! API and Vonage's SMS API, on 127.0.0.1:0. It checks credentials and bodies the way
//! `shared/reference/d7-api.md` describes, answers in the providers' shapes, records what
//! it received (tests read the code from it), and can be told to fail.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::{Value, json};

pub const TOKEN: &str = "d7-test-token";
pub const TWILIO_SID: &str = "AC0123456789";
pub const TWILIO_TOKEN: &str = "twilio-test-token";
pub const VONAGE_KEY: &str = "vkey";
pub const VONAGE_SECRET: &str = "vsecret";

/// What the next request gets instead of a normal answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Status500,
    Status401,
    Status402,
    Status422,
    /// Never answers.
    Hang,
    /// Closes the connection without an answer.
    Drop,
    /// Answers normally, but only after this long (a gateway slower than the timeout).
    Slow(Duration),
}

/// One request the gateway received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
    /// What the gateway answered (status).
    pub status: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Default)]
struct Inner {
    faults: VecDeque<Fault>,
    always: Option<Fault>,
    received: Vec<Received>,
    next_id: u64,
}

#[derive(Clone, Default)]
pub struct FakeGateway {
    inner: Arc<Mutex<Inner>>,
    pub base: String,
}

impl FakeGateway {
    pub async fn start() -> Self {
        let mut g = FakeGateway::default();
        let app = Router::new()
            .route("/messages/v1/send", post(d7_sms))
            .route("/whatsapp/v2/send", post(d7_whatsapp))
            .route("/2010-04-01/Accounts/{sid}/Messages.json", post(twilio))
            .route("/sms/json", post(vonage))
            .route("/custom", post(custom).put(custom).get(custom_get))
            .with_state(g.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        g.base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        g
    }

    /// The next requests fail like this, in order.
    pub fn fail_next(&self, faults: &[Fault]) {
        self.inner.lock().unwrap().faults.extend(faults);
    }

    /// Every request fails like this (None: answer normally again).
    pub fn fail_always(&self, fault: Option<Fault>) {
        self.inner.lock().unwrap().always = fault;
    }

    /// Forgets queued and standing faults: every request is answered normally again.
    pub fn clear_faults(&self) {
        let mut i = self.inner.lock().unwrap();
        i.faults.clear();
        i.always = None;
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    fn take_fault(&self) -> Option<Fault> {
        let mut i = self.inner.lock().unwrap();
        i.faults.pop_front().or(i.always)
    }

    fn next_id(&self) -> String {
        let mut i = self.inner.lock().unwrap();
        i.next_id += 1;
        format!("req-{:04}", i.next_id)
    }

    fn record(&self, path: &str, headers: &HeaderMap, body: &Bytes, status: u16) {
        self.inner.lock().unwrap().received.push(Received {
            path: path.into(),
            headers: headers.clone(),
            body: String::from_utf8_lossy(body).into_owned(),
            status,
        });
    }

    /// Applies a queued fault (recording the request), or returns None to answer normally.
    async fn fault(&self, path: &str, headers: &HeaderMap, body: &Bytes) -> Option<Response> {
        let f = self.take_fault()?;
        let (status, answer) = match f {
            Fault::Slow(delay) => {
                tokio::time::sleep(delay).await;
                return None;
            }
            Fault::Status500 => (500, json!({"detail": "internal error"})),
            Fault::Status401 => (
                401,
                json!({"detail": {"code": "ACCESS_TOKEN_SIGNATURE_VERIFICATION_FAILED", "message": "It looks like your requested token signature is invalid."}}),
            ),
            Fault::Status402 => (
                402,
                json!({"detail": {"code": "INSUFFICIENT_CREDIT", "message": "Insufficient credit."}}),
            ),
            Fault::Status422 => (
                422,
                json!({"detail": [{"loc": ["body", "messages", 0, "recipients"], "msg": "field required", "type": "value_error.missing"}]}),
            ),
            Fault::Hang => {
                self.record(path, headers, body, 0);
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return Some(StatusCode::GATEWAY_TIMEOUT.into_response());
            }
            Fault::Drop => {
                self.record(path, headers, body, 0);
                // A panic ends this connection's task: the client sees the connection close.
                panic!("fake gateway: dropping the connection on purpose");
            }
        };
        self.record(path, headers, body, status);
        Some(answer_json(status, answer))
    }
}

fn answer_json(status: u16, v: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn bearer_ok(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

fn is_e164(s: &str) -> bool {
    let d = s.strip_prefix('+').unwrap_or(s);
    (6..=15).contains(&d.len()) && d.chars().all(|c| c.is_ascii_digit())
}

fn unprocessable(loc: Vec<Value>, msg: &str) -> (u16, Value) {
    let mut full = vec![json!("body")];
    full.extend(loc);
    (
        422,
        json!({"detail": [{"loc": full, "msg": msg, "type": "value_error"}]}),
    )
}

/// D7's checks for `/messages/v1/send`.
fn check_sms(body: &Value) -> Result<(), (u16, Value)> {
    let Some(msgs) = body
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
    else {
        return Err(unprocessable(vec![json!("messages")], "field required"));
    };
    let globals = body.get("message_globals");
    for (i, m) in msgs.iter().enumerate() {
        let at = |f: &str| vec![json!("messages"), json!(i), json!(f)];
        if let Some(ch) = m.get("channel")
            && ch != "sms"
        {
            return Err(unprocessable(
                at("channel"),
                "unexpected value; permitted: 'sms'",
            ));
        }
        let recips = m.get("recipients").and_then(Value::as_array);
        match recips {
            Some(r) if !r.is_empty() && r.iter().all(|x| x.as_str().is_some_and(is_e164)) => {}
            _ => return Err(unprocessable(at("recipients"), "invalid recipients")),
        }
        if m.get("content")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(unprocessable(at("content"), "field required"));
        }
        let orig = m
            .get("originator")
            .or_else(|| globals.and_then(|g| g.get("originator")))
            .and_then(Value::as_str);
        match orig {
            Some(o) if o.chars().count() <= 11 || is_e164(o) => {}
            _ => return Err(unprocessable(at("originator"), "invalid originator")),
        }
        if let Some(dc) = m.get("data_coding")
            && !["text", "unicode", "auto"].contains(&dc.as_str().unwrap_or(""))
        {
            return Err(unprocessable(at("data_coding"), "invalid data_coding"));
        }
    }
    Ok(())
}

/// D7's checks for `/whatsapp/v2/send` (authentication template).
fn check_whatsapp(body: &Value) -> Result<(), (u16, Value)> {
    let Some(m) = body.get("messages").and_then(|m| m.get(0)) else {
        return Err(unprocessable(vec![json!("messages")], "field required"));
    };
    let at = |f: &str| vec![json!("messages"), json!(0), json!(f)];
    if m.get("originator")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(unprocessable(at("originator"), "field required"));
    }
    let t = m.pointer("/content/template");
    if m.pointer("/content/message_type").and_then(Value::as_str) != Some("TEMPLATE")
        || t.and_then(|t| t.get("template_id"))
            .and_then(Value::as_str)
            .is_none()
        || t.and_then(|t| t.get("language"))
            .and_then(Value::as_str)
            .is_none()
    {
        return Err(unprocessable(at("content"), "invalid template"));
    }
    let payload = t
        .and_then(|t| t.pointer("/buttons/actions/0/action_payload"))
        .and_then(Value::as_str);
    if !payload.is_some_and(|p| !p.is_empty() && p.chars().count() <= 15) {
        return Err(unprocessable(
            at("content"),
            "action_payload must be 1-15 characters",
        ));
    }
    let recips = m.get("recipients").and_then(Value::as_array);
    let ok = recips.is_some_and(|r| {
        !r.is_empty()
            && r.iter().all(|x| {
                x.get("recipient")
                    .and_then(Value::as_str)
                    .or(x.as_str())
                    .is_some_and(is_e164)
            })
    });
    if !ok {
        return Err(unprocessable(at("recipients"), "invalid recipients"));
    }
    Ok(())
}

async fn d7(
    g: FakeGateway,
    path: &str,
    headers: HeaderMap,
    body: Bytes,
    check: fn(&Value) -> Result<(), (u16, Value)>,
) -> Response {
    if let Some(r) = g.fault(path, &headers, &body).await {
        return r;
    }
    let (status, answer) = if !bearer_ok(&headers) {
        (
            401,
            json!({"detail": {"code": "ACCESS_TOKEN_SIGNATURE_VERIFICATION_FAILED", "message": "It looks like your requested token signature is invalid."}}),
        )
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Err(_) => (400, json!({"detail": "body is not valid JSON"})),
            Ok(v) => match check(&v) {
                Err(e) => e,
                Ok(()) => (
                    200,
                    json!({"request_id": g.next_id(), "status": "accepted", "created_at": "2026-01-01T00:00:00Z"}),
                ),
            },
        }
    };
    g.record(path, &headers, &body, status);
    answer_json(status, answer)
}

async fn d7_sms(State(g): State<FakeGateway>, headers: HeaderMap, body: Bytes) -> Response {
    d7(g, "/messages/v1/send", headers, body, check_sms).await
}

async fn d7_whatsapp(State(g): State<FakeGateway>, headers: HeaderMap, body: Bytes) -> Response {
    d7(g, "/whatsapp/v2/send", headers, body, check_whatsapp).await
}

/// A generic gateway for custom providers: D7's answer shape, any body.
async fn custom(State(g): State<FakeGateway>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = g.fault("/custom", &headers, &body).await {
        return r;
    }
    g.record("/custom", &headers, &body, 200);
    answer_json(200, json!({"request_id": g.next_id()}))
}

async fn custom_get(
    State(g): State<FakeGateway>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let q = Bytes::from(uri.query().unwrap_or_default().to_string());
    custom(State(g), headers, q).await
}

fn form(body: &Bytes) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

async fn twilio(
    State(g): State<FakeGateway>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/2010-04-01/Accounts/{sid}/Messages.json");
    if let Some(r) = g.fault(&path, &headers, &body).await {
        return r;
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{TWILIO_SID}:{TWILIO_TOKEN}"))
    );
    let f = form(&body);
    let has = |k: &str| f.iter().any(|(n, v)| n == k && !v.is_empty());
    let (status, answer) = if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&expected)
        || sid != TWILIO_SID
    {
        (
            401,
            json!({"code": 20003, "message": "Authenticate", "status": 401}),
        )
    } else if !has("To") || !has("Body") || !(has("From") || has("MessagingServiceSid")) {
        (
            400,
            json!({"code": 21604, "message": "A 'To' phone number is required.", "status": 400}),
        )
    } else {
        (
            201,
            json!({"sid": format!("SM{}", g.next_id()), "status": "queued"}),
        )
    };
    g.record(&path, &headers, &body, status);
    answer_json(status, answer)
}

async fn vonage(State(g): State<FakeGateway>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = g.fault("/sms/json", &headers, &body).await {
        return r;
    }
    let f = form(&body);
    let get = |k: &str| {
        f.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let answer = if get("api_key") != VONAGE_KEY || get("api_secret") != VONAGE_SECRET {
        json!({"message-count": "1", "messages": [{"status": "4", "error-text": "Bad Credentials"}]})
    } else if get("to").is_empty() || get("text").is_empty() || get("to").starts_with('+') {
        json!({"message-count": "1", "messages": [{"status": "2", "error-text": "Missing to"}]})
    } else if !(get("callback").is_empty()
        || url::Url::parse(&get("callback")).is_ok_and(|u| matches!(u.scheme(), "http" | "https")))
    {
        json!({"message-count": "1", "messages": [{"status": "2", "error-text": "Invalid callback"}]})
    } else {
        json!({"message-count": "1", "messages": [{"to": get("to"), "message-id": g.next_id(), "status": "0"}]})
    };
    g.record("/sms/json", &headers, &body, 200);
    answer_json(200, answer)
}
