//! The `signin` scenario: complete sign-ins (password + SMS code) through the real pages
//! and endpoints, each worker a browser of its own signing in as its own user.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hdrhistogram::Histogram;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Load, Tally, merge, new_hist};

/// A browser without redirects, carrying idgate's session cookie by hand.
struct Browser {
    http: reqwest::Client,
    cookie: Option<String>,
}

struct Page {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Browser {
    async fn send(&mut self, rb: reqwest::RequestBuilder) -> anyhow::Result<Page> {
        let rb = match &self.cookie {
            Some(c) => rb.header(COOKIE, c),
            None => rb,
        };
        let r = rb.send().await?;
        if let Some(c) = r.headers().get(SET_COOKIE).and_then(|v| v.to_str().ok()) {
            self.cookie = c.split(';').next().map(str::to_string);
        }
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok(Page {
            status,
            location,
            body: r.text().await?,
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

fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
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
        "{}/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid%20profile%20phone&state=s{seq}&nonce=n{seq}&code_challenge={challenge}&code_challenge_method=S256",
        a.base,
        pct(&a.client_id),
        pct(&a.redirect_uri)
    );
    let p = b.send(b.http.get(url)).await?;
    if p.location.as_deref() != Some("/login") {
        bail!("authorize answered {} {:?}", p.status, p.location);
    }
    let page = b.send(b.http.get(format!("{}/login", a.base))).await?;
    let username = user(load, n);
    let code_page = b
        .send(b.http.post(format!("{}/login/password", a.base)).form(&[
            ("csrf", csrf(&page.body)?.as_str()),
            ("username", username.as_str()),
            ("password", a.password.as_str()),
        ]))
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
    let r = b
        .http
        .post(format!("{}/token", a.base))
        .basic_auth(&a.client_id, Some(&a.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", a.redirect_uri.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await?;
    let status = r.status();
    let v: Value = r.json().await?;
    if status != 200 || !v["id_token"].is_string() {
        bail!("token endpoint answered {status}: {}", v["error"]);
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
    let outbox: Value = b
        .http
        .get(format!("{}/dev/outbox.json", a.base))
        .query(&[("to", to.as_str()), ("limit", "1")])
        .send()
        .await?
        .json()
        .await?;
    let text = outbox["messages"][0]["text"].as_str().unwrap_or_default();
    let code = text
        .split(|c: char| !c.is_ascii_digit())
        .rfind(|w| w.len() == 6)
        .context("no code in the dev outbox")?
        .to_string();
    b.send(b.http.post(format!("{}/login/code", a.base)).form(&[
        ("csrf", csrf(&code_page.body)?.as_str()),
        ("code", code.as_str()),
    ]))
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
                http: reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(Duration::from_secs(30))
                    .build()?,
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
