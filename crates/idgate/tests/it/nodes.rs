//! Two idgate processes sharing one database: a code is still approved at most once and
//! wrong attempts are still counted at most `max_attempts` times, whichever node answers.

use serde_json::{Value, json};

use crate::harness::{TestDb, code_in, drop_pg};
use crate::process::{cli, spawn_server};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_share_single_use_and_attempt_limits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = TestDb::new().await;
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
    let a = spawn_server(d, &db);
    let b = spawn_server(d, &db);
    let http = reqwest::Client::new();
    let to = "+14155550142";

    // Issued on A (its dev outbox holds the code).
    let issue = |base: String| {
        http.post(format!("{base}/api/v1/verifications"))
            .basic_auth(&client_id, Some(&secret))
            .json(&json!({"to": to, "channel": "sms"}))
            .send()
    };
    let v: Value = issue(a.base()).await.unwrap().json().await.unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    let outbox: Value = http
        .get(format!("{}/dev/outbox.json?limit=1", a.base()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = code_in(outbox["messages"][0]["text"].as_str().unwrap(), 6);

    // 40 correct submissions, half to each node, at once.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let base = if i % 2 == 0 { a.base() } else { b.base() };
        let (http, cid, sec, code, id) = (
            http.clone(),
            client_id.clone(),
            secret.clone(),
            code.clone(),
            id.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let v: Value = http
                .post(format!("{base}/api/v1/verifications/{id}/check"))
                .basic_auth(cid, Some(sec))
                .json(&json!({"code": code}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            // 200 answers carry `status`; a 409 carries `verification_status`.
            (
                v["status"].as_str().unwrap_or("refused").to_string(),
                v["verification_status"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let approved = answers.iter().filter(|(s, _)| s == "approved").count();
    let refused = answers
        .iter()
        .filter(|(s, v)| s == "refused" && v == "approved")
        .count();
    assert_eq!(
        (approved, refused),
        (1, 39),
        "exactly one of 40 submits across two processes approves: {answers:?}"
    );
    // B sees the verification as approved; its attempts are untouched.
    let v: Value = http
        .get(format!("{}/api/v1/verifications/{id}", b.base()))
        .basic_auth(&client_id, Some(&secret))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "approved");
    assert_eq!(v["attempts_left"], 5);

    // 100 wrong submissions spread over both nodes: exactly 5 are counted.
    let v: Value = issue(b.base()).await.unwrap().json().await.unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for i in 0..100 {
        let base = if i % 2 == 0 { a.base() } else { b.base() };
        let (http, cid, sec, id) = (http.clone(), client_id.clone(), secret.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            let v: Value = http
                .post(format!("{base}/api/v1/verifications/{id}/check"))
                .basic_auth(cid, Some(sec))
                .json(&json!({"code": "ZZZZZZ"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["status"]
                .as_str()
                .or(v["verification_status"].as_str().map(|_| "refused"))
                .unwrap()
                .to_string()
        }));
    }
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for t in tasks {
        *counts.entry(t.await.unwrap()).or_default() += 1;
    }
    assert_eq!(
        (
            counts.get("pending"),
            counts.get("max_attempts_reached"),
            counts.get("refused")
        ),
        (Some(&4), Some(&1), Some(&95)),
        "four wrong codes leave it pending, the fifth closes it, the rest are refused: {counts:?}"
    );
    let v: Value = http
        .get(format!("{}/api/v1/verifications/{id}", a.base()))
        .basic_auth(&client_id, Some(&secret))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "max_attempts_reached");
    assert_eq!(v["attempts_left"], 0);
    drop(a);
    drop(b);
    drop_pg(&db).await;
}
