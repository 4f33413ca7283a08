//! `idgate secrets rotate-master` on a real database: provider credentials still work
//! under the new secret, signing keys are rotated, the old secret is refused, and what
//! cannot be re-keyed (admin tokens, client secrets) is invalidated, as the command says.

use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::fake_d7::{self, FakeGateway};
use crate::harness::{MASTER, TestDb, drop_pg};
use crate::process::{cli, spawn_server_env};

const NEW_MASTER: &str = "rotated-master-secret-9876543210fedcba9876543210";

fn idgate(d: &std::path::Path, db: &TestDb, master: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_idgate"));
    cmd.args(args)
        .current_dir(d)
        .env_remove("IDGATE_CONFIG")
        .env("IDGATE_DATA_DIR", d.join("data"))
        .env("IDGATE_SECRETS__MASTER_SECRET", master)
        .env("IDGATE_LOG__LEVEL", "warn");
    if let Some(url) = &db.url {
        cmd.env("IDGATE_DATABASE__URL", url);
    }
    cmd.output().unwrap()
}

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

async fn jwks_len(base: &str) -> usize {
    let v: Value = reqwest::get(format!("{base}/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["keys"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_master_reencrypts_provider_credentials_and_says_what_it_invalidates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = TestDb::new().await;
    let gateway = FakeGateway::start().await;
    let token = cli(d, &db, &["admin", "token", "create", "--name", "t"])
        .trim()
        .to_string();
    let server = spawn_server_env(d, &db, &[("IDGATE_DEV_OUTBOX__ENABLED", "false")]);
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/v1/channels/sms/providers", server.base()))
        .bearer_auth(&token)
        .json(&json!({"name": "d7", "kind": "d7-sms",
            "settings": {"originator": "SignOTP", "base_url": gateway.base},
            "secrets": {"api_token": fake_d7::TOKEN}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(jwks_len(&server.base()).await, 2);
    drop(server);

    let file = d.join("new-master");
    std::fs::write(&file, format!("{NEW_MASTER}\n")).unwrap();
    let f = file.to_str().unwrap();
    // Without --yes: it lists what it would invalidate and changes nothing.
    let o = idgate(
        d,
        &db,
        MASTER,
        &["secrets", "rotate-master", "--new-secret-file", f],
    );
    assert!(!o.status.success());
    let text = out(&o);
    for word in [
        "pending one-time codes",
        "sessions",
        "admin API tokens",
        "client secrets",
    ] {
        assert!(text.contains(word), "{word}: {text}");
    }
    assert!(
        idgate(d, &db, MASTER, &["migrate"]).status.success(),
        "nothing changed"
    );
    // The same secret again is refused.
    let same = d.join("same");
    std::fs::write(&same, MASTER).unwrap();
    let o = idgate(
        d,
        &db,
        MASTER,
        &[
            "secrets",
            "rotate-master",
            "--new-secret-file",
            same.to_str().unwrap(),
            "--yes",
        ],
    );
    assert!(!o.status.success(), "{}", out(&o));

    let o = idgate(
        d,
        &db,
        MASTER,
        &["secrets", "rotate-master", "--new-secret-file", f, "--yes"],
    );
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        out(&o).contains("1 provider credential set(s) re-encrypted"),
        "{}",
        out(&o)
    );
    assert!(!out(&o).contains(NEW_MASTER));

    // The old secret no longer opens the database.
    let o = idgate(d, &db, MASTER, &["migrate"]);
    assert!(!o.status.success());
    assert!(out(&o).contains("master secret differs"), "{}", out(&o));

    // Under the new secret: the provider's token decrypts and is sent; new signing keys
    // are active next to the old public ones; the old admin token is dead.
    let app = String::from_utf8_lossy(
        &idgate(
            d,
            &db,
            NEW_MASTER,
            &[
                "app",
                "add",
                "--name",
                "Shop",
                "--redirect-uri",
                "https://shop.example.com/cb",
            ],
        )
        .stdout,
    )
    .to_string();
    let field = |n: &str| {
        app.lines()
            .find_map(|l| l.strip_prefix(n))
            .unwrap()
            .to_string()
    };
    let server = spawn_server_env(
        d,
        &db,
        &[
            ("IDGATE_SECRETS__MASTER_SECRET", NEW_MASTER),
            ("IDGATE_DEV_OUTBOX__ENABLED", "false"),
        ],
    );
    let r = http
        .post(format!("{}/api/v1/verifications", server.base()))
        .basic_auth(field("client_id: "), Some(field("client_secret: ")))
        .json(&json!({"to": "+14155550171", "channel": "sms"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let sent = gateway.received();
    let auth = sent.last().unwrap().headers["authorization"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(auth, format!("Bearer {}", fake_d7::TOKEN));
    assert_eq!(
        jwks_len(&server.base()).await,
        4,
        "old public keys stay published"
    );
    let r = http
        .get(format!("{}/api/v1/channels/sms/providers", server.base()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "admin tokens are invalidated");
    drop(server);
    drop_pg(&db).await;
}
