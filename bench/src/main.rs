//! `idgate-bench`: a bounded load generator for a running idgate on loopback.
//!
//! Scenarios:
//! - `issue`: `POST /api/v1/verifications` (code generated, stored, delivered to the dev
//!   outbox) for `--duration` seconds.
//! - `check`: correct-code `POST …/check`. Each round issues a batch of verifications
//!   (untimed), reads their codes from the dev outbox, then checks them all (timed); rounds
//!   repeat until the timed part reaches `--duration`.
//!
//! - `discovery`, `jwks`: `GET /.well-known/openid-configuration`, `GET /jwks`.
//! - `token`: `POST /token` with `grant_type=client_credentials` (client_secret_basic):
//!   client authentication and an ES256-signed access token.
//! - `signin`: complete sign-ins, each timed end to end: `/authorize` (PKCE, nonce) →
//!   sign-in page → password → the SMS code read from the dev outbox → code → `/token`
//!   (code exchange with the verifier). Needs `--users` users named `<prefix><n>`
//!   (n = 0…users-1) with password `--password` and distinct verified numbers. The
//!   password hash cost is whatever those users' hashes were made with.
//!
//! Prints one JSON line per run: requests, errors, rate, p50/p99/max latency.

mod http1;
mod signin;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::Mutex;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Scenario {
    Issue,
    Check,
    Discovery,
    Jwks,
    Token,
    Signin,
}

#[derive(Debug, Parser)]
#[command(about = "Load idgate's Verify API on loopback and report rates and latencies")]
struct Args {
    /// idgate's base URL (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base: String,
    #[arg(long)]
    client_id: String,
    #[arg(long)]
    client_secret: String,
    #[arg(long, value_enum)]
    scenario: Scenario,
    /// Concurrent requests in flight.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Label printed with the result (e.g. the database).
    #[arg(long, default_value = "")]
    label: String,
    /// `signin`: the redirect URI registered for the client.
    #[arg(long, default_value = "https://bench.example.com/cb")]
    redirect_uri: String,
    /// `signin`: users are `<user_prefix><n>` for n in 0..users.
    #[arg(long, default_value = "bench")]
    user_prefix: String,
    #[arg(long, default_value_t = 32)]
    users: usize,
    /// `signin`: the users' password.
    #[arg(long, default_value = "bench-password-1")]
    password: String,
    /// `signin`: user n's number is +1 <area> 555-0<100+n>.
    #[arg(long, default_value_t = 212)]
    area: u16,
    /// `signin`: the client's login flow is the password alone (no code step), the same
    /// requests as a plain OpenID Connect code flow.
    #[arg(long)]
    password_only: bool,
}

/// Distinct valid numbers (fictional 555-01xx lines in many US area codes), so no single
/// number carries the whole load.
fn numbers() -> Vec<String> {
    const AREAS: [u32; 20] = [
        201, 202, 206, 212, 213, 303, 305, 312, 404, 415, 503, 512, 602, 617, 646, 702, 718, 805,
        917, 971,
    ];
    AREAS
        .iter()
        .flat_map(|a| (100..200).map(move |n| format!("+1{a}5550{n}")))
        .collect()
}

struct Load {
    http: reqwest::Client,
    args: Args,
}

impl Load {
    async fn issue(&self, to: &str) -> anyhow::Result<(bool, String)> {
        let r = self
            .http
            .post(format!("{}/api/v1/verifications", self.args.base))
            .basic_auth(&self.args.client_id, Some(&self.args.client_secret))
            .json(&json!({"to": to, "channel": "sms"}))
            .send()
            .await?;
        let ok = r.status() == 201;
        let v: Value = r.json().await.unwrap_or(Value::Null);
        Ok((ok, v["id"].as_str().unwrap_or_default().to_string()))
    }

