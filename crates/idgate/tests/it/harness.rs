//! The test harness every integration test uses: the real server, in-process, on
//! 127.0.0.1:0, with a fresh SQLite file — or a fresh PostgreSQL database when
//! `IDGATE_TEST_DATABASE_URL` is set (e.g. postgres://postgres@127.0.0.1:5432/test).

use std::path::PathBuf;
use std::sync::Arc;

use idgate::config::{Config, Mode, Secret};
use idgate::server::{Running, ServeOptions};
use idgate_core::admin_token::{ADMIN_TOKEN_PREFIX, AdminToken};
use idgate_core::application::{Application, LoginFlow};
use idgate_core::clock::ManualClock;
use idgate_core::crypto::random_token;
use idgate_core::password::Argon2Params;
use secrecy::SecretString;
use sqlx::Connection;
use tempfile::TempDir;

pub const PG_ENV: &str = "IDGATE_TEST_DATABASE_URL";
pub const MASTER: &str = "test-master-secret-0123456789abcdef0123456789";

/// A database for one test: a SQLite file in the temp dir, or a new PostgreSQL database.
pub struct TestDb {
    pub url: Option<String>,
    pub pg_name: Option<String>,
}

impl TestDb {
    pub async fn new() -> Self {
        let Ok(base) = std::env::var(PG_ENV) else {
            return Self {
                url: None,
                pg_name: None,
            };
        };
        let name = format!("idgate_t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&base)
            .await
            .expect("connect to IDGATE_TEST_DATABASE_URL");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let mut url = url::Url::parse(&base).expect("IDGATE_TEST_DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        Self {
            url: Some(url.to_string()),
            pg_name: Some(name),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.url.is_some()
    }
}

/// Config for a test server: dev mode, cheap Argon2, a fixed master secret.
pub fn test_config(data_dir: PathBuf, db: &TestDb) -> Config {
    let mut c = Config {
        mode: Mode::Dev,
        data_dir,
        ..Config::default()
    };
    c.server.listen = "127.0.0.1:0".parse().expect("addr");
    c.secrets.master_secret = Some(Secret(SecretString::from(MASTER)));
    c.database.url = db.url.clone().map(|u| Secret(SecretString::from(u)));
    c.database.max_connections = 16;
    c.password = Argon2Params {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
    c.phone.default_region = Some("US".into());
    // Tests send many codes to one number from 127.0.0.1: rate limits, lockout and
    // pumping guards are off unless a test turns them on (limits.rs, hardening.rs).
    c.limits.enabled = false;
    // No demo user/application in test servers (oidc_demo.rs turns it on).
    c.demo.enabled = Some(false);
    c
}

pub struct TestServer {
    pub base: String,
    pub clock: ManualClock,
    pub http: reqwest::Client,
    pub running: Option<Running>,
    pub db: TestDb,
    pub _dir: TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = TestDb::new().await;
        let mut config = test_config(dir.path().join("data"), &db);
        adjust(&mut config);
        let clock = ManualClock::new();
        let running = idgate::server::start(
            config,
            ServeOptions {
                clock: Some(Arc::new(clock.clone())),
            },
        )
        .await
        .expect("server starts");
        Self {
            base: format!("http://{}", running.addr),
            clock,
            http: reqwest::Client::new(),
            running: Some(running),
            db,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The Prometheus text `/metrics` serves now.
    pub async fn metrics(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub fn state(&self) -> &idgate_web::AppState {
        &self.running.as_ref().expect("running").state
    }

    /// A new admin token, stored the way the CLI stores it.
    pub async fn admin_token(&self) -> String {
        let token = format!("{ADMIN_TOKEN_PREFIX}{}", random_token(32).expect("rng"));
        let st = self.state();
        st.store
            .create_admin_token(&AdminToken {
                id: idgate_core::new_id(),
                name: format!("test-{}", &token[10..16]),
                token_hash: st.keys.token_hash(&token),
                created_at: st.now(),
                expires_at: None,
                last_used_at: None,
                revoked_at: None,
            })
            .await
            .expect("admin token");
        token
    }

    /// A confidential application; returns (client_id, client_secret).
    pub async fn app(&self, name: &str) -> (String, String) {
        let st = self.state();
        let client_id = format!("app_{}", random_token(9).expect("rng"));
        let secret = random_token(32).expect("rng");
        st.store
            .create_application(&Application {
                id: idgate_core::new_id(),
                client_id: client_id.clone(),
                client_secret_hash: Some(st.keys.token_hash(&secret)),
                name: name.into(),
                redirect_uris: vec!["http://127.0.0.1:9/cb".into()],
                post_logout_redirect_uris: vec![],
                login_flow: LoginFlow::default(),
                otp_policy: None,
                created_at: st.now(),
                updated_at: st.now(),
            })
            .await
            .expect("application");
        (client_id, secret)
    }

    /// The newest dev-outbox text sent to `to`.
    /// The newest message to `to` in the dev outbox, waiting up to 2 s for a first one
    /// (a passwordless sign-in's code goes out after its page is answered).
    pub async fn last_text_to(&self, to: &str) -> Option<String> {
        for _ in 0..40 {
            if let Some(t) = self.newest_text_to(to).await {
                return Some(t);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        None
    }

    async fn newest_text_to(&self, to: &str) -> Option<String> {
        let v: serde_json::Value = self
            .http
            .get(self.url("/dev/outbox.json"))
            .query(&[("to", to), ("limit", "1")])
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        v["messages"][0]["text"].as_str().map(str::to_string)
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.expect("clean shutdown");
        }
        drop_pg(&self.db).await;
    }
}

/// Drops a test's PostgreSQL database (best effort).
pub async fn drop_pg(db: &TestDb) {
    if let (Ok(base), Some(name)) = (std::env::var(PG_ENV), &db.pg_name)
        && let Ok(mut conn) = sqlx::PgConnection::connect(&base).await
    {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
    }
}

/// The last run of digits (or A–Z0–9 of `len`) in a message text: the code.
pub fn code_in(text: &str, len: usize) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .rfind(|w| {
            w.len() == len
                && w.chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        })
        .unwrap_or_default()
        .to_string()
}
