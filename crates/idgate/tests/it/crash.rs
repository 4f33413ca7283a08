//! `kill -9` under load, on SQLite and on PostgreSQL (whichever the run uses): a real
//! `idgate` process takes admin changes (users, applications, providers, display-name
//! edits) and Verify API issues and checks from a few concurrent clients; it is
//! SIGKILLed at an unpredictable moment, restarted on the same data, loaded and killed
//! again, and restarted once more. After each restart:
//!
//! - it starts cleanly: `/readyz` answers 200 and it logs no error;
//! - every change that got a 2xx answer before the kill is there (with its audit event);
//!   an edit that was in flight may or may not have landed, nothing else;
//! - no verification is approved twice: an approval that was answered before the kill is
//!   still an approval (so the code cannot approve again), and counting the approvals
//!   seen before the kill and the ones made after it gives at most one per verification;
//! - wrong attempts answered before the kill are still counted;
//!
//! and at the end the database passes an integrity check (SQLite `PRAGMA
//! integrity_check` and `foreign_key_check`; PostgreSQL `amcheck` on every index).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::harness::{TestDb, code_in, drop_pg};
use crate::multinode::{CHEAP_ARGON2, admin_call, admin_token, wait_ready, wrong_code};
use crate::process::{Server, cli, spawn_server_env};

/// Concurrent clients of the load.
const CLIENTS: u32 = 4;
/// Rounds of load-then-kill.
const ROUNDS: u32 = 2;
/// A bound on each client's operations per round (far more than fit before the kill).
const MAX_OPS_PER_CLIENT: u32 = 2_000;

/// A display-name edit: the value and whether the server acknowledged it.
#[derive(Debug, Clone)]
struct Edit {
    value: String,
    acked: bool,
}

#[derive(Debug, Clone, Default)]
struct Verif {
    /// The code, when the client read it from the outbox before the kill.
    code: Option<String>,
    /// "approved" answers seen (before the kill, or settled after a restart).
    approvals: u32,
    /// The smallest `attempts_left` an answer reported.
    attempts_left: Option<u64>,
}

/// What the server acknowledged (2xx), and what was in flight.
#[derive(Debug, Default)]
struct Ledger {
    /// username → id
    users: BTreeMap<String, String>,
    /// user id → its edits, in order
    edits: HashMap<String, Vec<Edit>>,
    /// client_id → secret
    apps: BTreeMap<String, String>,
    /// provider id → name
    providers: BTreeMap<String, String>,
    verifications: BTreeMap<String, Verif>,
    /// Requests that had no answer (the kill).
    unanswered: u32,
}

impl Ledger {
    fn acknowledged_changes(&self) -> usize {
        self.users.len()
            + self.apps.len()
            + self.providers.len()
            + self.edits.values().flatten().filter(|e| e.acked).count()
    }
}

struct Load {
    http: reqwest::Client,
    base: String,
    token: String,
    client_id: String,
    secret: String,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    numbers: Arc<AtomicU32>,
}

impl Load {
    /// An admin call; None when the server died before answering in full.
    async fn admin(&self, method: Method, path: &str, body: Value) -> Option<(u16, Value)> {
        let http = &self.http;
        admin_call(http, &self.base, &self.token, method, path, Some(body))
            .await
            .ok()
            .filter(|(_, v)| !v.is_null())
    }

    async fn verify_api(&self, path: &str, body: Value) -> Option<(u16, Value)> {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .basic_auth(&self.client_id, Some(&self.secret))
            .json(&body)
            .send()
            .await
            .ok()?;
        let st = r.status().as_u16();
        Some((st, r.json().await.ok()?))
    }

    /// One client: a fixed rotation of operations until the server dies or `stop`.
    async fn client(self: Arc<Self>, c: u32, round: u32) {
        let mut my_user: Option<String> = None;
        let mut i = 0u32;
        while !self.stop.load(Ordering::Relaxed) && i < MAX_OPS_PER_CLIENT {
            i += 1;
            let tag = format!("c{c}r{round}n{i}");
            let alive = match (i - 1) % 6 {
                0 => self.create_user(&tag, &mut my_user).await,
                1 => self.create_app(&tag).await,
                2 => self.create_provider(&tag).await,
                3 => self.edit_user(&tag, my_user.as_deref()).await,
                _ => self.verification(i.is_multiple_of(2)).await,
            };
            if !alive {
                self.ledger.lock().unwrap().unanswered += 1;
                return;
            }
        }
    }

