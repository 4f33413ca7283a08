//! Two `idgate` processes on one PostgreSQL, on different ports, the way several nodes
//! serve one deployment behind a load balancer: a browser sign-in started on node A
//! finishes on node B, a Verify API code issued on A is checked on B, the per-number
//! send limit and the account lockout hold whichever node is asked, and killing A
//! (SIGKILL) in the middle of a sign-in leaves B serving it to the end.
//!
//! Codes travel through a fake D7 gateway configured as the SMS provider (in the
//! database, so both nodes send through it), never through a node's in-memory outbox.
//! On SQLite these tests are skipped with a printed reason: several nodes need
//! PostgreSQL (`scripts/test` runs the suite again with `IDGATE_TEST_DATABASE_URL`).

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, Nonce, PkceCodeChallenge};
use reqwest::Method;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::fake_d7::{self, FakeGateway, Fault};
use crate::harness::{TestDb, code_in, drop_pg};
use crate::oidc::{Browser, Page, REDIRECT, query_param};
use crate::oidc_flows::jwt_claims;
use crate::process::{Server, cli, spawn_server_env};

pub const PASSWORD: &str = "correct horse battery";

/// Cheap Argon2 for child processes (what the in-process harness uses too).
pub const CHEAP_ARGON2: [(&str, &str); 3] = [
    ("IDGATE_PASSWORD__MEMORY_KIB", "64"),
    ("IDGATE_PASSWORD__ITERATIONS", "1"),
    ("IDGATE_PASSWORD__PARALLELISM", "1"),
];

/// A new admin token, made with the CLI on the test's database.
pub fn admin_token(d: &Path, db: &TestDb) -> String {
    cli(d, db, &["admin", "token", "create", "--name", "tests"])
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("idg_admin_"))
        .expect("the CLI printed a token")
        .to_string()
}