    async fn check(&self, id: &str, code: &str) -> anyhow::Result<bool> {
        let r = self
            .http
            .post(format!(
                "{}/api/v1/verifications/{id}/check",
                self.args.base
            ))
            .basic_auth(&self.args.client_id, Some(&self.args.client_secret))
            .json(&json!({"code": code}))
            .send()
            .await?;
        let ok = r.status() == 200;
        let v: Value = r.json().await.unwrap_or(Value::Null);
        Ok(ok && v["status"] == "approved")
    }
}

#[derive(Default)]
struct Tally {
    requests: u64,
    errors: u64,
}

fn new_hist() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000, 3).context("histogram")
}

async fn run_issue(load: Arc<Load>) -> anyhow::Result<(Tally, Histogram<u64>, Duration)> {
    let nums = Arc::new(numbers());
    let deadline = Instant::now() + Duration::from_secs(load.args.duration);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..load.args.concurrency {
        let (load, nums) = (load.clone(), nums.clone());
        tasks.push(tokio::spawn(async move {
            let mut hist = new_hist()?;
            let mut tally = Tally::default();
            let mut i = w;
            while Instant::now() < deadline {
                let t = Instant::now();
                let ok = matches!(load.issue(&nums[i % nums.len()]).await, Ok((true, _)));
                hist.record(t.elapsed().as_micros() as u64)?;
                tally.requests += 1;
                tally.errors += u64::from(!ok);
                i += load.args.concurrency;
            }
            anyhow::Ok((tally, hist))
        }));
    }
    merge(tasks, start).await
}

/// One worker's result: its counts and latencies.
type WorkerResult = anyhow::Result<(Tally, Histogram<u64>)>;

async fn merge(
    tasks: Vec<tokio::task::JoinHandle<WorkerResult>>,
    start: Instant,
) -> anyhow::Result<(Tally, Histogram<u64>, Duration)> {
    let mut hist = new_hist()?;
    let mut tally = Tally::default();
    for t in tasks {
        let (t, h) = t.await??;
        tally.requests += t.requests;
        tally.errors += t.errors;
        hist.add(h)?;
    }
    Ok((tally, hist, start.elapsed()))
}

