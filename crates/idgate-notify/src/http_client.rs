//! The one outbound HTTP client every provider shares, and the one function that uses it.
//!
//! Rules, in one place so no provider can forget them: rustls; redirects are never
//! followed (a gateway that redirects could bounce a code to a host nobody configured);
//! only http(s) URLs; a response body is read up to [`MAX_RESPONSE_BYTES`] (a gateway
//! answering with an endless body cannot exhaust memory); the request and its body are
//! never logged (they hold the code and often a credential).

use std::time::{Duration, Instant};

use reqwest::{Client, Method, Url};

use crate::provider::SendError;

/// The longest response body read; the rest is ignored.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// How long establishing a TCP/TLS connection may take (inside the attempt timeout).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds the shared client. Build it once per process and clone it (clones share the
/// connection pool).
pub fn build_client() -> Result<Client, String> {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_idle_timeout(Duration::from_secs(60))
        .user_agent(concat!("idgate/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// The body of a request.
#[derive(Clone)]
pub enum Body {
    None,
    Json(String),
    Form(String),
}

/// One request, fully rendered. It holds the code: never log it.
#[derive(Clone)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub basic_auth: Option<(String, String)>,
    pub body: Body,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpRequest(…)")
    }
}

/// What a gateway answered.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    pub status: u16,
    /// At most [`MAX_RESPONSE_BYTES`], lossily decoded.
    pub body: String,
    pub latency_ms: u32,
}

impl HttpAnswer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// Sends `req`. Transport failures become [`SendError`]s: a connect failure is retryable
/// (nothing reached the gateway); a timeout or a connection broken after sending is
/// *ambiguous* (the gateway may have accepted the message) — the dispatcher fails over
/// instead of repeating it on the same gateway. The attempt timeout is the caller's.
pub async fn send(client: &Client, req: HttpRequest) -> Result<HttpAnswer, SendError> {
    let url = Url::parse(&req.url)
        .map_err(|_| SendError::permanent("the provider URL is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SendError::permanent(
            "the provider URL must be http or https",
        ));
    }
    let mut builder = client.request(req.method, url);
    for (name, value) in &req.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some((user, password)) = &req.basic_auth {
        builder = builder.basic_auth(user, Some(password));
    }
    builder = match req.body {
        Body::None => builder,
        Body::Json(b) => builder
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(b),
        Body::Form(b) => builder
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(b),
    };
    if !req
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("accept"))
    {
        builder = builder.header(reqwest::header::ACCEPT, "application/json");
    }
    let started = Instant::now();
    let mut resp = builder.send().await.map_err(transport_error)?;
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_RESPONSE_BYTES.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= MAX_RESPONSE_BYTES {
                    break;
                }
            }
            Ok(None) => break,
            // The status is known; a broken body still tells us what the gateway decided.
            Err(_) => break,
        }
    }
    Ok(HttpAnswer {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
        latency_ms: elapsed_ms(started),
    })
}

/// Milliseconds since `started`, saturating.
pub fn elapsed_ms(started: Instant) -> u32 {
    u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX)
}

fn transport_error(e: reqwest::Error) -> SendError {
    // reqwest's Display can include the URL, whose query may hold a key or the code:
    // only the class of failure is reported.
    if e.is_connect() {
        SendError::retryable("could not connect to the gateway")
    } else if e.is_timeout() {
        SendError::ambiguous("the gateway did not answer in time")
    } else if e.is_builder() {
        SendError::permanent("the request could not be built (check the URL and headers)")
    } else {
        SendError::ambiguous("the connection to the gateway broke before it answered")
    }
}