/// One admin-API call: (status, JSON body or Null).
pub async fn admin_call(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Result<(u16, Value)> {
    let mut r = http
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

/// Waits (bounded) until `base` answers `/readyz` with 200.
pub async fn wait_ready(http: &reqwest::Client, base: &str) {
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(Instant::now() < until, "{base} never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The code in the newest message the gateway accepted for `to`.
pub fn gateway_code(g: &FakeGateway, to: &str) -> Option<String> {
    g.received()
        .iter()
        .rev()
        .filter(|r| r.status == 200)
        .find_map(|r| {
            let m = r.json()["messages"][0].clone();
            let to_us = m["recipients"].as_array()?.iter().any(|x| x == to);
            to_us.then(|| code_in(m["content"].as_str().unwrap_or_default(), 6))
        })
}

/// A code of the same shape that differs from `code` in its first character.
pub fn wrong_code(code: &str) -> String {
    let mut rest = code.chars();
    let first = if rest.next() == Some('1') { '2' } else { '1' };
    std::iter::once(first).chain(rest).collect()
}

/// How many messages to `to` the gateway accepted.
pub fn gateway_count(g: &FakeGateway, to: &str) -> usize {
    g.received()
        .iter()
        .filter(|r| r.status == 200)
        .filter(|r| {
            r.json()["messages"][0]["recipients"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == to))
        })
        .count()
}

/// Skips a multi-node test on SQLite, saying why.
async fn postgres_or_skip(test: &str) -> Option<TestDb> {
    let db = TestDb::new().await;
    if db.is_postgres() {
        return Some(db);
    }
    eprintln!(
        "SKIPPED {test}: several idgate nodes share one PostgreSQL; set IDGATE_TEST_DATABASE_URL \
         (scripts/test runs the PostgreSQL pass, and requires it under CI=true)"
    );
    None
}

/// Two nodes on one PostgreSQL, an SMS provider pointed at the fake gateway, one
/// application.
struct Cluster {
    dir: TempDir,
    db: TestDb,
    gateway: FakeGateway,
    http: reqwest::Client,
    /// The deployment's public address (the load balancer's), shared by both nodes.
    issuer: String,
    token: String,
    client_id: String,
    secret: String,
    a: Option<Server>,
    b: Server,
}

impl Cluster {
    async fn start(test: &str, env: &[(&str, &str)]) -> Option<Self> {
        let db = postgres_or_skip(test).await?;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let token = admin_token(d, &db);
        let gateway = FakeGateway::start().await;
        // A port nobody listens on: only the `iss` and cookie policy use it.
        let lb_port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let issuer = format!("http://127.0.0.1:{lb_port}");
        let mut all: Vec<(&str, &str)> = vec![("IDGATE_SERVER__ISSUER", issuer.as_str())];
        all.extend(CHEAP_ARGON2);
        all.extend(env);
        let a = spawn_server_env(d, &db, &all);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap();
        // Configured through A's admin API; B reads it from the database.
        let (st, v) = admin_call(
            &http,
            &a.base(),
            &token,
            Method::POST,
            "/api/v1/channels/sms/providers",
            Some(json!({"name": "d7", "kind": "d7-sms",
                "settings": {"originator": "idgate", "base_url": gateway.base},
                "secrets": {"api_token": fake_d7::TOKEN}})),
        )
        .await
        .unwrap();
        assert_eq!(st, 201, "{v}");
        let (st, v) = admin_call(
            &http,
            &a.base(),
            &token,
            Method::POST,
            "/api/v1/applications",
            Some(json!({"name": "Shop", "redirect_uris": [REDIRECT]})),
        )
        .await
        .unwrap();
        assert_eq!(st, 201, "{v}");
        let client_id = v["client_id"].as_str().unwrap().to_string();
        let secret = v["client_secret"].as_str().unwrap().to_string();
        let b = spawn_server_env(d, &db, &all);
        assert_ne!(a.addr, b.addr);
        Some(Self {
            dir,
            db,
            gateway,
            http,
            issuer,
            token,
            client_id,
            secret,
            a: Some(a),
            b,
        })
    }

    fn a(&self) -> String {
        self.a.as_ref().expect("node A is running").base()
    }

    fn b(&self) -> String {
        self.b.base()
    }

    /// A user with a password and a verified number, created through `base`.
    async fn user(&self, base: &str, username: &str, mobile: &str) -> String {
        let (st, v) = admin_call(
            &self.http,
            base,
            &self.token,
            Method::POST,
            "/api/v1/users",
            Some(json!({"username": username, "password": PASSWORD,
                "mobile": mobile, "mobile_verified": true})),
        )
        .await
        .unwrap();
        assert_eq!(st, 201, "{v}");
        v["id"].as_str().unwrap().to_string()
    }

    /// Starts a Verify API verification on `base`.
    async fn send(&self, base: &str, to: &str) -> reqwest::Result<reqwest::Response> {
        self.http
            .post(format!("{base}/api/v1/verifications"))
            .basic_auth(&self.client_id, Some(&self.secret))
            .json(&json!({"to": to, "channel": "sms"}))
            .send()
            .await
    }

    async fn check(&self, base: &str, id: &str, code: &str) -> Value {
        let r = self
            .http
            .post(format!("{base}/api/v1/verifications/{id}/check"))
            .basic_auth(&self.client_id, Some(&self.secret))
            .json(&json!({"code": code}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    async fn verification(&self, base: &str, id: &str) -> Value {
        self.http
            .get(format!("{base}/api/v1/verifications/{id}"))
            .basic_auth(&self.client_id, Some(&self.secret))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// `/authorize` on `base` with PKCE and a nonce; returns the PKCE verifier and nonce.
    async fn authorize(&self, b: &mut Browser, base: &str) -> (String, String) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = format!("n-{}", uuid::Uuid::new_v4().simple());
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid profile phone")
            .append_pair("state", "st-mn")
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", challenge.as_str())
            .append_pair("code_challenge_method", "S256");
        let p = b.get(&format!("{base}/authorize?{}", q.finish())).await;
        assert_eq!(p.status, 303, "{}", p.body);
        assert_eq!(p.location.as_deref(), Some("/login"));
        (verifier.secret().clone(), nonce)
    }

    /// Authorize and password on `base`: the code page (a code is on its way).
    async fn password_step(
        &self,
        b: &mut Browser,
        base: &str,
        user: &str,
    ) -> (Page, String, String) {
        let (verifier, nonce) = self.authorize(b, base).await;
        let page = b.get(&format!("{base}/login")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let code_page = b
            .post(
                &format!("{base}/login/password"),
                &[
                    ("csrf", &page.csrf()),
                    ("username", user),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(code_page.status, 200, "{}", code_page.body);
        assert!(
            code_page.body.contains("autocomplete=\"one-time-code\""),
            "{}",
            code_page.body
        );
        (code_page, verifier, nonce)
    }

    /// The token endpoint of `base`, authorization-code grant.
    async fn exchange(&self, base: &str, code: &str, verifier: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{base}/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("client_id", &self.client_id),
                ("client_secret", &self.secret),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .unwrap();
        let st = r.status().as_u16();
        (st, r.json().await.unwrap_or(Value::Null))
    }

    /// Verifies an ID token's signature against `jwks_base`'s JWKS, its issuer,
    /// audience and nonce, the way a relying party does; returns its claims.
    async fn verify_id_token(&self, jwks_base: &str, id_token: &str, nonce: &str) -> Value {
        let jwks: CoreJsonWebKeySet = self
            .http
            .get(format!("{jwks_base}/jwks"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let verifier = CoreIdTokenVerifier::new_confidential_client(
            ClientId::new(self.client_id.clone()),
            ClientSecret::new(self.secret.clone()),
            IssuerUrl::new(self.issuer.clone()).unwrap(),
            jwks,
        )
        .set_allowed_algs(vec![
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        ]);
        let token = CoreIdToken::from_str(id_token).unwrap();
        token
            .claims(&verifier, &Nonce::new(nonce.to_string()))
            .expect("the ID token verifies against the other node's JWKS");
        jwt_claims(id_token)
    }

    async fn stop(mut self) {
        drop(self.a.take());
        drop(self.b);
        drop_pg(&self.db).await;
        drop(self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn multinode_sign_in_started_on_a_completes_on_b() {
    let Some(c) = Cluster::start("multinode_sign_in_started_on_a_completes_on_b", &[]).await else {
        return;
    };
    let mobile = "+14155550161";
    let uid = c.user(&c.a(), "nadia", mobile).await;
    let mut b = Browser::new();

    // Node A: authorize and password; A sends the code through the gateway.
    let (code_page, verifier, nonce) = c.password_step(&mut b, &c.a(), "nadia").await;
    let code = gateway_code(&c.gateway, mobile).expect("A sent a code");

    // Node B: the same browser cookie, the code page's CSRF token, the code.
    let done = b
        .post(
            &format!("{}/login/code", c.b()),
            &[("csrf", &code_page.csrf()), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, 303, "B finishes the sign-in: {}", done.body);
    let location = done.location.unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    assert_eq!(query_param(&location, "state").as_deref(), Some("st-mn"));
    let auth_code = query_param(&location, "code").unwrap();

    // Node B: the token exchange (PKCE verifier from the request made to A).
    let (st, tokens) = c.exchange(&c.b(), &auth_code, &verifier).await;
    assert_eq!(st, 200, "{tokens}");
    let id_token = tokens["id_token"].as_str().unwrap();
    // Signed by B, verified with A's JWKS: the signing keys are the cluster's.
    let claims = c.verify_id_token(&c.a(), id_token, &nonce).await;
    assert_eq!(claims["sub"], uid.as_str());
    assert_eq!(claims["iss"], c.issuer.as_str());
    assert_eq!(claims["amr"], json!(["pwd", "sms", "mfa"]));

    // The access token B issued works on A.
    let info: Value = c
        .http
        .get(format!("{}/userinfo", c.a()))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], uid.as_str(), "{info}");
    assert_eq!(info["phone_number"], mobile);

    // The authorization code was single use cluster-wide: A refuses the replay.
    let (st, v) = c.exchange(&c.a(), &auth_code, &verifier).await;
    assert_eq!(st, 400, "{v}");
    assert_eq!(v["error"], "invalid_grant");

    // The session B signed in is A's too: single sign-on, no new code.
    let sent = gateway_count(&c.gateway, mobile);
    c.authorize_sso(&mut b).await;
    assert_eq!(gateway_count(&c.gateway, mobile), sent, "SSO sends no code");
    c.stop().await;
}

impl Cluster {
    /// `prompt=none` on A with the browser's cookie answers with a code at once.
    async fn authorize_sso(&self, b: &mut Browser) {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid")
            .append_pair("state", "st-sso")
            .append_pair("prompt", "none");
        let p = b
            .get(&format!("{}/authorize?{}", self.a(), q.finish()))
            .await;
        assert_eq!(p.status, 303, "{}", p.body);
        let loc = p.location.unwrap();
        assert!(loc.starts_with(REDIRECT), "{loc}");
        assert!(query_param(&loc, "code").is_some(), "{loc}");
        assert_eq!(query_param(&loc, "error"), None, "{loc}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn multinode_code_issued_on_a_is_checked_on_b() {
    let Some(c) = Cluster::start("multinode_code_issued_on_a_is_checked_on_b", &[]).await else {
        return;
    };
    let to = "+14155550162";
    let r = c.send(&c.a(), to).await.unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    let code = gateway_code(&c.gateway, to).expect("A sent the code");
    let wrong = wrong_code(&code);

    // A wrong code on B counts, and A sees the count.
    let r = c.check(&c.b(), &id, &wrong).await;
    assert_eq!(
        (r["status"].as_str(), r["valid"].as_bool()),
        (Some("pending"), Some(false))
    );
    assert_eq!(r["attempts_left"], 4);
    assert_eq!(c.verification(&c.a(), &id).await["attempts_left"], 4);

    // The right code on B approves; A sees it approved and will not resend it.
    let r = c.check(&c.b(), &id, &code).await;
    assert_eq!(
        (r["status"].as_str(), r["valid"].as_bool()),
        (Some("approved"), Some(true))
    );
    assert_eq!(c.verification(&c.a(), &id).await["status"], "approved");
    let r = c
        .http
        .post(format!("{}/api/v1/verifications/{id}/resend", c.a()))
        .basic_auth(&c.client_id, Some(&c.secret))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        409,
        "an approved verification is finished on every node"
    );

    // And the other way round, B issues and A checks.
    let to2 = "+14155550163";
    let v: Value = c.send(&c.b(), to2).await.unwrap().json().await.unwrap();
    let id2 = v["id"].as_str().unwrap().to_string();
    let code2 = gateway_code(&c.gateway, to2).expect("B sent the code");
    assert_eq!(c.check(&c.a(), &id2, &code2).await["status"], "approved");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn multinode_per_number_send_limit_is_shared() {
    let on = [("IDGATE_LIMITS__ENABLED", "true")];
    let Some(c) = Cluster::start("multinode_per_number_send_limit_is_shared", &on).await else {
        return;
    };
    // Default limit: 5 sends per number per 10 minutes. Alternate A, B, A, B, A.
    let to = "+14155550164";
    for i in 0..5 {
        let base = if i % 2 == 0 { c.a() } else { c.b() };
        let r = c.send(&base, to).await.unwrap();
        assert_eq!(
            r.status(),
            201,
            "send {} (node {}) was refused",
            i + 1,
            i % 2
        );
    }
    // The sixth is refused whichever node gets it, with the same window.
    let mut retry_afters = Vec::new();
    for base in [c.a(), c.b()] {
        let r = c.send(&base, to).await.unwrap();
        assert_eq!(r.status(), 429, "{base}");
        let retry: i64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=600).contains(&retry), "{retry}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["rule"], "sends_per_number", "{v}");
        retry_afters.push(retry);
    }
    assert!(
        (retry_afters[0] - retry_afters[1]).abs() <= 2,
        "both nodes count down the same window: {retry_afters:?}"
    );
    assert_eq!(
        gateway_count(&c.gateway, to),
        5,
        "refused sends never reach the gateway"
    );

    // Under a race: 12 sends to a fresh number at once, half on each node.
    let to = "+14155550165";
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (http, base, cid, sec) = (
            c.http.clone(),
            if i % 2 == 0 { c.a() } else { c.b() },
            c.client_id.clone(),
            c.secret.clone(),
        );
        tasks.push(tokio::spawn(async move {
            http.post(format!("{base}/api/v1/verifications"))
                .basic_auth(cid, Some(sec))
                .json(&json!({"to": to, "channel": "sms"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort_unstable();
    let sent = statuses.iter().filter(|s| **s == 201).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((sent, refused), (5, 7), "{statuses:?}");
    assert_eq!(gateway_count(&c.gateway, to), 5);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn multinode_lockout_triggered_on_a_is_enforced_on_b() {
    let env = [
        ("IDGATE_LIMITS__ENABLED", "true"),
        ("IDGATE_LIMITS__LOCKOUT__AFTER_FAILURES", "4"),
    ];
    let Some(c) = Cluster::start("multinode_lockout_triggered_on_a_is_enforced_on_b", &env).await
    else {
        return;
    };
    let mobile = "+14155550166";
    let uid = c.user(&c.b(), "lena", mobile).await;
    let mut b = Browser::new();
    let (mut page, _, _) = c.password_step(&mut b, &c.a(), "lena").await;
    let code = gateway_code(&c.gateway, mobile).unwrap();
    let wrong = &wrong_code(&code);
    // Failures 1–3 alternate A, B, A: the failure count is the cluster's.
    for base in [c.a(), c.b(), c.a()] {
        let csrf = page.csrf();
        page = b
            .post(
                &format!("{base}/login/code"),
                &[("csrf", &csrf), ("code", wrong)],
            )
            .await;
        assert_eq!(page.status, 422, "{base}: {}", page.body);
    }
    // The fourth, on A, locks the account.
    let csrf = page.csrf();
    let locked = b
        .post(
            &format!("{}/login/code", c.a()),
            &[("csrf", &csrf), ("code", wrong)],
        )
        .await;
    assert_eq!(locked.status, 403, "{}", locked.body);
    assert!(locked.body.contains("locked until"), "{}", locked.body);

    // B: the right code of the still-pending verification is refused …
    let refused = b
        .post(
            &format!("{}/login/code", c.b()),
            &[("csrf", &csrf), ("code", &code)],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("locked until"), "{}", refused.body);
    assert!(refused.location.is_none());
    // … a fresh sign-in with the right password is refused …
    let mut other = Browser::new();
    c.authorize(&mut other, &c.b()).await;
    let p = other.get(&format!("{}/login", c.b())).await;
    let p = other
        .post(
            &format!("{}/login/password", c.b()),
            &[
                ("csrf", &p.csrf()),
                ("username", "lena"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.body.contains("locked until"), "{}", p.body);
    // … and B's admin API shows the lock.
    let (st, u) = admin_call(
        &c.http,
        &c.b(),
        &c.token,
        Method::GET,
        &format!("/api/v1/users/{uid}"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(st, 200);
    assert_eq!(
        (u["status"].as_str(), u["locked"].as_bool()),
        (Some("locked"), Some(true)),
        "{u}"
    );

    // Unlocked through B, the same code signs in on A.
    let (st, v) = admin_call(
        &c.http,
        &c.b(),
        &c.token,
        Method::POST,
        &format!("/api/v1/users/{uid}/unlock"),
        None,
    )
    .await
    .unwrap();
    assert!((200..300).contains(&st), "{st} {v}");
    let done = b
        .post(
            &format!("{}/login/code", c.a()),
            &[("csrf", &csrf), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(done.location.unwrap().starts_with(REDIRECT));

    // The unlock reset the account's lock-repeat counter: locked again (failures on
    // B, then A), it is a first lock of the base length, not a doubled one.
    let mut again = Browser::new();
    let (mut page, _, _) = c.password_step(&mut again, &c.b(), "lena").await;
    let code = gateway_code(&c.gateway, mobile).unwrap();
    let wrong = &wrong_code(&code);
    for (i, base) in [c.b(), c.b(), c.a(), c.a()].iter().enumerate() {
        let csrf = page.csrf();
        let p = again
            .post(
                &format!("{base}/login/code"),
                &[("csrf", &csrf), ("code", wrong)],
            )
            .await;
        assert_eq!(p.status, if i < 3 { 422 } else { 403 }, "{}", p.body);
        page = p;
    }
    let (st, v) = admin_call(
        &c.http,
        &c.a(),
        &c.token,
        Method::GET,
        "/api/v1/audit-events?action=user.locked",
        None,
    )
    .await
    .unwrap();
    assert_eq!(st, 200, "{v}");
    let locks: Vec<&Value> = v["events"].as_array().unwrap().iter().collect();
    assert_eq!(locks.len(), 2, "{v}");
    for e in locks {
        assert_eq!(e["target"], uid.as_str(), "{e}");
        assert_eq!(
            e["details"]["lock_number"], 1,
            "an admin unlock resets the lock-repeat counter: {e}"
        );
    }
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn multinode_sigkill_of_a_mid_flow_leaves_b_serving() {
    let Some(mut c) = Cluster::start("multinode_sigkill_of_a_mid_flow_leaves_b_serving", &[]).await
    else {
        return;
    };
    let mobile = "+14155550167";
    let uid = c.user(&c.a(), "kim", mobile).await;
    let mut b = Browser::new();
    let (code_page, verifier, nonce) = c.password_step(&mut b, &c.a(), "kim").await;
    let code = gateway_code(&c.gateway, mobile).unwrap();

    // A is busy with a request (its gateway call hangs) when it is killed.
    let before = c.gateway.received().len();
    c.gateway.fail_next(&[Fault::Hang]);
    let in_flight = {
        let (http, base, cid, sec) = (c.http.clone(), c.a(), c.client_id.clone(), c.secret.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let r = http
                .post(format!("{base}/api/v1/verifications"))
                .basic_auth(cid, Some(sec))
                .json(&json!({"to": "+14155550168", "channel": "sms"}))
                .send()
                .await;
            (r.map(|r| r.status().as_u16()), started.elapsed())
        })
    };
    let until = Instant::now() + Duration::from_secs(10);
    while c.gateway.received().len() == before {
        assert!(Instant::now() < until, "A never called the gateway");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut a = c.a.take().unwrap();
    a.child.kill().unwrap(); // SIGKILL
    let status = a.child.wait().unwrap();
    assert!(!status.success(), "A was killed: {status:?}");
    let (answer, took) = tokio::time::timeout(Duration::from_secs(10), in_flight)
        .await
        .expect("the request to the dead node ended")
        .unwrap();
    assert!(answer.is_err(), "A died before answering: {answer:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    drop(a);

    // B still serves: ready, and the sign-in A started finishes on B.
    wait_ready(&c.http, &c.b()).await;
    let done = b
        .post(
            &format!("{}/login/code", c.b()),
            &[("csrf", &code_page.csrf()), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let auth_code = query_param(&done.location.unwrap(), "code").unwrap();
    let (st, tokens) = c.exchange(&c.b(), &auth_code, &verifier).await;
    assert_eq!(st, 200, "{tokens}");
    let claims = c
        .verify_id_token(&c.b(), tokens["id_token"].as_str().unwrap(), &nonce)
        .await;
    assert_eq!(claims["sub"], uid.as_str());

    // New work goes to B as usual.
    let to = "+14155550169";
    let r = c.send(&c.b(), to).await.unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    let code = gateway_code(&c.gateway, to).unwrap();
    assert_eq!(
        c.check(&c.b(), v["id"].as_str().unwrap(), &code).await["status"],
        "approved"
    );
    c.stop().await;
}