/// Issues one batch (untimed) and returns (verification id, code) pairs.
async fn prepare_batch(load: &Arc<Load>, nums: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    let queue = Arc::new(Mutex::new(nums.to_vec()));
    let ids = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (load, queue, ids) = (load.clone(), queue.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(to) = queue.lock().await.pop() else {
                    break;
                };
                let (ok, id) = load.issue(&to).await?;
                if !ok {
                    bail!("issuing a verification failed while preparing the check batch");
                }
                ids.lock().await.push((to, id));
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let outbox: Value = load
        .http
        .get(format!("{}/dev/outbox.json?limit=500", load.args.base))
        .send()
        .await?
        .json()
        .await?;
    let mut code_for: HashMap<String, String> = HashMap::new();
    for m in outbox["messages"].as_array().into_iter().flatten().rev() {
        let text = m["text"].as_str().unwrap_or_default();
        let code = text
            .split(|c: char| !c.is_ascii_digit())
            .rfind(|w| w.len() == 6)
            .unwrap_or_default();
        code_for.insert(
            m["to"].as_str().unwrap_or_default().to_string(),
            code.to_string(),
        );
    }
    let ids = ids.lock().await.clone();
    Ok(ids
        .into_iter()
        .filter_map(|(to, id)| code_for.get(&to).map(|c| (id, c.clone())))
        .collect())
}

async fn run_check(load: Arc<Load>) -> anyhow::Result<(Tally, Histogram<u64>, Duration)> {
    let nums = numbers();
    let batch_size = 500.min(nums.len());
    let mut hist = new_hist()?;
    let mut tally = Tally::default();
    let mut timed = Duration::ZERO;
    let mut offset = 0;
    while timed < Duration::from_secs(load.args.duration) {
        let batch_nums: Vec<String> = (0..batch_size)
            .map(|i| nums[(offset + i) % nums.len()].clone())
            .collect();
        offset += batch_size;
        let batch = Arc::new(Mutex::new(prepare_batch(&load, &batch_nums).await?));
        if batch.lock().await.len() < batch_size / 2 {
            bail!("the dev outbox returned too few codes; is dev_outbox enabled?");
        }
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..load.args.concurrency {
            let (load, batch) = (load.clone(), batch.clone());
            tasks.push(tokio::spawn(async move {
                let mut hist = new_hist()?;
                let mut tally = Tally::default();
                loop {
                    let Some((id, code)) = batch.lock().await.pop() else {
                        break;
                    };
                    let t = Instant::now();
                    let ok = matches!(load.check(&id, &code).await, Ok(true));
                    hist.record(t.elapsed().as_micros() as u64)?;
                    tally.requests += 1;
                    tally.errors += u64::from(!ok);
                }
                anyhow::Ok((tally, hist))
            }));
        }
        let (t, h, elapsed) = merge(tasks, start).await?;
        tally.requests += t.requests;
        tally.errors += t.errors;
        hist.add(h)?;
        timed += elapsed;
    }
    Ok((tally, hist, timed))
}

/// One request of the `discovery`, `jwks` or `token` scenario; true when it succeeded.
async fn simple_request(load: &Load) -> anyhow::Result<bool> {
    let base = &load.args.base;
    let r = match load.args.scenario {
        Scenario::Discovery => {
            load.http
                .get(format!("{base}/.well-known/openid-configuration"))
                .send()
                .await?
        }
        Scenario::Jwks => load.http.get(format!("{base}/jwks")).send().await?,
        _ => {
            load.http
                .post(format!("{base}/token"))
                .basic_auth(&load.args.client_id, Some(&load.args.client_secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await?
        }
    };
    let ok = r.status() == 200;
    let body = r.bytes().await?;
    Ok(ok && !body.is_empty())
}

async fn run_simple(load: Arc<Load>) -> anyhow::Result<(Tally, Histogram<u64>, Duration)> {
    let deadline = Instant::now() + Duration::from_secs(load.args.duration);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..load.args.concurrency {
        let load = load.clone();
        tasks.push(tokio::spawn(async move {
            let mut hist = new_hist()?;
            let mut tally = Tally::default();
            while Instant::now() < deadline {
                let t = Instant::now();
                let ok = matches!(simple_request(&load).await, Ok(true));
                hist.record(t.elapsed().as_micros() as u64)?;
                tally.requests += 1;
                tally.errors += u64::from(!ok);
            }
            anyhow::Ok((tally, hist))
        }));
    }
    merge(tasks, start).await
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let host = reqwest::Url::parse(&args.base)?;
    if !matches!(host.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")) {
        bail!("--base must be a loopback address: this tool only loads local servers");
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency.max(32))
        .timeout(Duration::from_secs(30))
        .build()?;
    let load = Arc::new(Load { http, args });
    let (tally, hist, elapsed) = match load.args.scenario {
        Scenario::Issue => run_issue(load.clone()).await?,
        Scenario::Check => run_check(load.clone()).await?,
        Scenario::Discovery | Scenario::Jwks | Scenario::Token => run_simple(load.clone()).await?,
        Scenario::Signin => signin::run(load.clone()).await?,
    };
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{}",
        json!({
            "scenario": format!("{:?}", load.args.scenario).to_lowercase(),
            "label": load.args.label,
            "concurrency": load.args.concurrency,
            "requests": tally.requests,
            "errors": tally.errors,
            "seconds": (elapsed.as_secs_f64() * 100.0).round() / 100.0,
            "rate": (tally.requests as f64 / elapsed.as_secs_f64()).round(),
            "p50_ms": ms(0.50),
            "p99_ms": ms(0.99),
            "max_ms": hist.max() as f64 / 1000.0,
        })
    );
    Ok(())
}
