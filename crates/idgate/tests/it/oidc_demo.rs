//! `idgate serve` on defaults is a click-through demo: the real binary prints the demo
//! user's credentials once, and `/demo` signs in through OIDC (PKCE, code exchanged on
//! the server) and shows the ID token's claims. Production mode has none of it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use idgate::config::{Config, Mode, Secret};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use secrecy::SecretString;
use serde_json::Value;

use crate::harness::{MASTER, TestDb, TestServer, code_in, drop_pg};

struct Proc {
    child: Child,
    out: Arc<Mutex<String>>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `idgate serve` with nothing configured but where to listen (and the test secret).
fn serve(dir: &std::path::Path, db: &TestDb, port: u16) -> Proc {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_idgate"));
    cmd.arg("serve")
        .current_dir(dir)
        .env_remove("IDGATE_CONFIG")
        .env_remove("RUST_LOG")
        .env("IDGATE_DATA_DIR", dir.join("data"))
        .env("IDGATE_SECRETS__MASTER_SECRET", MASTER)
        .env("IDGATE_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("IDGATE_SERVER__ISSUER", format!("http://127.0.0.1:{port}"))
        .env("IDGATE_PASSWORD__MEMORY_KIB", "64")
        .env("IDGATE_PASSWORD__ITERATIONS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(url) = &db.url {
        cmd.env("IDGATE_DATABASE__URL", url);
    }
    let mut child = cmd.spawn().unwrap();
    let out = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let sink = out.clone();
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if line.contains("idgate listening") {
                    let _ = tx.send(());
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
    }
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the server started");
    Proc { child, out }
}

/// A browser with a cookie jar (the demo RP and idgate each set their own cookie).
struct Jar {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

struct Resp {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Jar {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, rb: reqwest::RequestBuilder) -> Resp {
        let header: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let rb = if header.is_empty() {
            rb
        } else {
            rb.header(COOKIE, header.join("; "))
        };
        let r = rb.send().await.unwrap();
        for c in r.headers().get_all(SET_COOKIE) {
            let pair = c.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.into(), v.into());
            }
        }
        Resp {
            status: r.status().as_u16(),
            location: r
                .headers()
                .get(LOCATION)
                .map(|v| v.to_str().unwrap().to_string()),
            body: r.text().await.unwrap(),
        }
    }

    async fn get(&mut self, url: &str) -> Resp {
        let rb = self.http.get(url);
        self.send(rb).await
    }

    async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Resp {
        let rb = self.http.post(url).form(form);
        self.send(rb).await
    }
}

fn csrf(body: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let at = body.find(marker).expect("a csrf field") + marker.len();
    body[at..].split('"').next().unwrap().to_string()
}

fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http") {
        location.to_string()
    } else {
        format!("{base}{location}")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serve_on_defaults_is_a_click_through_demo() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = serve(dir.path(), &db, port);
    let printed = server.out.lock().unwrap().clone();
    let password = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .unwrap_or_else(|| panic!("credentials printed: {printed}"))
        .to_string();
    assert!(printed.contains("username: demo"), "{printed}");
    assert!(printed.contains(&format!("{base}/demo")), "{printed}");
    assert!(
        !printed.contains("+14155550100"),
        "the full number is never printed"
    );

    let mut b = Jar::new();
    // Through another name for the same server: sent to the issuer's host first.
    let other = b.get(&format!("http://localhost:{port}/demo")).await;
    assert_eq!(other.status, 303);
    assert_eq!(
        other.location.as_deref(),
        Some(format!("{base}/demo").as_str())
    );
    let home = b.get(&format!("{base}/demo")).await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("/dev/outbox"), "{}", home.body);
    let start = b.get(&format!("{base}/demo/login")).await;
    assert_eq!(start.status, 303);
    let authorize = start.location.unwrap();
    assert!(
        authorize.starts_with(&format!("{base}/authorize?")),
        "{authorize}"
    );
    assert!(authorize.contains("code_challenge_method=S256"));
    assert!(authorize.contains("nonce="));
    let p = b.get(&authorize).await;
    assert_eq!(p.location.as_deref(), Some("/login"), "{}", p.body);
    let page = b.get(&format!("{base}/login")).await;
    let code_page = b
        .post(
            &format!("{base}/login/password"),
            &[
                ("csrf", &csrf(&page.body)),
                ("username", "demo"),
                ("password", &password),
            ],
        )
        .await;
    assert_eq!(code_page.status, 200, "{}", code_page.body);
    assert!(code_page.body.contains("••••••0100"), "{}", code_page.body);
    let outbox: Value = reqwest::get(format!("{base}/dev/outbox.json?limit=1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = code_in(outbox["messages"][0]["text"].as_str().unwrap(), 6);
    let back = b
        .post(
            &format!("{base}/login/code"),
            &[("csrf", &csrf(&code_page.body)), ("code", &code)],
        )
        .await;
    assert_eq!(back.status, 303, "{}", back.body);
    let callback = absolute(&base, &back.location.unwrap());
    assert!(
        callback.starts_with(&format!("{base}/demo/callback?")),
        "{callback}"
    );
    let shown = b.get(&callback).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(shown.body.contains("<dt>amr</dt>"), "{}", shown.body);
    assert!(
        shown
            .body
            .contains("[&#34;pwd&#34;,&#34;sms&#34;,&#34;mfa&#34;]")
            || shown
                .body
                .contains("[&quot;pwd&quot;,&quot;sms&quot;,&quot;mfa&quot;]"),
        "{}",
        shown.body
    );
    assert!(
        shown
            .body
            .contains("<dt>preferred_username</dt><dd>demo</dd>")
    );
    assert!(shown.body.contains("/dev/outbox"));
    // A callback that this browser did not start is refused.
    let forged = b.get(&format!("{base}/demo/callback?code=x&state=y")).await;
    assert_eq!(forged.status, 400, "{}", forged.body);

    // The next start seeds nothing and prints no password.
    drop(server);
    let again = serve(dir.path(), &db, port);
    let printed = again.out.lock().unwrap().clone();
    assert!(!printed.contains("password: "), "{printed}");
    let home = reqwest::get(format!("{base}/demo")).await.unwrap();
    assert_eq!(home.status(), 200);
    drop(again);
    drop_pg(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_production_mode_has_none_of_it() {
    let s = TestServer::start_with(|c| {
        c.mode = Mode::Production;
        c.server.issuer = "https://id.example.com".into();
        c.demo.enabled = None;
        c.dev_outbox.enabled = Some(false);
    })
    .await;
    for path in ["/demo", "/demo/login", "/demo/callback", "/dev/outbox"] {
        let r = s.http.get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    let st = s.state();
    assert!(
        st.store
            .find_user_by_username("demo")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        st.store
            .get_application("idgate-demo")
            .await
            .unwrap()
            .is_none()
    );
    s.stop().await;

    // And it cannot be switched on there.
    let mut c = Config {
        mode: Mode::Production,
        ..Config::default()
    };
    c.server.issuer = "https://id.example.com".into();
    c.secrets.master_secret = Some(Secret(SecretString::from(MASTER)));
    c.validate().expect("otherwise valid");
    c.demo.enabled = Some(true);
    let e = c.validate().unwrap_err();
    assert!(e.0.contains("demo.enabled"), "{}", e.0);
}
