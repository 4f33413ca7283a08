//! The `signin` scenario: complete sign-ins (password + SMS code) through the real pages
//! and endpoints, each worker a browser of its own signing in as its own user.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hdrhistogram::Histogram;
use hyper::Method;
use hyper::header::{AUTHORIZATION, COOKIE, HeaderName, LOCATION, SET_COOKIE};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::http1::{Conn, form, pct};
use super::{Load, Tally, merge, new_hist};

/// A browser without redirects, carrying idgate's session cookie by hand, over one
/// kept-alive connection.
struct Browser {
    conn: Conn,
    cookie: Option<String>,
}

struct Page {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Browser {
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        form: Option<String>,
    ) -> anyhow::Result<Page> {
        let cookie = self.cookie.take();
        let headers: Vec<(HeaderName, &str)> =
            cookie.iter().map(|c| (COOKIE, c.as_str())).collect();
        let r = self.conn.send(method, path, &headers, form).await?;
        self.cookie = match r.header(SET_COOKIE) {
            Some(c) => c.split(';').next().map(str::to_string),
            None => cookie,
        };
        Ok(Page {
            status: r.status.as_u16(),
            location: r.header(LOCATION).map(str::to_string),
            body: r.text().to_string(),
        })
    }
}

fn csrf(body: &str) -> anyhow::Result<String> {
    let marker = "name=\"csrf\" value=\"";
    let at = body.find(marker).context("no csrf field")? + marker.len();
    Ok(body[at..].split('"').next().unwrap_or_default().to_string())
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// The worker's user name.
fn user(load: &Load, n: usize) -> String {
    format!("{}{n}", load.args.user_prefix)
}

/// One complete sign-in; Ok(true) when tokens came back.
async fn sign_in(load: &Load, b: &mut Browser, n: usize, seq: u64) -> anyhow::Result<bool> {
    let a = &load.args;
    b.cookie = None;
    let verifier = format!("bench-verifier-{n}-{seq}-0123456789abcdefghijklmnopqrstuvwxyz");
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let url = format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid%20profile%20phone&state=s{seq}&nonce=n{seq}&code_challenge={challenge}&code_challenge_method=S256",
        pct(&a.client_id),
        pct(&a.redirect_uri)
    );
    let p = b.send(Method::GET, &url, None).await?;
    if p.location.as_deref() != Some("/login") {
        bail!("authorize answered {} {:?}", p.status, p.location);
    }
    let page = b.send(Method::GET, "/login", None).await?;
    let username = user(load, n);
    let code_page = b
        .send(
            Method::POST,
            "/login/password",
            Some(form(&[
                ("csrf", csrf(&page.body)?.as_str()),
                ("username", username.as_str()),
                ("password", a.password.as_str()),
            ])),
        )
        .await?;
    let done = if a.password_only {
        code_page
    } else {
        enter_code(load, b, n, &code_page).await?
    };
    let code = done
        .location
        .as_deref()
        .and_then(|l| query_param(l, "code"))
        .context("no authorization code")?;
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", pct(&a.client_id), pct(&a.client_secret)))
    );
    let r = b
        .conn
        .send(
            Method::POST,
            "/token",
            &[(AUTHORIZATION, basic.as_str())],
            Some(form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", a.redirect_uri.as_str()),
                ("code_verifier", verifier.as_str()),
            ])),
        )
        .await?;
    let v: Value = serde_json::from_slice(&r.body)?;
    if r.status != 200 || !v["id_token"].is_string() {
        bail!("token endpoint answered {}: {}", r.status, v["error"]);
    }
    Ok(true)
}

/// The code step: reads this sign-in's code from the dev outbox and submits it.
async fn enter_code(
    load: &Load,
    b: &mut Browser,
    n: usize,
    code_page: &Page,
) -> anyhow::Result<Page> {
    let a = &load.args;
    if code_page.status != 200 || !code_page.body.contains("one-time-code") {
        bail!("password step answered {}", code_page.status);
    }
    // The newest message of this user's number: the number is the only one this worker
    // signs in with, so it is this sign-in's code.
    let to = number(a.area, n);
    let r = b
        .conn
        .send(
            Method::GET,
            &format!("/dev/outbox.json?to={}&limit=1", pct(&to)),
            &[],
            None,
        )
        .await?;
    let outbox: Value = serde_json::from_slice(&r.body)?;
    let text = outbox["messages"][0]["text"].as_str().unwrap_or_default();
    let code = text
        .split(|c: char| !c.is_ascii_digit())
        .rfind(|w| w.len() == 6)
        .context("no code in the dev outbox")?
        .to_string();
    let csrf = csrf(&code_page.body)?;
    b.send(
        Method::POST,
        "/login/code",
        Some(form(&[("csrf", csrf.as_str()), ("code", code.as_str())])),
    )
    .await
}

/// The number of user n (fictional 555-01xx lines): `bench/run` creates them the same way.
pub fn number(area: u16, n: usize) -> String {
    format!("+1{area}5550{:03}", 100 + n)
}

pub async fn run(load: Arc<Load>) -> anyhow::Result<(Tally, Histogram<u64>, Duration)> {
    if load.args.concurrency > load.args.users || load.args.users > 100 {
        bail!("signin needs one user per concurrent worker (--users, at most 100)");
    }
    let deadline = Instant::now() + Duration::from_secs(load.args.duration);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..load.args.concurrency {
        let load = load.clone();
        tasks.push(tokio::spawn(async move {
            let mut b = Browser {
                conn: Conn::new(&load.args.base)?,
                cookie: None,
            };
            let mut hist = new_hist()?;
            let mut tally = Tally::default();
            let mut seq = 0u64;
            while Instant::now() < deadline {
                seq += 1;
                let t = Instant::now();
                let ok = match sign_in(&load, &mut b, w, seq).await {
                    Ok(ok) => ok,
                    Err(e) => {
                        if tally.errors == 0 {
                            eprintln!("signin worker {w}: {e:#}");
                        }
                        false
                    }
                };
                hist.record(t.elapsed().as_micros() as u64)?;
                tally.requests += 1;
                tally.errors += u64::from(!ok);
            }
            anyhow::Ok((tally, hist))
        }));
    }
    merge(tasks, start).await
}
