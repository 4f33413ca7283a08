//! A lean HTTP/1.1 client for the sign-in scenario: one kept-alive connection per
//! worker, driven by hyper's connection API directly.
//!
//! The load client shares the machine's two cores with the server, so whatever it spends
//! per request is taken from the server. reqwest (URL parsing, IDNA, pool, layers) spent
//! ~200 µs of CPU per sign-in here — a quarter of the machine; this spends a fraction.
//! wrk does the same job for the single-request scenarios.

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{SendRequest, handshake};
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A request that takes longer than this fails (and its connection is dropped).
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// One response, body read in full.
pub struct Response {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn header(&self, name: hyper::header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or_default()
    }
}

/// A keep-alive connection to `host` (`127.0.0.1:port`), reopened when the server
/// closes it.
pub struct Conn {
    host: String,
    host_header: HeaderValue,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    /// `base` is `http://host:port`.
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let host = base
            .strip_prefix("http://")
            .context("--base must be http://host:port (loopback)")?
            .trim_end_matches('/')
            .to_string();
        Ok(Self {
            host_header: HeaderValue::from_str(&host)?,
            host,
            sender: None,
        })
    }

    async fn open(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let tcp = TcpStream::connect(&self.host).await?;
        tcp.set_nodelay(true)?;
        let (sender, conn) = handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// Sends `method path` with `headers` and an optional form body.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(hyper::header::HeaderName, &str)],
        form: Option<String>,
    ) -> anyhow::Result<Response> {
        let mut sender = match self.sender.take() {
            Some(s) if !s.is_closed() => s,
            _ => self.open().await?,
        };
        sender.ready().await?;
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.host_header.clone());
        for (name, value) in headers {
            req = req.header(name, *value);
        }
        let body = match form {
            Some(form) => {
                req = req.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
                Full::new(Bytes::from(form))
            }
            None => Full::new(Bytes::new()),
        };
        let exchange = async {
            let res = sender.send_request(req.body(body)?).await?;
            let (parts, body) = res.into_parts();
            anyhow::Ok((parts, body.collect().await?.to_bytes()))
        };
        let (parts, body) = tokio::time::timeout(TIMEOUT, exchange)
            .await
            .context("no response within 30 s")??;
        self.sender = Some(sender);
        Ok(Response {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

/// `application/x-www-form-urlencoded` from pairs.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&pct(k));
        out.push('=');
        out.push_str(&pct(v));
    }
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
