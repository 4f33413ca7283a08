//! Configuration: defaults, environment overrides, `*_FILE` secrets, and errors that
//! name the key and the fix.

use std::process::Command;

use idgate::config::{Config, Mode};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load(toml: &str, vars: &[(&str, &str)]) -> Result<Config, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idgate.toml");
    std::fs::write(&path, toml).unwrap();
    Config::load_with_env(Some(&path), env(vars)).map_err(|e| e.to_string())
}

#[test]
fn defaults_are_dev_on_loopback_with_sqlite() {
    let c = Config::load_with_env(None, env(&[])).unwrap();
    assert_eq!(c.mode, Mode::Dev);
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.server.issuer, "http://127.0.0.1:8080");
    assert_eq!(c.database_url(), "sqlite://./idgate-data/idgate.db");
    assert!(c.dev_outbox_enabled());
}

#[test]
fn environment_overrides_nest_with_double_underscore() {
    let c = load(
        "[server]\nlisten = \"127.0.0.1:9000\"\n",
        &[
            ("IDGATE_SERVER__LISTEN", "0.0.0.0:7000"),
            ("IDGATE_PASSWORD__ITERATIONS", "3"),
            ("IDGATE_TEST_DATABASE_URL", "ignored"),
        ],
    )
    .unwrap();
    assert_eq!(c.server.listen.to_string(), "0.0.0.0:7000");
    assert_eq!(c.password.iterations, 3);
}

#[test]
fn file_variables_read_secrets_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("db-url");
    std::fs::write(&f, "postgres://idgate@db.internal/idgate\n").unwrap();
    let c = Config::load_with_env(
        None,
        env(&[("IDGATE_DATABASE__URL_FILE", f.to_str().unwrap())]),
    )
    .unwrap();
    assert_eq!(c.database_url(), "postgres://idgate@db.internal/idgate");

    let err = Config::load_with_env(
        None,
        env(&[("IDGATE_SECRETS__MASTER_SECRET_FILE", "/nonexistent/secret")]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("master_secret_file") && err.contains("cannot read"),
        "{err}"
    );

    let err = Config::load_with_env(
        None,
        env(&[("IDGATE_DATABASE__URL_FILE", "/nonexistent/url")]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("IDGATE_DATABASE__URL_FILE") && err.contains("cannot read"),
        "{err}"
    );
}

#[test]
fn bad_config_names_the_key_and_the_fix() {
    let err = load("[server]\nlisen = \"127.0.0.1:1\"\n", &[]).unwrap_err();
    assert!(
        err.contains("server.lisen") || err.contains("lisen"),
        "{err}"
    );
    assert!(
        err.contains("unknown field") && err.contains("docs/configuration.md"),
        "{err}"
    );

    let err = load("[server]\nissuer = \"not a url\"\n", &[]).unwrap_err();
    assert!(
        err.contains("server.issuer") && err.contains("public base URL"),
        "{err}"
    );

    let err = load("[server]\nlisten = \"localhost\"\n", &[]).unwrap_err();
    assert!(err.contains("server.listen"), "{err}");

    let err = load(
        "mode = \"production\"\n[server]\nissuer = \"https://id.example.com\"\n",
        &[],
    )
    .unwrap_err();
    assert!(err.contains("master secret"), "{err}");

    let err = load(
        "mode = \"production\"\n[server]\nissuer = \"http://id.example.com\"\n",
        &[],
    )
    .unwrap_err();
    assert!(err.contains("https"), "{err}");

    let err = load("[phone]\ndefault_region = \"XX\"\n", &[]).unwrap_err();
    assert!(err.contains("phone.default_region"), "{err}");

    let err = load("", &[("IDGATE_NOPE", "1")]).unwrap_err();
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn config_check_command_reports_errors_and_hides_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[secrets]\nmaster_secret = \"a-very-secret-value-that-is-long-enough-123\"\n[database]\nurl = \"postgres://u:hunter2@db/x\"\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_idgate"))
        .args(["config", "check", "--config", good.to_str().unwrap()])
        .env_remove("IDGATE_CONFIG")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("configuration OK"));
    assert!(
        !out.contains("a-very-secret") && !out.contains("hunter2"),
        "{out}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[database]\nmax_conections = 3\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_idgate"))
        .args(["config", "check", "--config", bad.to_str().unwrap()])
        .env_remove("IDGATE_CONFIG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("max_conections"), "{err}");
}