    async fn create_user(&self, tag: &str, mine: &mut Option<String>) -> bool {
        let body = json!({"username": format!("u-{tag}"), "password": "correct horse battery"});
        let Some((st, v)) = self.admin(Method::POST, "/api/v1/users", body).await else {
            return false;
        };
        assert_eq!(st, 201, "create user: {v}");
        let id = v["id"].as_str().unwrap().to_string();
        self.ledger
            .lock()
            .unwrap()
            .users
            .insert(format!("u-{tag}"), id.clone());
        *mine = Some(id);
        true
    }

    async fn create_app(&self, tag: &str) -> bool {
        let body =
            json!({"name": format!("app {tag}"), "redirect_uris": ["https://rp.example.com/cb"]});
        let Some((st, v)) = self.admin(Method::POST, "/api/v1/applications", body).await else {
            return false;
        };
        assert_eq!(st, 201, "create application: {v}");
        self.ledger.lock().unwrap().apps.insert(
            v["client_id"].as_str().unwrap().to_string(),
            v["client_secret"].as_str().unwrap().to_string(),
        );
        true
    }

    async fn create_provider(&self, tag: &str) -> bool {
        // Disabled: codes keep going to the dev outbox.
        let name = format!("p-{tag}");
        let body = json!({"name": name, "kind": "d7-sms", "enabled": false,
            "settings": {"originator": "idgate", "base_url": "http://127.0.0.1:9"},
            "secrets": {"api_token": "t0ken"}});
        let Some((st, v)) = self
            .admin(Method::POST, "/api/v1/channels/sms/providers", body)
            .await
        else {
            return false;
        };
        assert_eq!(st, 201, "create provider: {v}");
        self.ledger
            .lock()
            .unwrap()
            .providers
            .insert(v["id"].as_str().unwrap().to_string(), name);
        true
    }

    async fn edit_user(&self, tag: &str, user: Option<&str>) -> bool {
        let Some(user) = user else { return true };
        let value = format!("name {tag}");
        let idx = {
            let mut l = self.ledger.lock().unwrap();
            let edits = l.edits.entry(user.to_string()).or_default();
            edits.push(Edit {
                value: value.clone(),
                acked: false,
            });
            edits.len() - 1
        };
        let Some((st, v)) = self
            .admin(
                Method::PATCH,
                &format!("/api/v1/users/{user}"),
                json!({"display_name": value}),
            )
            .await
        else {
            return false;
        };
        assert_eq!(st, 200, "edit user: {v}");
        assert_eq!(v["display_name"], value.as_str());
        self.ledger.lock().unwrap().edits.get_mut(user).unwrap()[idx].acked = true;
        true
    }

    /// Issue a code, read it from the dev outbox, (sometimes) a wrong code first, then
    /// the right one.
    async fn verification(&self, wrong_first: bool) -> bool {
        let n = self.numbers.fetch_add(1, Ordering::Relaxed);
        let to = format!("+14152{n:06}");
        let Some((st, v)) = self
            .verify_api("/api/v1/verifications", json!({"to": to, "channel": "sms"}))
            .await
        else {
            return false;
        };
        assert_eq!(st, 201, "start: {v}");
        let id = v["id"].as_str().unwrap().to_string();
        self.ledger
            .lock()
            .unwrap()
            .verifications
            .insert(id.clone(), Verif::default());
        let Ok(r) = self
            .http
            .get(format!("{}/dev/outbox.json", self.base))
            .query(&[("to", to.as_str()), ("limit", "1")])
            .send()
            .await
        else {
            return false;
        };
        let Ok(outbox) = r.json::<Value>().await else {
            return false;
        };
        let code = code_in(outbox["messages"][0]["text"].as_str().unwrap(), 6);
        assert_eq!(code.len(), 6, "{outbox}");
        self.ledger
            .lock()
            .unwrap()
            .verifications
            .get_mut(&id)
            .unwrap()
            .code = Some(code.clone());
        let check = format!("/api/v1/verifications/{id}/check");
        if wrong_first {
            let Some((st, v)) = self
                .verify_api(&check, json!({"code": wrong_code(&code)}))
                .await
            else {
                return false;
            };
            assert_eq!((st, v["status"].as_str()), (200, Some("pending")), "{v}");
            self.ledger
                .lock()
                .unwrap()
                .verifications
                .get_mut(&id)
                .unwrap()
                .attempts_left = v["attempts_left"].as_u64();
        }
        let Some((st, v)) = self.verify_api(&check, json!({"code": code})).await else {
            return false;
        };
        assert_eq!((st, v["status"].as_str()), (200, Some("approved")), "{v}");
        self.ledger
            .lock()
            .unwrap()
            .verifications
            .get_mut(&id)
            .unwrap()
            .approvals += 1;
        true
    }
}

