//! Gateway faults under a bounded load of sends: two SMS providers in failover order,
//! each a fake D7 gateway; the primary is made slow (answers after more than the attempt
//! timeout), answers 500, drops the connection, or mixes all three with good answers,
//! and finally both gateways are down. Every Verify API send must *answer* — 201 through
//! the secondary, or 502 when nothing could deliver — within the configured delivery
//! deadline plus a small margin for the request's own database work. That is a
//! correctness bound (the deadline is what the dispatcher promises a waiting user), not
//! a throughput figure. The failover rate (sends the secondary delivered) is printed.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fake_d7::{self, FakeGateway, Fault};
use crate::harness::TestServer;

/// The primary provider's own attempt timeout (its `settings.timeout_ms`).
const PRIMARY_TIMEOUT_MS: u64 = 1_000;
/// `delivery.attempt_timeout_ms`, which the secondary uses: longer than the deadline,
/// so when the secondary hangs too it is the deadline that must end the send.
const ATTEMPT_MS: u64 = 5_000;
/// `delivery.deadline_ms`: all attempts of one send together.
const DEADLINE_MS: u64 = 1_500;
/// What a send may take beyond the deadline: its verification row, the message log,
/// the HTTP round trip (debug build, loopback, a few concurrent requests). A send that
/// ignored the deadline with both gateways hanging would take the primary's timeout
/// plus the secondary's (6 s), far past deadline + margin.
const MARGIN_MS: u64 = 1_000;
const CLIENTS: usize = 6;

/// What the primary (and secondary) gateway do during a phase.
#[derive(Clone, Copy)]
enum Plan {
    /// Every request meets this fault.
    Always(Fault),
    /// Each request meets a random one of slow / 500 / drop / a normal answer.
    Mixed,
    Healthy,
}

struct Phase {
    name: &'static str,
    primary: Plan,
    secondary: Plan,
    sends_per_client: usize,
    /// Whether every send must be delivered (the secondary is healthy).
    delivered: bool,
}

/// One send's outcome.
struct Outcome {
    to: String,
    status: Option<StatusCode>,
    body: Value,
    took: Duration,
}

/// Slower than the primary's timeout (the secondary meets it only when both are down).
fn slow() -> Fault {
    Fault::Slow(Duration::from_millis(PRIMARY_TIMEOUT_MS * 2))
}

fn apply(g: &FakeGateway, plan: Plan, requests: usize) {
    match plan {
        Plan::Always(f) => g.fail_always(Some(f)),
        Plan::Healthy => g.fail_always(None),
        Plan::Mixed => {
            g.fail_always(None);
            // A 500 is retried up to 3 times: enough entries for every attempt.
            let faults: Vec<Fault> = (0..requests * 3)
                .map(|_| match uuid::Uuid::new_v4().as_bytes()[0] % 4 {
                    0 => slow(),
                    1 => Fault::Status500,
                    2 => Fault::Drop,
                    _ => Fault::Slow(Duration::ZERO),
                })
                .collect();
            g.fail_next(&faults);
        }
    }
}

async fn send(http: reqwest::Client, base: String, app: (String, String), to: String) -> Outcome {
    let started = Instant::now();
    let r = http
        .post(format!("{base}/api/v1/verifications"))
        .basic_auth(&app.0, Some(&app.1))
        .json(&json!({"to": to, "channel": "sms", "fallback_channel": "none"}))
        // A send that ignored the deadline fails the test instead of hanging it.
        .timeout(Duration::from_millis(DEADLINE_MS + 10_000))
        .send()
        .await;
    match r {
        Ok(r) => {
            let status = r.status();
            let body = r.json().await.unwrap_or(Value::Null);
            Outcome {
                to,
                status: Some(status),
                body,
                took: started.elapsed(),
            }
        }
        Err(e) => Outcome {
            to,
            status: None,
            body: json!(e.to_string()),
            took: started.elapsed(),
        },
    }
}