/// The configuration reference in docs/ lists every key the config struct has.
#[test]
fn configuration_reference_documents_every_key() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/configuration.md"
    ))
    .expect("docs/configuration.md exists");
    let value = serde_json::to_value(Config::default()).unwrap();
    let mut keys = Vec::new();
    collect_keys(&value, "", &mut keys);
    // Optional keys are null in the defaults; add them by name.
    keys.extend(
        [
            "database.url",
            "secrets.master_secret",
            "secrets.master_secret_file",
            "phone.default_region",
            "dev_outbox.enabled",
            "demo.enabled",
        ]
        .map(String::from),
    );
    for key in keys {
        assert!(
            doc.contains(&format!("`{key}`")),
            "docs/configuration.md does not document `{key}`"
        );
    }
}

fn collect_keys(v: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    if let Some(obj) = v.as_object() {
        for (k, x) in obj {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if x.is_object() {
                collect_keys(x, &key, out);
            } else {
                out.push(key);
            }
        }
    }
}

/// A fake PostgreSQL server for one connection: reads the SSLRequest, answers `answer`
/// (`N`: no TLS here; `S`: go ahead) and hangs up. Returns its address and the request.
async fn fake_pg(answer: u8) -> (std::net::SocketAddr, tokio::task::JoinHandle<[u8; 8]>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 8];
        sock.read_exact(&mut request).await.unwrap();
        sock.write_all(&[answer]).await.unwrap();
        request
    });
    (addr, server)
}

/// `database.url` with `sslmode=require` asks the server for TLS (this build has rustls
/// for PostgreSQL). A server that answers the SSLRequest with `N` gets the refusal back,
/// not "SQLx was built without TLS support".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_urls_with_sslmode_require_use_tls() {
    let (addr, server) = fake_pg(b'N').await;
    let url = format!("postgres://idgate@{addr}/idgate?sslmode=require");
    let err = match idgate_store::open_store(&url, 1).await {
        Ok(_) => panic!("a server without TLS was accepted under sslmode=require"),
        Err(e) => e.to_string(),
    };
    assert!(!err.contains("without TLS support"), "{err}");
    assert!(err.contains("server does not support TLS"), "{err}");
    // PostgreSQL's SSLRequest: length 8, code 80877103.
    assert_eq!(server.await.unwrap(), [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

    // verify-ca builds a certificate verifier from the built-in roots before the
    // handshake (with two rustls crypto providers compiled in, that step cannot pick one
    // and panics); the handshake then fails on the hang-up.
    let (addr, server) = fake_pg(b'S').await;
    let url = format!("postgres://idgate@{addr}/idgate?sslmode=verify-ca");
    let err = match idgate_store::open_store(&url, 1).await {
        Ok(_) => panic!("a TLS handshake with a server that hung up succeeded"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("cannot connect to PostgreSQL"), "{err}");
    assert!(!err.contains("without TLS support"), "{err}");
    server.await.unwrap();

    // The real PostgreSQL under test: TLS works, or the server says it has none.
    if let Ok(base) = std::env::var(crate::harness::PG_ENV) {
        let sep = if base.contains('?') { '&' } else { '?' };
        match idgate_store::open_store(&format!("{base}{sep}sslmode=require"), 1).await {
            Ok(store) => store.ping().await.unwrap(),
            Err(e) => {
                let e = e.to_string();
                assert!(e.contains("server does not support TLS"), "{e}");
            }
        }
    }
}