/// An unpredictable moment between 0.8 and 2.3 s.
fn kill_after() -> Duration {
    let r = u64::from(uuid::Uuid::new_v4().as_bytes()[0]);
    Duration::from_millis(800 + r * 1500 / 255)
}

fn start(d: &Path, db: &TestDb) -> Server {
    spawn_server_env(d, db, &CHEAP_ARGON2)
}

/// All audit targets of `action` (paged).
async fn audit_targets(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    action: &str,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut path = format!("/api/v1/audit-events?action={action}&limit=500");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let (st, v) = admin_call(http, base, token, Method::GET, &path, None)
            .await
            .unwrap();
        assert_eq!(st, 200, "{v}");
        for e in v["events"].as_array().unwrap() {
            out.insert(e["target"].as_str().unwrap_or_default().to_string());
        }
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
    panic!("the audit log did not end");
}

/// What the checks after a restart need.
#[derive(Clone)]
struct Checker {
    http: reqwest::Client,
    base: String,
    token: String,
    app: (String, String),
}

impl Checker {
    async fn admin_get(&self, path: &str) -> (u16, Value) {
        admin_call(&self.http, &self.base, &self.token, Method::GET, path, None)
            .await
            .unwrap()
    }

    /// The user is there with its id; returns its stored display name.
    async fn user(self, username: String, id: String, edits: Vec<Edit>) -> (String, Value) {
        let (st, v) = self.admin_get(&format!("/api/v1/users/{username}")).await;
        assert_eq!(st, 200, "acknowledged user {username} is gone: {v}");
        assert_eq!(v["id"], id.as_str());
        // The newest acknowledged edit, or one made after it that was in flight.
        let last_acked = edits.iter().rposition(|e| e.acked);
        let mut allowed: Vec<Value> = match last_acked {
            Some(i) => vec![json!(edits[i].value)],
            None => vec![Value::Null],
        };
        allowed.extend(
            edits[last_acked.map_or(0, |i| i + 1)..]
                .iter()
                .map(|e| json!(e.value)),
        );
        assert!(
            allowed.contains(&v["display_name"]),
            "{username}: display_name {} is none of {allowed:?}",
            v["display_name"]
        );
        (id, v["display_name"].clone())
    }

    async fn app(self, client_id: String, secret: String) {
        let (st, v) = self
            .admin_get(&format!("/api/v1/applications/{client_id}"))
            .await;
        assert_eq!(st, 200, "acknowledged application {client_id} is gone: {v}");
        // Its secret still authenticates (404: authenticated, no such verification).
        let r = self
            .http
            .get(format!("{}/api/v1/verifications/no-such-id", self.base))
            .basic_auth(&client_id, Some(&secret))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{client_id}'s secret no longer works");
    }

    async fn provider(self, id: String, name: String) {
        let (st, v) = self
            .admin_get(&format!("/api/v1/channels/sms/providers/{id}"))
            .await;
        assert_eq!(st, 200, "acknowledged provider {name} is gone: {v}");
        assert_eq!(v["name"], name.as_str());
        assert_eq!(v["enabled"], false);
    }

