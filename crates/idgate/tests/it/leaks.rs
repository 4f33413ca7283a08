//! After a real run — the binary with debug logging, codes issued, checked wrong and
//! right, resent — no code appears in plaintext in the logs or anywhere in the database.

use serde_json::{Value, json};
use sqlx::{Connection, Row};

use crate::harness::{TestDb, code_in, drop_pg};
use crate::process::{cli, spawn_server};

/// Every value stored in the database as text: raw file bytes for SQLite (which also
/// covers free pages and the WAL), every row of every table for PostgreSQL.
async fn database_dump(dir: &std::path::Path, db: &TestDb) -> String {
    match &db.url {
        None => {
            let mut all = Vec::new();
            for f in ["idgate.db", "idgate.db-wal", "idgate.db-shm"] {
                if let Ok(bytes) = std::fs::read(dir.join("data").join(f)) {
                    all.extend(bytes);
                }
            }
            assert!(all.len() > 4096, "the database file was read");
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
            assert!(tables.iter().any(|t| t == "verifications"), "{tables:?}");
            let mut out = String::new();
            for t in tables {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT t::text FROM \"{t}\" t"
                )))
                .fetch_all(&mut conn)
                .await
                .unwrap();
                for r in rows {
                    out.push_str(&r.get::<String, _>(0));
                    out.push('\n');
                }
            }
            out
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_code_in_logs_or_database_after_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = TestDb::new().await;
    let token = cli(d, &db, &["admin", "token", "create", "--name", "leak"])
        .trim()
        .to_string();
    let app = cli(
        d,
        &db,
        &[
            "app",
            "add",
            "--name",
            "Shop",
            "--redirect-uri",
            "https://shop.example.com/cb",
        ],
    );
    let client_id = app
        .lines()
        .find_map(|l| l.strip_prefix("client_id: "))
        .unwrap()
        .to_string();
    let secret = app
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap()
        .to_string();

    let mut server = spawn_server(d, &db);
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    // Ten-character alphanumeric codes cannot collide by chance with the hex, digits and
    // timestamps a database is full of, so finding one would be a real leak.
    let r = http
        .put(format!("{base}/api/v1/otp-policy"))
        .bearer_auth(&token)
        .json(&json!({"length": 10, "alphanumeric": true, "resend_cooldown": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let mut codes = Vec::new();
    let to = "+14155550123";
    for round in 0..3 {
        let v: Value = http
            .post(format!("{base}/api/v1/verifications"))
            .basic_auth(&client_id, Some(&secret))
            .json(&json!({"to": to, "channel": "sms"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = v["id"].as_str().unwrap().to_string();
        let outbox: Value = http
            .get(format!("{base}/dev/outbox.json?limit=1"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let code = code_in(outbox["messages"][0]["text"].as_str().unwrap(), 10);
        codes.push(code.clone());
        let check = |c: String| {
            http.post(format!("{base}/api/v1/verifications/{id}/check"))
                .basic_auth(&client_id, Some(&secret))
                .json(&json!({"code": c}))
                .send()
        };
        check("WRONGCODE1".into()).await.unwrap();
        if round == 1 {
            // A resend replaces the code; collect the new one too.
            http.post(format!("{base}/api/v1/verifications/{id}/resend"))
                .basic_auth(&client_id, Some(&secret))
                .send()
                .await
                .unwrap();
            let outbox: Value = http
                .get(format!("{base}/dev/outbox.json?limit=1"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let new = code_in(outbox["messages"][0]["text"].as_str().unwrap(), 10);
            codes.push(new.clone());
            let r: Value = check(new).await.unwrap().json().await.unwrap();
            assert_eq!(r["status"], "approved");
        } else {
            let r: Value = check(code).await.unwrap().json().await.unwrap();
            assert_eq!(r["status"], "approved");
        }
    }
    assert_eq!(codes.len(), 4);
    assert!(codes.iter().all(|c| c.len() == 10), "{codes:?}");

    // Stop the server so every log line is flushed.
    server.stop();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let logs = server.logs.lock().unwrap().clone();
    assert!(
        logs.contains("verification started"),
        "debug logs were captured"
    );
    let dump = database_dump(d, &db).await;
    for code in &codes {
        assert!(
            !logs.contains(code.as_str()),
            "code {code} found in the logs"
        );
        assert!(
            !dump.contains(code.as_str()),
            "code {code} found in the database"
        );
    }
    // Nor the full phone number or the client secret in the logs.
    assert!(!logs.contains(to), "full phone number in the logs");
    assert!(!logs.contains(&secret), "client secret in the logs");
    assert!(!logs.contains(&token), "admin token in the logs");
    drop_pg(&db).await;
}
