//! No leaks after a full run of the real binary (trace logs, limits on): a D7 provider
//! with a secret token, Verify API sends and checks, a password + SMS-code sign-in through
//! the pages, a rate-limit refusal and a lockout-counting wrong code. Afterwards neither the
//! logs nor a dump of the database holds a code, the full phone number, the password, the
//! provider token, the client secret or the admin token.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use sqlx::{Connection, Row};

use crate::fake_d7::{self, FakeGateway};
use crate::harness::{MASTER, TestDb, code_in, drop_pg};
use crate::oidc::{Browser, REDIRECT};
use crate::process::{cli, spawn_server_env};

const PASSWORD: &str = "Leak-test passphrase 7431";

/// Every value stored in the database as text (raw file and WAL for SQLite, every row
/// of every table for PostgreSQL).
async fn dump(dir: &std::path::Path, db: &TestDb) -> String {
    match &db.url {
        None => {
            let mut all = Vec::new();
            for f in ["idgate.db", "idgate.db-wal"] {
                if let Ok(bytes) = std::fs::read(dir.join("data").join(f)) {
                    all.extend(bytes);
                }
            }
            String::from_utf8_lossy(&all).to_string()
        }
        Some(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            let tables: Vec<String> = sqlx::query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
            assert!(tables.iter().any(|t| t == "limit_counters"), "{tables:?}");
            let mut out = String::new();
            for t in tables {
                for r in sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT t::text FROM \"{t}\" t"
                )))
                .fetch_all(&mut conn)
                .await
                .unwrap()
                {
                    out.push_str(&r.get::<String, _>(0));
                    out.push('\n');
                }
            }
            out
        }
    }
}

fn add_user(dir: &std::path::Path, db: &TestDb, mobile: &str) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_idgate"));
    cmd.args([
        "user",
        "add",
        "--username",
        "lena",
        "--mobile",
        mobile,
        "--mobile-verified",
    ])
    .current_dir(dir)
    .env_remove("IDGATE_CONFIG")
    .env("IDGATE_DATA_DIR", dir.join("data"))
    .env("IDGATE_SECRETS__MASTER_SECRET", MASTER)
    .env("IDGATE_PASSWORD__MEMORY_KIB", "64")
    .env("IDGATE_PASSWORD__ITERATIONS", "1")
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if let Some(url) = &db.url {
        cmd.env("IDGATE_DATABASE__URL", url);
    }
    let mut child = cmd.spawn().unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn last_code(g: &FakeGateway) -> String {
    let r = g.received();
    let text = r.last().unwrap().json()["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    code_in(&text, 8)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_logs_or_database_after_sign_in_providers_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = TestDb::new().await;
    let gateway = FakeGateway::start().await;
    let token = cli(d, &db, &["admin", "token", "create", "--name", "leak"])
        .trim()
        .to_string();
    let app = cli(
        d,
        &db,
        &["app", "add", "--name", "Shop", "--redirect-uri", REDIRECT],
    );
    let field = |n: &str| {
        app.lines()
            .find_map(|l| l.strip_prefix(n))
            .unwrap()
            .to_string()
    };
    let (client_id, secret) = (field("client_id: "), field("client_secret: "));
    let mobile = "+14155550161";
    add_user(d, &db, mobile);

    let mut server = spawn_server_env(
        d,
        &db,
        &[
            ("IDGATE_LIMITS__ENABLED", "true"),
            ("IDGATE_DEV_OUTBOX__ENABLED", "false"),
        ],
    );
    let base = server.base();
    let http = reqwest::Client::new();
    let admin = |m: reqwest::Method, path: &str| {
        http.request(m, format!("{base}{path}")).bearer_auth(&token)
    };
    // Eight-digit codes, no resend cooldown; a D7 provider holding a secret token.
    let r = admin(reqwest::Method::PUT, "/api/v1/otp-policy")
        .json(&json!({"length": 8, "resend_cooldown": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = admin(reqwest::Method::POST, "/api/v1/channels/sms/providers")
        .json(&json!({"name": "d7", "kind": "d7-sms",
            "settings": {"originator": "SignOTP", "base_url": gateway.base},
            "secrets": {"api_token": fake_d7::TOKEN}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

    let mut codes = Vec::new();
    // Verify API: start, a wrong code, the right one; then the per-number limit refuses.
    let api_to = "+14155550162";
    for _ in 0..5 {
        let v: Value = http
            .post(format!("{base}/api/v1/verifications"))
            .basic_auth(&client_id, Some(&secret))
            .json(&json!({"to": api_to, "channel": "sms"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = v["id"].as_str().unwrap().to_string();
        let code = last_code(&gateway);
        for c in ["00000000", code.as_str()] {
            http.post(format!("{base}/api/v1/verifications/{id}/check"))
                .basic_auth(&client_id, Some(&secret))
                .json(&json!({"code": c}))
                .send()
                .await
                .unwrap();
        }
        codes.push(code);
    }
    let r = http
        .post(format!("{base}/api/v1/verifications"))
        .basic_auth(&client_id, Some(&secret))
        .json(&json!({"to": api_to, "channel": "sms"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(!r.text().await.unwrap().contains(&api_to[2..]));

    // A sign-in through the pages: password, a wrong code, the right code.
    let mut b = Browser::new();
    let auth = format!(
        "{base}/authorize?client_id={client_id}&redirect_uri={}&response_type=code&scope=openid&state=s",
        url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    );
    b.get(&auth).await;
    let page = b.get(&format!("{base}/login")).await;
    let page = b
        .post(
            &format!("{base}/login/password"),
            &[
                ("csrf", &page.csrf()),
                ("username", "lena"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let code = last_code(&gateway);
    let page = b
        .post(
            &format!("{base}/login/code"),
            &[("csrf", &page.csrf()), ("code", "00000000")],
        )
        .await;
    let done = b
        .post(
            &format!("{base}/login/code"),
            &[("csrf", &page.csrf()), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    codes.push(code);

    server.stop();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let logs = server.logs.lock().unwrap().clone();
    assert!(
        logs.contains("sign-in complete"),
        "trace logs were captured"
    );
    let db_text = dump(d, &db).await;
    let mut secrets: Vec<(&str, String)> = vec![
        ("phone number", mobile.into()),
        ("API phone number", api_to.into()),
        ("password", PASSWORD.into()),
        ("provider token", fake_d7::TOKEN.into()),
        ("client secret", secret.clone()),
        ("admin token", token.clone()),
    ];
    for c in &codes {
        assert_eq!(c.len(), 8);
        secrets.push(("code", c.clone()));
    }
    for (what, s) in &secrets {
        assert!(!logs.contains(s.as_str()), "{what} {s} found in the logs");
    }
    // The database may hold the user's own number (it is their account's) and the
    // verifications' destinations; never a secret or a code.
    for (what, s) in secrets.iter().filter(|(w, _)| !w.contains("phone number")) {
        assert!(
            !db_text.contains(s.as_str()),
            "{what} found in the database"
        );
    }
    drop(server);
    drop_pg(&db).await;
}