    /// A verification whose code is known: an answered approval is still an approval,
    /// counted wrong attempts are still counted; a pending one is approved now. Returns
    /// the approvals counted for it (answered before the kill plus made now).
    async fn verification(self, id: String, ver: Verif, code: String) -> (String, u32) {
        let (cid, secret) = &self.app;
        let v: Value = self
            .http
            .get(format!("{}/api/v1/verifications/{id}", self.base))
            .basic_auth(cid, Some(secret))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let status = v["status"].as_str().unwrap().to_string();
        if ver.approvals > 0 {
            assert_eq!(
                status, "approved",
                "{id} was answered approved before the kill: {v}"
            );
        }
        if let Some(left) = ver.attempts_left {
            assert!(
                v["attempts_left"].as_u64().unwrap() <= left,
                "{id}: a counted wrong attempt was lost: {v}"
            );
        }
        let approvals = match status.as_str() {
            // Approved before the kill (answered or not): one approval.
            "approved" => ver.approvals.max(1),
            "pending" => {
                let r: Value = self
                    .http
                    .post(format!("{}/api/v1/verifications/{id}/check", self.base))
                    .basic_auth(cid, Some(secret))
                    .json(&json!({"code": code}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(r["status"], "approved", "{r}");
                ver.approvals + 1
            }
            other => panic!("{id}: unexpected status {other} after the restart: {v}"),
        };
        assert!(
            approvals <= 1,
            "verification {id} was approved {approvals} times"
        );
        (id, approvals)
    }
}

/// Runs the futures eight at a time; a panic in one fails the test.
async fn eight_at_a_time<R: Send + 'static>(
    futures: Vec<impl std::future::Future<Output = R> + Send + 'static>,
) -> Vec<R> {
    let mut out = Vec::with_capacity(futures.len());
    let mut rest = futures.into_iter();
    loop {
        let batch: Vec<_> = rest.by_ref().take(8).map(tokio::spawn).collect();
        if batch.is_empty() {
            return out;
        }
        for h in batch {
            out.push(h.await.unwrap());
        }
    }
}

/// Checks everything the ledger says was acknowledged, against a restarted server, and
/// settles every verification whose code is known (approving the pending ones).
async fn check_after_restart(c: &Checker, ledger: &mut Ledger) {
    let audited = |action: &'static str| audit_targets(&c.http, &c.base, &c.token, action);
    let (users, apps, providers) = (
        audited("user.created").await,
        audited("application.created").await,
        audited("provider.created").await,
    );
    for (what, acked, audited) in [
        (
            "user",
            ledger.users.values().cloned().collect::<Vec<_>>(),
            &users,
        ),
        ("application", ledger.apps.keys().cloned().collect(), &apps),
        (
            "provider",
            ledger.providers.keys().cloned().collect(),
            &providers,
        ),
    ] {
        for id in acked {
            assert!(audited.contains(&id), "{what} {id} has no audit event");
        }
    }
    let stored = eight_at_a_time(
        ledger
            .users
            .iter()
            .map(|(name, id)| {
                let edits = ledger.edits.get(id).cloned().unwrap_or_default();
                c.clone().user(name.clone(), id.clone(), edits)
            })
            .collect(),
    )
    .await;
    // From now on what is stored is what counts.
    for (id, name) in stored {
        if let Some(e) = ledger.edits.get_mut(&id) {
            e.retain(|e| json!(e.value) == name);
            e.iter_mut().for_each(|e| e.acked = true);
        }
    }
    eight_at_a_time(
        ledger
            .apps
            .iter()
            .map(|(id, secret)| c.clone().app(id.clone(), secret.clone()))
            .collect(),
    )
    .await;
    eight_at_a_time(
        ledger
            .providers
            .iter()
            .map(|(id, name)| c.clone().provider(id.clone(), name.clone()))
            .collect(),
    )
    .await;
    let settled = eight_at_a_time(
        ledger
            .verifications
            .iter()
            .filter_map(|(id, v)| {
                let code = v.code.clone()?;
                Some(c.clone().verification(id.clone(), v.clone(), code))
            })
            .collect(),
    )
    .await;
    for (id, approvals) in &settled {
        if let Some(v) = ledger.verifications.get_mut(id) {
            v.approvals = *approvals;
        }
    }
    eprintln!(
        "crash: after restart, {} users, {} applications, {} providers, {} edits and {} verifications all as acknowledged",
        ledger.users.len(),
        ledger.apps.len(),
        ledger.providers.len(),
        ledger.edits.values().flatten().count(),
        settled.len(),
    );
}

/// SQLite's own integrity checks, or PostgreSQL's `amcheck` on every B-tree index.
async fn integrity_check(d: &Path, db: &TestDb) {
    if let Some(url) = &db.url {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        if let Err(e) = sqlx::query("CREATE EXTENSION IF NOT EXISTS amcheck")
            .execute(&mut conn)
            .await
        {
            eprintln!("crash: amcheck is not available ({e}); PostgreSQL index check skipped");
            return;
        }
        let indexes: Vec<(String,)> = sqlx::query_as(
            "SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             JOIN pg_am am ON am.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE am.amname = 'btree' AND n.nspname = 'public'",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert!(!indexes.is_empty());
        for (name,) in &indexes {
            sqlx::query("SELECT bt_index_check(index => $1::regclass, heapallindexed => true)")
                .bind(name)
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("index {name} is corrupt: {e}"));
        }
        eprintln!(
            "crash: amcheck passed on {} PostgreSQL indexes",
            indexes.len()
        );
    } else {
        let path = d.join("data").join("idgate.db");
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert_eq!(rows, vec![("ok".to_string(),)], "SQLite integrity_check");
        let fk: Vec<(String, Option<i64>, String, i64)> =
            sqlx::query_as("PRAGMA foreign_key_check")
                .fetch_all(&mut conn)
                .await
                .unwrap();
        assert!(fk.is_empty(), "foreign keys broken: {fk:?}");
        eprintln!("crash: SQLite integrity_check ok, foreign_key_check empty");
    }
}

/// No error-level line in a server's logs.
fn assert_no_errors(server: &Server, when: &str) {
    let logs = server.logs.lock().unwrap().clone();
    assert!(
        logs.contains("\"level\":\"INFO\""),
        "JSON logs with a level field"
    );
    let errors: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("\"level\":\"ERROR\""))
        .collect();
    assert!(
        errors.is_empty(),
        "{when}: the server logged errors:\n{}",
        errors.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_sigkill_under_load_keeps_every_acknowledged_change() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = TestDb::new().await;
    let backend = if db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    let token = admin_token(d, &db);
    let out = cli(
        d,
        &db,
        &[
            "app",
            "add",
            "--name",
            "Load",
            "--redirect-uri",
            "https://load.example.com/cb",
        ],
    );
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .to_string()
    };
    let app = (field("client_id: "), field("client_secret: "));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let numbers = Arc::new(AtomicU32::new(0));

