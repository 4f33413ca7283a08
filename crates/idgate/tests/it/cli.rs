//! The `idgate` command line, run as a real process against a real database.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::harness::{MASTER, TestDb, drop_pg};

/// Runs `idgate ARGS` with a config in `dir`, feeding `stdin`.
fn idgate(dir: &Path, db: &TestDb, args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_idgate"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("IDGATE_CONFIG")
        .env("IDGATE_DATA_DIR", dir.join("data"))
        .env("IDGATE_SECRETS__MASTER_SECRET", MASTER)
        .env("IDGATE_PHONE__DEFAULT_REGION", "US")
        .env("IDGATE_PASSWORD__MEMORY_KIB", "64")
        .env("IDGATE_PASSWORD__ITERATIONS", "1")
        .env("IDGATE_LOG__LEVEL", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(url) = &db.url {
        cmd.env("IDGATE_DATABASE__URL", url);
    }
    let mut child = cmd.spawn().expect("spawn idgate");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("idgate runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_add_validates_numbers_and_usernames() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let d = dir.path();
    let pw = "correct horse battery\n";

    for (bad, why) in [
        ("+1 555", "not a valid phone number"),
        ("12ab", "not a phone number"),
        ("+1 900 555 0199", "premium-rate"),
    ] {
        let o = idgate(
            d,
            &db,
            &["user", "add", "--username", "bob", "--mobile", bad],
            pw,
        );
        assert!(!o.status.success(), "{bad} accepted");
        assert!(text(&o).contains(why), "{bad}: {}", text(&o));
    }

    // A national number with the default region (US) is stored as E.164.
    let o = idgate(
        d,
        &db,
        &[
            "user",
            "add",
            "--username",
            "Alice",
            "--mobile",
            "(415) 555-0100",
            "--mobile-verified",
            "--admin",
        ],
        pw,
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = idgate(d, &db, &["user", "show", "alice"], "");
    let shown = text(&o);
    assert!(shown.contains("+14155550100"), "{shown}");
    assert!(shown.contains("mobile verified: true"), "{shown}");
    assert!(shown.contains("admin:           true"), "{shown}");

    // Usernames are unique case-insensitively.
    let o = idgate(d, &db, &["user", "add", "--username", "ALICE"], pw);
    assert!(!o.status.success());
    assert!(text(&o).contains("already exists"), "{}", text(&o));

    // Passwords are never taken from argv, and a short one is refused.
    let o = idgate(d, &db, &["user", "add", "--username", "carol"], "short\n");
    assert!(!o.status.success());
    assert!(text(&o).contains("shorter than 8"), "{}", text(&o));

    // Lock, unlock, set-mobile, delete.
    for args in [
        vec!["user", "lock", "alice", "--minutes", "5"],
        vec!["user", "unlock", "alice"],
        vec!["user", "set-mobile", "alice", "+94 77 123 4567"],
    ] {
        let o = idgate(d, &db, &args, "");
        assert!(o.status.success(), "{args:?}: {}", text(&o));
    }
    let o = idgate(d, &db, &["user", "show", "alice"], "");
    assert!(text(&o).contains("+94771234567"));
    assert!(
        text(&o).contains("mobile verified: false"),
        "a new number is unverified"
    );
    let o = idgate(d, &db, &["user", "list"], "");
    assert!(text(&o).contains("Alice"));
    assert!(!text(&o).contains("+94771234567"), "list masks numbers");
    let o = idgate(d, &db, &["user", "delete", "alice"], "");
    assert!(o.status.success());
    let o = idgate(d, &db, &["user", "show", "alice"], "");
    assert!(!o.status.success());
    drop_pg(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_and_admin_token_commands_print_secrets_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let d = dir.path();
    let o = idgate(
        d,
        &db,
        &[
            "app",
            "add",
            "--name",
            "shop",
            "--redirect-uri",
            "https://shop.example.com/cb",
        ],
        "",
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let client_id = out
        .lines()
        .find_map(|l| l.strip_prefix("client_id: "))
        .unwrap()
        .to_string();
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap()
        .to_string();
    assert!(secret.len() >= 40);
    let o = idgate(d, &db, &["app", "show", &client_id], "");
    assert!(text(&o).contains("shop"));
    assert!(!text(&o).contains(&secret), "the secret is shown only once");

    let o = idgate(
        d,
        &db,
        &[
            "app",
            "add",
            "--name",
            "x",
            "--redirect-uri",
            "http://evil.example.com/cb",
        ],
        "",
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("plain http"), "{}", text(&o));

    let o = idgate(d, &db, &["admin", "token", "create", "--name", "ci"], "");
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    let token = stdout.trim();
    assert!(
        token.starts_with("idg_admin_") && !token.contains(' '),
        "token alone on its line: {stdout}"
    );
    let o = idgate(d, &db, &["admin", "token", "list"], "");
    assert!(text(&o).contains("ci") && text(&o).contains("active"));
    assert!(!text(&o).contains(token));
    let o = idgate(d, &db, &["admin", "token", "revoke", "ci"], "");
    assert!(o.status.success(), "{}", text(&o));
    let o = idgate(d, &db, &["admin", "token", "list"], "");
    assert!(text(&o).contains("revoked"));
    let o = idgate(d, &db, &["app", "delete", &client_id], "");
    assert!(o.status.success());
    drop_pg(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_master_key_is_generated_once_and_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_idgate"))
            .args(args)
            .current_dir(d)
            .env_remove("IDGATE_CONFIG")
            .env("IDGATE_LOG__LEVEL", "warn")
            .output()
            .unwrap()
    };
    let o = run(&["migrate"]);
    assert!(o.status.success(), "{}", text(&o));
    let key = d.join("idgate-data/master.key");
    let first = std::fs::read_to_string(&key).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let o = run(&["migrate"]);
    assert!(o.status.success());
    assert_eq!(
        std::fs::read_to_string(&key).unwrap(),
        first,
        "same key on restart"
    );
    // The key is gone but the database is not: refuse rather than regenerate.
    std::fs::remove_file(&key).unwrap();
    let o = run(&["migrate"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("restore master.key"), "{}", text(&o));
    // A different secret than the database was set up with is refused too.
    let o = Command::new(env!("CARGO_BIN_EXE_idgate"))
        .args(["migrate"])
        .current_dir(d)
        .env(
            "IDGATE_SECRETS__MASTER_SECRET",
            "another-secret-that-is-long-enough-0123456789",
        )
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("master secret differs"), "{}", text(&o));
}

/// docs/cli.md: exit 0 success, 1 a command failed, 2 a configuration error — the
/// master secret's problems included, though they surface only once the command runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_errors_exit_2_and_failed_commands_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let d = dir.path();
    let run = |args: &[&str], master: &str| {
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
    };
    let o = run(&["migrate"], MASTER);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // A master secret too short to derive keys from.
    let o = run(&["migrate"], "short");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("secrets.master_secret"), "{}", text(&o));
    assert!(text(&o).contains("too short"), "{}", text(&o));
    // A master secret other than the database's.
    let o = run(
        &["user", "list"],
        "another-secret-that-is-long-enough-0123456789",
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("master secret differs"), "{}", text(&o));
    // A key in the config that does not exist.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_idgate"));
    let o = cmd
        .args(["migrate"])
        .current_dir(d)
        .env_remove("IDGATE_CONFIG")
        .env("IDGATE_DATABASE__MAX_CONECTIONS", "3")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    // A command that fails for another reason exits 1.
    let o = run(&["user", "show", "nobody"], MASTER);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    drop_pg(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_request_finish() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let d = dir.path();
    let o = idgate(d, &db, &["admin", "token", "create", "--name", "t"], "");
    let token = String::from_utf8_lossy(&o.stdout).trim().to_string();

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_idgate"));
    cmd.arg("serve")
        .current_dir(d)
        .env("IDGATE_DATA_DIR", d.join("data"))
        .env("IDGATE_SECRETS__MASTER_SECRET", MASTER)
        .env("IDGATE_SERVER__LISTEN", "127.0.0.1:0")
        .env("IDGATE_LOG__FORMAT", "json")
        .env("IDGATE_LIMITS__ENABLED", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(url) = &db.url {
        cmd.env("IDGATE_DATABASE__URL", url);
    }
    let mut child = cmd.spawn().unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        use std::io::BufRead;
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "server exited early"
        );
        if line.contains("idgate listening") {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            break v["addr"].as_str().unwrap().to_string();
        }
    };

    // Start a request and send only half its body.
    let body = r#"{"length": 8, "expiry": 600}"#;
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "PUT /api/v1/otp-policy HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        &body[..10]
    )
    .unwrap();
    conn.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    // The in-flight request completes after the signal.
    conn.write_all(&body.as_bytes()[10..]).unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"length\":8"), "{response}");
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    drop_pg(&db).await;
}