/// The fake gateway drops a connection by panicking in its handler; keep those
/// deliberate panics out of the output (each nextest test is its own process).
fn quiet_deliberate_drops() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let p = info.payload();
        let msg = p
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| p.downcast_ref::<String>().map(String::as_str))
            .unwrap_or_default();
        if !msg.contains("dropping the connection on purpose") {
            default(info);
        }
    }));
}

/// Whether `g` accepted a message for `to`.
fn accepted(g: &FakeGateway, to: &str) -> bool {
    g.received().iter().any(|r| {
        r.status == 200
            && r.json()["messages"][0]["recipients"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == to))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn faults_slow_500_and_dropping_gateways_never_hold_a_send_past_the_deadline() {
    quiet_deliberate_drops();
    let s = TestServer::start_with(|c| {
        c.delivery.attempt_timeout_ms = ATTEMPT_MS;
        c.delivery.deadline_ms = DEADLINE_MS;
        c.delivery.backoff_initial_ms = 20;
        c.delivery.backoff_max_ms = 100;
        c.delivery.max_attempts_per_provider = 3;
    })
    .await;
    let primary = FakeGateway::start().await;
    let secondary = FakeGateway::start().await;
    let token = s.admin_token().await;
    for (name, g, timeout) in [
        ("primary", &primary, Some(PRIMARY_TIMEOUT_MS)),
        ("secondary", &secondary, None),
    ] {
        let mut settings = json!({"originator": "idgate", "base_url": g.base});
        if let Some(t) = timeout {
            settings["timeout_ms"] = json!(t);
        }
        let r = s
            .http
            .post(s.url("/api/v1/channels/sms/providers"))
            .bearer_auth(&token)
            .json(
                &json!({"name": name, "kind": "d7-sms", "settings": settings,
                "secrets": {"api_token": fake_d7::TOKEN}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    let app = s.app("Faults").await;
    let phases = [
        Phase {
            name: "primary slow",
            primary: Plan::Always(slow()),
            secondary: Plan::Healthy,
            sends_per_client: 2,
            delivered: true,
        },
        Phase {
            name: "primary 500",
            primary: Plan::Always(Fault::Status500),
            secondary: Plan::Healthy,
            sends_per_client: 3,
            delivered: true,
        },
        Phase {
            name: "primary drops the connection",
            primary: Plan::Always(Fault::Drop),
            secondary: Plan::Healthy,
            sends_per_client: 3,
            delivered: true,
        },
        Phase {
            name: "primary mixed",
            primary: Plan::Mixed,
            secondary: Plan::Healthy,
            sends_per_client: 3,
            delivered: true,
        },
        Phase {
            name: "both down (hang, hang)",
            primary: Plan::Always(Fault::Hang),
            secondary: Plan::Always(Fault::Hang),
            sends_per_client: 2,
            delivered: false,
        },
    ];
    // One unmeasured send first: the phone-number metadata loads on a process's first
    // parse (about a second in a debug build), which is not the dispatcher's doing.
    let warm = send(
        s.http.clone(),
        s.base.clone(),
        app.clone(),
        "+14153999999".into(),
    )
    .await;
    assert_eq!(warm.status, Some(StatusCode::CREATED), "{}", warm.body);
    let bound = Duration::from_millis(DEADLINE_MS + MARGIN_MS);
    let mut number = 0u32;
    let (mut all_delivered, mut all_failover) = (0usize, 0usize);
    for phase in &phases {
        apply(&primary, phase.primary, CLIENTS * phase.sends_per_client);
        apply(
            &secondary,
            phase.secondary,
            CLIENTS * phase.sends_per_client,
        );
        let mut tasks = Vec::new();
        for _ in 0..CLIENTS {
            let numbers: Vec<String> = (0..phase.sends_per_client)
                .map(|_| {
                    number += 1;
                    format!("+14153{number:06}")
                })
                .collect();
            let (base, http, app) = (s.base.clone(), s.http.clone(), app.clone());
            // One client: its sends one after the other.
            tasks.push(tokio::spawn(async move {
                let mut out = Vec::new();
                for to in numbers {
                    out.push(send(http.clone(), base.clone(), app.clone(), to).await);
                }
                out
            }));
        }
        let mut outcomes: Vec<Outcome> = Vec::new();
        for t in tasks {
            outcomes.extend(t.await.unwrap());
        }
        primary.clear_faults();
        secondary.clear_faults();

        let (mut delivered, mut failover, mut failed) = (0usize, 0usize, 0usize);
        let mut took: Vec<Duration> = outcomes.iter().map(|o| o.took).collect();
        took.sort_unstable();
        let (median, slowest) = (took[took.len() / 2], took[took.len() - 1]);
        for o in &outcomes {
            let Some(status) = o.status else {
                panic!(
                    "{}: a send to {} got no answer within {:?}: {}",
                    phase.name, o.to, o.took, o.body
                );
            };
            assert!(
                o.took <= bound,
                "{}: a send took {:?}, past the {DEADLINE_MS} ms deadline + {MARGIN_MS} ms ({status} {})",
                phase.name,
                o.took,
                o.body
            );
            match status.as_u16() {
                201 => {
                    delivered += 1;
                    let id = o.body["id"].as_str().unwrap();
                    let (st, list) = message_log(&s, &token, id).await;
                    assert_eq!(st, 200, "{list}");
                    let provider = list["messages"][0]["provider"]
                        .as_str()
                        .unwrap()
                        .to_string();
                    assert_eq!(list["messages"][0]["status"], "sent", "{list}");
                    let via_secondary = provider == "secondary";
                    assert_eq!(
                        via_secondary,
                        accepted(&secondary, &o.to),
                        "{}: the log says {provider}, the gateways disagree",
                        phase.name
                    );
                    if via_secondary {
                        failover += 1;
                    }
                }
                502 => {
                    failed += 1;
                    // Both gateways hung: the deadline, not an error, ended the send.
                    assert!(
                        o.took >= Duration::from_millis(DEADLINE_MS - 100),
                        "{}: a 502 after {:?}, before the deadline: {}",
                        phase.name,
                        o.took,
                        o.body
                    );
                    assert_eq!(
                        o.body["type"], "urn:idgate:problem:delivery_failed",
                        "{}",
                        o.body
                    );
                }
                other => panic!("{}: unexpected {other}: {}", phase.name, o.body),
            }
        }
        let rate = if delivered == 0 {
            0.0
        } else {
            100.0 * failover as f64 / delivered as f64
        };
        eprintln!(
            "faults: {:<30} {:>3} sends: {delivered:>3} delivered ({failover} by the secondary: failover rate {rate:.0}%), {failed} failed (502); median {} ms, slowest {} ms, bound {} ms",
            phase.name,
            outcomes.len(),
            median.as_millis(),
            slowest.as_millis(),
            bound.as_millis()
        );
        if phase.delivered {
            assert_eq!(
                delivered,
                outcomes.len(),
                "{}: the secondary was healthy",
                phase.name
            );
        } else {
            assert_eq!(
                failed,
                outcomes.len(),
                "{}: nothing could deliver",
                phase.name
            );
        }
        if matches!(phase.primary, Plan::Always(_)) && phase.delivered {
            assert_eq!(
                failover, delivered,
                "{}: every send needed the secondary",
                phase.name
            );
        }
        all_delivered += delivered;
        all_failover += failover;
    }
    eprintln!(
        "faults: overall failover rate {:.0}% ({all_failover} of {all_delivered} delivered sends)",
        100.0 * all_failover as f64 / all_delivered.max(1) as f64
    );
    s.stop().await;
}

async fn message_log(s: &TestServer, token: &str, verification: &str) -> (u16, Value) {
    let r = s
        .http
        .get(s.url("/api/v1/messages"))
        .query(&[("verification_id", verification)])
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}