    for round in 0..=ROUNDS {
        let t = Instant::now();
        let mut server = start(d, &db);
        let base = server.base();
        wait_ready(&http, &base).await;
        let restart_took = t.elapsed();
        if round > 0 {
            let mut l = std::mem::take(&mut *ledger.lock().unwrap());
            let t = Instant::now();
            let checker = Checker {
                http: http.clone(),
                base: base.clone(),
                token: token.clone(),
                app: app.clone(),
            };
            check_after_restart(&checker, &mut l).await;
            eprintln!(
                "crash: checked in {:?} (restart took {:?})",
                t.elapsed(),
                restart_took
            );
            *ledger.lock().unwrap() = l;
            assert_no_errors(&server, &format!("restart {round}"));
        }
        if round == ROUNDS {
            server.stop();
            let status = server.child.wait().unwrap();
            assert!(status.success(), "SIGTERM ends it cleanly: {status}");
            break;
        }
        // Load, and a SIGKILL in the middle of it.
        let stop = Arc::new(AtomicBool::new(false));
        let load = Arc::new(Load {
            http: http.clone(),
            base: base.clone(),
            token: token.clone(),
            client_id: app.0.clone(),
            secret: app.1.clone(),
            ledger: ledger.clone(),
            stop: stop.clone(),
            numbers: numbers.clone(),
        });
        let (before, unanswered_before) = {
            let l = ledger.lock().unwrap();
            (l.acknowledged_changes(), l.unanswered)
        };
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| tokio::spawn(load.clone().client(c, round)))
            .collect();
        let wait = kill_after();
        tokio::time::sleep(wait).await;
        server.child.kill().unwrap(); // SIGKILL
        let status = server.child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            tokio::time::timeout(Duration::from_secs(15), c)
                .await
                .expect("a client ended after the kill")
                .unwrap();
        }
        {
            let l = ledger.lock().unwrap();
            let done = l.acknowledged_changes() - before;
            eprintln!(
                "crash ({backend}): round {round}: SIGKILL after {wait:?} ({status}); {done} changes acknowledged this round, {} verifications so far, {} requests unanswered",
                l.verifications.len(),
                l.unanswered
            );
            assert!(done > 0, "the load made no change before the kill");
            assert!(
                l.unanswered > unanswered_before,
                "the kill came after the load, not in the middle of it"
            );
        }
    }
    {
        let l = ledger.lock().unwrap();
        assert!(
            l.verifications.values().any(|v| v.code.is_some()),
            "the load checked no code"
        );
    }
    integrity_check(d, &db).await;
    drop_pg(&db).await;
    eprintln!("crash ({backend}): {:?} in all", started.elapsed());
}
