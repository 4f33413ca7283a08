//! The admin API end to end: users, applications, audit events and admin tokens, with
//! bad input of every kind answered as 4xx problem+json naming the field (never 500).
//! Runs on SQLite, or on PostgreSQL with IDGATE_TEST_DATABASE_URL set.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::TestServer;

pub struct Api<'a> {
    pub s: &'a TestServer,
    pub token: String,
}

pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
    pub text: String,
}

impl Answer {
    /// Asserts a problem+json answer with `status` naming `field`.
    #[track_caller]
    pub fn problem(&self, status: u16, field: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(
            self.content_type, "application/problem+json",
            "{}",
            self.text
        );
        assert!(
            self.body["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:idgate:problem:")
        );
        assert_eq!(self.body["field"], json!(field), "{}", self.text);
    }
}

impl<'a> Api<'a> {
    pub async fn new(s: &'a TestServer) -> Self {
        Self {
            token: s.admin_token().await,
            s,
        }
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        token: Option<&str>,
    ) -> Answer {
        let mut r = self.s.http.request(method, self.s.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = r.text().await.unwrap();
        assert!(status.as_u16() < 500, "{path}: {status} {text}");
        Answer {
            status,
            content_type,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let b = body.map(|b| b.to_string());
        self.raw(method, path, b.as_deref(), Some(&self.token))
            .await
    }
    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, None).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_crud_validation_and_audit() {
    let s = TestServer::start().await;
    let api = Api::new(&s).await;

    // Authentication.
    let a = api.raw(Method::GET, "/api/v1/users", None, None).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.content_type, "application/problem+json");
    let a = api
        .raw(Method::GET, "/api/v1/users", None, Some("idg_admin_nope"))
        .await;
    assert_eq!(a.status, 401);

    // Create: a national number is normalised with the default region (US in tests).
    let a = api
        .post(
            "/api/v1/users",
            json!({"username": "Alice", "password": "correct horse battery", "mobile": "(415) 555-0100", "display_name": "Alice A"}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let alice = a.body.clone();
    assert_eq!(alice["mobile"], "+14155550100");
    assert_eq!(alice["mobile_verified"], false);
    assert_eq!(alice["has_password"], true);
    assert!(alice.get("password").is_none() && alice.get("password_hash").is_none());
    assert!(!a.text.contains("argon2"), "no hash in answers");
    let id = alice["id"].as_str().unwrap().to_string();

    // Bad input: every answer names the field.
    api.post("/api/v1/users", json!({"username": "alice"}))
        .await
        .problem(409, "username");
    api.post("/api/v1/users", json!({"username": "bad name"}))
        .await
        .problem(422, "username");
    api.post("/api/v1/users", json!({"username": 5}))
        .await
        .problem(422, "username");
    api.post("/api/v1/users", json!({"username": "bob", "mobile": "12"}))
        .await
        .problem(422, "mobile");
    api.post(
        "/api/v1/users",
        json!({"username": "bob", "mobile": "+1900555"}),
    )
    .await
    .problem(422, "mobile");
    api.post(
        "/api/v1/users",
        json!({"username": "bob", "password": "short"}),
    )
    .await
    .problem(422, "password");
    api.post(
        "/api/v1/users",
        json!({"username": "bob", "mobile_verified": true}),
    )
    .await
    .problem(422, "mobile_verified");
    api.post(
        "/api/v1/users",
        json!({"username": "bob", "is_admin": "yes"}),
    )
    .await
    .problem(422, "is_admin");
    api.post("/api/v1/users", json!({"username": "bob", "bogus": 1}))
        .await
        .problem(422, "bogus");
    api.post("/api/v1/users", json!({}))
        .await
        .problem(422, "username");
    api.post(
        "/api/v1/users",
        json!({"username": "bob", "locale": "en US"}),
    )
    .await
    .problem(422, "locale");
    let a = api
        .raw(
            Method::POST,
            "/api/v1/users",
            Some("{not json"),
            Some(&api.token),
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(a.content_type, "application/problem+json");
    let a = s
        .http
        .post(s.url("/api/v1/users"))
        .bearer_auth(&api.token)
        .body("username=bob")
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), 415);

    // Search and pagination.
    for name in ["bob", "carol", "dave"] {
        let a = api.post("/api/v1/users", json!({"username": name})).await;
        assert_eq!(a.status, 201, "{}", a.text);
        assert_eq!(a.body["has_password"], false);
    }
    let a = api.get("/api/v1/users?q=ALI").await;
    assert_eq!(a.status, 200);
    let names: Vec<&str> = a.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Alice"]);
    let a = api.get("/api/v1/users?q=5550100").await;
    assert_eq!(a.body["users"][0]["username"], "Alice", "search by number");
    let a = api.get("/api/v1/users?q=%25").await;
    assert_eq!(a.body["users"].as_array().unwrap().len(), 0, "% is literal");
    let p1 = api.get("/api/v1/users?limit=2").await;
    assert_eq!(p1.body["users"].as_array().unwrap().len(), 2);
    let cursor = p1.body["next_cursor"].as_str().unwrap().to_string();
    let p2 = api
        .get(&format!("/api/v1/users?limit=2&cursor={cursor}"))
        .await;
    let p2names: Vec<&str> = p2.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(p2names, ["carol", "dave"]);
    api.get("/api/v1/users?limit=0").await.problem(422, "limit");
    api.get("/api/v1/users?limit=abc")
        .await
        .problem(422, "limit");
    api.get("/api/v1/users?limit=501")
        .await
        .problem(422, "limit");
    api.get("/api/v1/users?color=red")
        .await
        .problem(422, "color");

    // Read by id and by username.
    assert_eq!(
        api.get(&format!("/api/v1/users/{id}")).await.body["username"],
        "Alice"
    );
    assert_eq!(api.get("/api/v1/users/alice").await.body["id"], json!(id));
    let a = api.get("/api/v1/users/nobody").await;
    assert_eq!(a.status, 404);
    assert_eq!(a.content_type, "application/problem+json");

    // Update.
    let a = api
        .patch(
            &format!("/api/v1/users/{id}"),
            json!({"display_name": "Alice B", "locale": "si", "is_admin": true}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["display_name"], "Alice B");
    assert_eq!(a.body["locale"], "si");
    assert_eq!(a.body["is_admin"], true);
    let a = api
        .patch(
            &format!("/api/v1/users/{id}"),
            json!({"display_name": null}),
        )
        .await;
    assert!(a.body["display_name"].is_null());
    api.patch(
        &format!("/api/v1/users/{id}"),
        json!({"mobile_verified": "yes"}),
    )
    .await
    .problem(422, "mobile_verified");
    api.patch(
        &format!("/api/v1/users/{id}"),
        json!({"mobile": "not a number"}),
    )
    .await
    .problem(422, "mobile");
    api.patch(&format!("/api/v1/users/{id}"), json!({"username": "x"}))
        .await
        .problem(422, "username");

    // Mobile: set verified, clear, verify.
    let a = api
        .put(
            &format!("/api/v1/users/{id}/mobile"),
            json!({"mobile": "+94 77 123 4553", "verified": true}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["mobile"], "+94771234553");
    assert_eq!(a.body["mobile_verified"], true);
    let a = api
        .patch(
            &format!("/api/v1/users/{id}"),
            json!({"mobile": "+14155550111"}),
        )
        .await;
    assert_eq!(
        a.body["mobile_verified"], false,
        "a new number starts unverified"
    );
    let a = api
        .post(&format!("/api/v1/users/{id}/mobile/verify"), json!({}))
        .await;
    assert_eq!(a.body["mobile_verified"], true);
    api.put(
        &format!("/api/v1/users/{id}/mobile"),
        json!({"mobile": "0"}),
    )
    .await
    .problem(422, "mobile");
    api.put(
        &format!("/api/v1/users/{id}/mobile"),
        json!({"number": "+14155550111"}),
    )
    .await
    .problem(422, "number");
    let a = api.delete(&format!("/api/v1/users/{id}/mobile")).await;
    assert!(a.body["mobile"].is_null());
    let a = api
        .post(&format!("/api/v1/users/{id}/mobile/verify"), json!({}))
        .await;
    assert_eq!(a.status, 409);

    // Password reset (write-only).
    let a = api
        .put(
            &format!("/api/v1/users/{id}/password"),
            json!({"password": "another long password"}),
        )
        .await;
    assert_eq!(a.status, 204, "{}", a.text);
    api.put(
        &format!("/api/v1/users/{id}/password"),
        json!({"password": "short"}),
    )
    .await
    .problem(422, "password");
    api.put(
        &format!("/api/v1/users/{id}/password"),
        json!({"password": 12345678}),
    )
    .await
    .problem(422, "password");

    // Lock / unlock.
    api.post(&format!("/api/v1/users/{id}/lock"), json!({"minutes": 0}))
        .await
        .problem(422, "minutes");
    api.post(&format!("/api/v1/users/{id}/lock"), json!({"minutes": -5}))
        .await
        .problem(422, "minutes");
    let a = api
        .raw(
            Method::POST,
            &format!("/api/v1/users/{id}/lock"),
            None,
            Some(&api.token),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["locked"], true);
    assert!(a.body["locked_until"].is_null());
    let a = api
        .post(&format!("/api/v1/users/{id}/unlock"), json!({}))
        .await;
    assert_eq!(a.body["locked"], false);
    let a = api
        .post(&format!("/api/v1/users/{id}/lock"), json!({"minutes": 10}))
        .await;
    assert_eq!(a.body["locked"], true);
    assert!(a.body["locked_until"].is_string());

    // Sessions.
    let a = api.get(&format!("/api/v1/users/{id}/sessions")).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["sessions"], json!([]));
    let a = api.delete(&format!("/api/v1/users/{id}/sessions")).await;
    assert_eq!(a.body["revoked"], 0);

    // The audit log: actor, before/after, no secret, no full number.
    let a = api.get(&format!("/api/v1/audit-events?target={id}")).await;
    assert_eq!(a.status, 200);
    let events = a.body["events"].as_array().unwrap();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for want in [
        "user.created",
        "user.updated",
        "user.mobile_set",
        "user.password_reset",
        "user.locked",
        "user.unlocked",
        "user.sessions_revoked",
    ] {
        assert!(actions.contains(&want), "{want} in {actions:?}");
    }
    assert!(
        events
            .iter()
            .all(|e| e["actor"].as_str().unwrap().starts_with("admin-token:"))
    );
    assert!(
        !a.text.contains("4155550100") && !a.text.contains("771234553"),
        "numbers are masked: {}",
        a.text
    );
    assert!(!a.text.contains("another long password") && !a.text.contains("argon2"));
    let created = events
        .iter()
        .find(|e| e["action"] == "user.created")
        .unwrap();
    assert!(created["details"]["before"].is_null());
    assert_eq!(created["details"]["after"]["username"], "Alice");

    // Delete.
    assert_eq!(api.delete(&format!("/api/v1/users/{id}")).await.status, 204);
    assert_eq!(api.get(&format!("/api/v1/users/{id}")).await.status, 404);
    assert_eq!(api.delete(&format!("/api/v1/users/{id}")).await.status, 404);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_crud_secret_and_validation() {
    let s = TestServer::start().await;
    let api = Api::new(&s).await;

    let a = api
        .post(
            "/api/v1/applications",
            json!({"name": "Shop", "redirect_uris": ["https://shop.example.com/cb"], "signing_alg": "RS256",
                   "login_flow": {"first": "password", "second": ["sms-otp", "whatsapp-otp"]}}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let client_id = a.body["client_id"].as_str().unwrap().to_string();
    let secret = a.body["client_secret"].as_str().unwrap().to_string();
    assert!(secret.len() >= 40);
    assert_eq!(a.body["client_type"], "confidential");
    assert_eq!(a.body["signing_alg"], "RS256");
    assert_eq!(
        a.body["discovery_url"],
        json!(format!(
            "{}/.well-known/openid-configuration",
            s.state().settings.issuer
        ))
    );
    let stored = s
        .state()
        .store
        .get_application(&client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.client_secret_hash,
        Some(s.state().keys.token_hash(&secret))
    );

    let a = api.get(&format!("/api/v1/applications/{client_id}")).await;
    assert!(
        a.body.get("client_secret").is_none(),
        "the secret is shown once"
    );
    assert!(!a.text.contains(&secret));
    assert_eq!(
        a.body["login_flow"]["second"],
        json!(["sms-otp", "whatsapp-otp"])
    );

    // Bad input.
    let base = json!({"name": "X", "redirect_uris": ["https://x.example.com/cb"]});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    api.post(
        "/api/v1/applications",
        with("redirect_uris", json!(["http://evil.example.com/cb"])),
    )
    .await
    .problem(422, "redirect_uris[0]");
    api.post("/api/v1/applications", with("redirect_uris", json!([])))
        .await
        .problem(422, "redirect_uris");
    api.post(
        "/api/v1/applications",
        with("redirect_uris", json!("https://x.example.com/cb")),
    )
    .await
    .problem(422, "redirect_uris");
    api.post("/api/v1/applications", with("name", json!("")))
        .await
        .problem(422, "name");
    api.post("/api/v1/applications", with("name", json!(7)))
        .await
        .problem(422, "name");
    api.post(
        "/api/v1/applications",
        with("otp_policy", json!({"length": 3})),
    )
    .await
    .problem(422, "otp_policy.length");
    api.post(
        "/api/v1/applications",
        with("otp_policy", json!({"expiry": 10})),
    )
    .await
    .problem(422, "otp_policy.expiry");
    api.post(
        "/api/v1/applications",
        with("otp_policy", json!({"lenght": 6})),
    )
    .await
    .problem(422, "otp_policy.lenght");
    api.post(
        "/api/v1/applications",
        with("login_flow", json!({"first": "fingerprint"})),
    )
    .await
    .problem(422, "login_flow.first");
    api.post(
        "/api/v1/applications",
        with(
            "login_flow",
            json!({"first": "sms-otp", "second": ["sms-otp"]}),
        ),
    )
    .await
    .problem(422, "login_flow.second");
    api.post("/api/v1/applications", with("signing_alg", json!("HS256")))
        .await
        .problem(422, "signing_alg");
    api.post("/api/v1/applications", with("client_secret", json!("mine")))
        .await
        .problem(422, "client_secret");

    // Update: policy override, flow, alg, URIs.
    let a = api
        .patch(&format!("/api/v1/applications/{client_id}"), json!({"otp_policy": {"length": 8, "alphanumeric": true}, "signing_alg": null, "redirect_uris": ["https://shop.example.com/cb2", "com.example.app://cb"]}))
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["otp_policy"]["length"], 8);
    assert!(a.body["signing_alg"].is_null());
    assert_eq!(a.body["redirect_uris"][1], "com.example.app://cb");
    let a = api
        .patch(
            &format!("/api/v1/applications/{client_id}"),
            json!({"otp_policy": null}),
        )
        .await;
    assert!(a.body["otp_policy"].is_null());
    api.patch(
        &format!("/api/v1/applications/{client_id}"),
        json!({"otp_policy": {"max_attempts": 100}}),
    )
    .await
    .problem(422, "otp_policy.max_attempts");
    api.patch(
        &format!("/api/v1/applications/{client_id}"),
        json!({"redirect_uris": ["https://ok.example.com/", "javascript://x"]}),
    )
    .await
    .problem(422, "redirect_uris[1]");
    api.patch(
        &format!("/api/v1/applications/{client_id}"),
        json!({"client_id": "mine"}),
    )
    .await
    .problem(422, "client_id");
    assert_eq!(
        api.patch("/api/v1/applications/nope", json!({}))
            .await
            .status,
        404
    );

    // Regenerate the secret: shown once, the old one stops matching.
    let a = api
        .post(
            &format!("/api/v1/applications/{client_id}/secret"),
            json!({}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let new_secret = a.body["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    let stored = s
        .state()
        .store
        .get_application(&client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.client_secret_hash,
        Some(s.state().keys.token_hash(new_secret))
    );

    // A public client has no secret to regenerate.
    let a = api
        .post(
            "/api/v1/applications",
            json!({"name": "SPA", "redirect_uris": ["http://localhost:3000/cb"], "public": true}),
        )
        .await;
    assert_eq!(a.status, 201);
    assert!(a.body.get("client_secret").is_none());
    assert_eq!(a.body["client_type"], "public");
    let spa = a.body["client_id"].as_str().unwrap().to_string();
    assert_eq!(
        api.post(&format!("/api/v1/applications/{spa}/secret"), json!({}))
            .await
            .status,
        409
    );

    // List with pagination (the built-in console app is there too).
    let all = api.get("/api/v1/applications").await;
    let ids: Vec<&str> = all.body["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["client_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"console")
            && ids.contains(&client_id.as_str())
            && ids.contains(&spa.as_str())
    );
    assert!(!all.text.contains(new_secret));
    let p1 = api.get("/api/v1/applications?limit=1").await;
    assert_eq!(p1.body["applications"].as_array().unwrap().len(), 1);
    assert!(p1.body["next_cursor"].is_string());
    api.get("/api/v1/applications?limit=-1")
        .await
        .problem(422, "limit");

    // Audit: secrets only as "set".
    let a = api
        .get(&format!(
            "/api/v1/audit-events?action=application.&target={client_id}"
        ))
        .await;
    let actions: Vec<&str> = a.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"application.created")
            && actions.contains(&"application.updated")
            && actions.contains(&"application.secret_regenerated"),
        "{actions:?}"
    );
    assert!(!a.text.contains(&secret) && !a.text.contains(new_secret));

    // Delete; the console app is built in.
    assert_eq!(
        api.delete(&format!("/api/v1/applications/{client_id}"))
            .await
            .status,
        204
    );
    assert_eq!(
        api.get(&format!("/api/v1/applications/{client_id}"))
            .await
            .status,
        404
    );
    assert_eq!(api.delete("/api/v1/applications/console").await.status, 409);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_tokens_and_audit_paging() {
    let s = TestServer::start().await;
    let api = Api::new(&s).await;

    let a = api
        .post(
            "/api/v1/admin-tokens",
            json!({"name": "ci", "expires_in_days": 30}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let token = a.body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("idg_admin_"));
    let tid = a.body["id"].as_str().unwrap().to_string();
    assert_eq!(a.body["state"], "active");
    assert!(a.body["expires_at"].is_string());

    // The new token works; listing never shows a value.
    let other = Api {
        s: &s,
        token: token.clone(),
    };
    let a = other.get("/api/v1/admin-tokens").await;
    assert_eq!(a.status, 200);
    assert!(!a.text.contains(&token) && !a.text.contains("token_hash"));
    assert!(
        a.body["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "ci")
    );

    api.post("/api/v1/admin-tokens", json!({"name": ""}))
        .await
        .problem(422, "name");
    api.post(
        "/api/v1/admin-tokens",
        json!({"name": "x", "expires_in_days": 0}),
    )
    .await
    .problem(422, "expires_in_days");
    api.post(
        "/api/v1/admin-tokens",
        json!({"name": "x", "expires_in_days": "soon"}),
    )
    .await
    .problem(422, "expires_in_days");
    api.post("/api/v1/admin-tokens", json!({"name": "x", "scope": "all"}))
        .await
        .problem(422, "scope");

    // Revoke: the token stops working at once.
    assert_eq!(
        api.delete(&format!("/api/v1/admin-tokens/{tid}"))
            .await
            .status,
        204
    );
    assert_eq!(other.get("/api/v1/admin-tokens").await.status, 401);
    assert_eq!(
        api.delete(&format!("/api/v1/admin-tokens/{tid}"))
            .await
            .status,
        404
    );

    // Audit paging and filters.
    for i in 0..5 {
        let a = api
            .post("/api/v1/admin-tokens", json!({"name": format!("t{i}")}))
            .await;
        assert_eq!(a.status, 201);
    }
    let p1 = api
        .get("/api/v1/audit-events?action=admin_token.created&limit=3")
        .await;
    assert_eq!(p1.status, 200);
    let e1 = p1.body["events"].as_array().unwrap();
    assert_eq!(e1.len(), 3);
    let cursor = p1.body["next_cursor"].as_str().unwrap();
    let p2 = api
        .get(&format!(
            "/api/v1/audit-events?action=admin_token.created&limit=3&cursor={cursor}"
        ))
        .await;
    let e2 = p2.body["events"].as_array().unwrap();
    assert_eq!(e2.len(), 3, "6 created in all");
    assert!(
        e2.iter().all(|e| !e1.iter().any(|x| x["id"] == e["id"])),
        "pages do not overlap"
    );
    assert!(
        p2.body["next_cursor"].is_null()
            || api
                .get(&format!(
                    "/api/v1/audit-events?action=admin_token.created&limit=3&cursor={}",
                    p2.body["next_cursor"].as_str().unwrap()
                ))
                .await
                .body["events"]
                .as_array()
                .unwrap()
                .is_empty()
    );
    let actor = format!(
        "admin-token:{}",
        e1[0]["actor"]
            .as_str()
            .unwrap()
            .trim_start_matches("admin-token:")
    );
    let a = api
        .get(&format!(
            "/api/v1/audit-events?actor={actor}&action=admin_token.revoked"
        ))
        .await;
    assert_eq!(a.body["events"].as_array().unwrap().len(), 1);
    api.get("/api/v1/audit-events?since=yesterday")
        .await
        .problem(422, "since");
    api.get("/api/v1/audit-events?limit=9999")
        .await
        .problem(422, "limit");
    let a = api
        .get("/api/v1/audit-events?since=2000-01-01T00:00:00Z")
        .await;
    assert_eq!(a.status, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otp_settings_templates_and_providers_refuse_bad_input() {
    let s = TestServer::start().await;
    let api = Api::new(&s).await;
    api.put("/api/v1/otp-policy", json!({"length": 11}))
        .await
        .problem(422, "length");
    api.put("/api/v1/otp-policy", json!({"expiry": 59}))
        .await
        .problem(422, "expiry");
    api.put("/api/v1/otp-policy", json!({"resend_cooldown": 3601}))
        .await
        .problem(422, "resend_cooldown");
    api.put("/api/v1/otp-policy", json!({"length": "six"}))
        .await
        .problem(422, "length");
    api.put("/api/v1/otp-policy", json!({"alphanumerik": true}))
        .await
        .problem(422, "alphanumerik");
    let a = api
        .put("/api/v1/otp-policy", json!({"length": 8, "expiry": 600}))
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    api.put(
        "/api/v1/channels/sms/template",
        json!({"text": "Code {{nope}}"}),
    )
    .await
    .problem(422, "text");
    api.put("/api/v1/channels/sms/template", json!({"text": 5}))
        .await
        .problem(422, "text");
    api.put("/api/v1/channels/fax/template", json!({"text": "x"}))
        .await
        .problem(422, "channel");
    // A Custom provider whose payload template is not JSON: refused with the position.
    let a = api
        .post(
            "/api/v1/channels/sms/providers",
            json!({"name": "broken", "kind": "custom", "settings": {"url": "https://gw.example.com/send", "payload_template": "{\"to\": {{mobile}}, \"text\": {{body}"}}),
        )
        .await;
    assert_eq!(a.status, 422, "{}", a.text);
    assert!(
        a.body["field"]
            .as_str()
            .unwrap()
            .contains("payload_template"),
        "{}",
        a.text
    );
    assert!(
        a.text.contains("line") || a.text.contains("placeholder"),
        "{}",
        a.text
    );
    api.post("/api/v1/channels/sms/test", json!({"to": "12"}))
        .await
        .problem(422, "to");
    api.post("/api/v1/channels/sms/test", json!({"to": 14155550100u64}))
        .await
        .problem(422, "to");
    s.stop().await;
}

/// Per-application token lifetimes: validated field by field (problem+json naming
/// `token_lifetimes.<field>`), read back, changed and cleared with PATCH, and used by the
/// token endpoint: access and ID tokens carry the overridden `exp`, codes and refresh
/// tokens die on the overridden schedule, and an application without overrides keeps the
/// server's lifetimes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_token_lifetimes_are_validated_stored_and_used() {
    use crate::oidc::{Browser, REDIRECT, authorize_url, query_param, server, user};
    use crate::oidc_flows::{PASSWORD, code_for, exchange, jwt_claims, token};

    let s = server().await;
    let api = Api::new(&s).await;
    let base = |lifetimes: Value| json!({"name": "Short", "redirect_uris": [REDIRECT], "token_lifetimes": lifetimes});

    // Bad input: each answer names the field; nothing is created.
    for (lifetimes, field) in [
        (json!({"access_token": 59}), "token_lifetimes.access_token"),
        (
            json!({"access_token": 86_401}),
            "token_lifetimes.access_token",
        ),
        (json!({"id_token": 0}), "token_lifetimes.id_token"),
        (json!({"id_token": "1h"}), "token_lifetimes.id_token"),
        (json!({"id_token": 1.5}), "token_lifetimes.id_token"),
        (
            json!({"refresh_token": 299}),
            "token_lifetimes.refresh_token",
        ),
        (
            json!({"refresh_token": 400_000_000u64}),
            "token_lifetimes.refresh_token",
        ),
        (
            json!({"authorization_code": 601}),
            "token_lifetimes.authorization_code",
        ),
        (
            json!({"authorization_code": -5}),
            "token_lifetimes.authorization_code",
        ),
        (
            json!({"access_tokens": 60}),
            "token_lifetimes.access_tokens",
        ),
        (json!(600), "token_lifetimes"),
        // A sign-in cannot end before its access tokens do.
        (
            json!({"access_token": 3600, "refresh_token": 1800}),
            "token_lifetimes.refresh_token",
        ),
    ] {
        let a = api.post("/api/v1/applications", base(lifetimes)).await;
        a.problem(422, field);
        assert!(
            a.body["detail"].as_str().unwrap().contains(
                field
                    .trim_start_matches("token_lifetimes.")
                    .trim_end_matches('s')
            ),
            "{}",
            a.text
        );
    }
    let a = api
        .post("/api/v1/applications", base(json!({"access_token": 59})))
        .await;
    assert!(
        a.body["detail"]
            .as_str()
            .unwrap()
            .contains("between 60 and 86400"),
        "{}",
        a.text
    );
    let listed = api.get("/api/v1/applications").await;
    assert!(
        !listed.text.contains("\"Short\""),
        "nothing was created: {}",
        listed.text
    );

    // Created with overrides; the answer shows them and what applies.
    let a = api
        .post(
            "/api/v1/applications",
            base(json!({"access_token": 120, "id_token": 300, "refresh_token": 3600, "authorization_code": 30})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(
        a.body["token_lifetimes"],
        json!({"access_token": 120, "id_token": 300, "refresh_token": 3600, "authorization_code": 30})
    );
    assert_eq!(
        a.body["effective_token_lifetimes"],
        json!({"access_token": 120, "id_token": 300, "refresh_token": 3600, "authorization_code": 30})
    );
    let client = (
        a.body["client_id"].as_str().unwrap().to_string(),
        Some(a.body["client_secret"].as_str().unwrap().to_string()),
    );
    let path = format!("/api/v1/applications/{}", client.0);
    assert_eq!(
        api.get(&path).await.body["token_lifetimes"]["id_token"],
        300
    );

    // An application without overrides gets the server's lifetimes.
    let a = api
        .post(
            "/api/v1/applications",
            json!({"name": "Plain", "redirect_uris": [REDIRECT]}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(
        a.body["token_lifetimes"],
        json!({"access_token": null, "id_token": null, "refresh_token": null, "authorization_code": null})
    );
    assert_eq!(
        a.body["effective_token_lifetimes"],
        json!({"access_token": 600, "id_token": 3600, "refresh_token": 2_592_000, "authorization_code": 60})
    );
    let plain = (
        a.body["client_id"].as_str().unwrap().to_string(),
        Some(a.body["client_secret"].as_str().unwrap().to_string()),
    );

    // The token endpoint uses the overrides.
    let mobile = "+14155550177";
    user(&s, "lena", PASSWORD, Some(mobile)).await;
    let mut b = Browser::new();
    let code = code_for(&s, &mut b, &client.0, &[], "lena", mobile).await;
    let t = exchange(&s, &client, &code).await;
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.body["expires_in"], 120);
    let at = jwt_claims(t.body["access_token"].as_str().unwrap());
    let id = jwt_claims(t.body["id_token"].as_str().unwrap());
    let now = s.state().now();
    assert_eq!(
        at["exp"].as_i64().unwrap() - at["iat"].as_i64().unwrap(),
        120
    );
    assert_eq!(at["exp"].as_i64().unwrap(), now + 120);
    assert_eq!(
        id["exp"].as_i64().unwrap() - id["iat"].as_i64().unwrap(),
        300
    );
    let refresh = t.body["refresh_token"].as_str().unwrap().to_string();
    // A refresh issues tokens with the same lifetimes.
    let r = token(
        &s,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &client.0),
            ("client_secret", client.1.as_deref().unwrap()),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["expires_in"], 120);
    let id = jwt_claims(r.body["id_token"].as_str().unwrap());
    assert_eq!(
        id["exp"].as_i64().unwrap() - id["iat"].as_i64().unwrap(),
        300
    );
    let refresh = r.body["refresh_token"].as_str().unwrap().to_string();
    // client_credentials too.
    let cc = token(
        &s,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client.0),
            ("client_secret", client.1.as_deref().unwrap()),
        ],
    )
    .await;
    assert_eq!(cc.status, 200, "{}", cc.body);
    assert_eq!(cc.body["expires_in"], 120);
    let cc = jwt_claims(cc.body["access_token"].as_str().unwrap());
    assert_eq!(
        cc["exp"].as_i64().unwrap() - cc["iat"].as_i64().unwrap(),
        120
    );

    // The code lives 30 s here (the server's 60 s would still accept it after 31 s).
    let p = b.get(&authorize_url(&s, &client.0, &[])).await;
    let code = query_param(&p.location.unwrap(), "code").expect("SSO answers at once");
    s.clock.advance(31);
    let t = exchange(&s, &client, &code).await;
    assert_eq!(t.status, 400, "{}", t.body);
    assert_eq!(t.body["error"], "invalid_grant");

    // The server's lifetimes for the application without overrides, on the same session.
    let p = b.get(&authorize_url(&s, &plain.0, &[])).await;
    let code = query_param(&p.location.unwrap(), "code").expect("SSO answers at once");
    s.clock.advance(31);
    let t = exchange(&s, &plain, &code).await;
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.body["expires_in"], 600);
    let id = jwt_claims(t.body["id_token"].as_str().unwrap());
    assert_eq!(
        id["exp"].as_i64().unwrap() - id["iat"].as_i64().unwrap(),
        3600
    );
    let plain_refresh = t.body["refresh_token"].as_str().unwrap().to_string();

    // The sign-in's refresh tokens die an hour after it (the server's would last 30 days).
    s.clock.advance(3600);
    let r = token(
        &s,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &client.0),
            ("client_secret", client.1.as_deref().unwrap()),
        ],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["error"], "invalid_grant");
    let r = token(
        &s,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &plain_refresh),
            ("client_id", &plain.0),
            ("client_secret", plain.1.as_deref().unwrap()),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "the server's 30 days still run: {}", r.body);

    // PATCH: a field left out is kept, null returns one lifetime to the server's, a null
    // object returns them all; bad values are refused and change nothing.
    api.patch(&path, json!({"token_lifetimes": {"id_token": 86_401}}))
        .await
        .problem(422, "token_lifetimes.id_token");
    api.patch(&path, json!({"token_lifetimes": {"access_token": 7200}}))
        .await
        .problem(422, "token_lifetimes.refresh_token");
    let a = api
        .patch(
            &path,
            json!({"token_lifetimes": {"access_token": null, "id_token": 900}}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        a.body["token_lifetimes"],
        json!({"access_token": null, "id_token": 900, "refresh_token": 3600, "authorization_code": 30})
    );
    assert_eq!(a.body["effective_token_lifetimes"]["access_token"], 600);
    let a = api.patch(&path, json!({"name": "Short 2"})).await;
    assert_eq!(a.body["token_lifetimes"]["id_token"], 900, "kept");
    let a = api.patch(&path, json!({"token_lifetimes": null})).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        a.body["effective_token_lifetimes"],
        json!({"access_token": 600, "id_token": 3600, "refresh_token": 2_592_000, "authorization_code": 60})
    );
    // Every change is audited with before and after.
    let ev = api
        .get(&format!(
            "/api/v1/audit-events?action=application.updated&target={}",
            client.0
        ))
        .await;
    let last = &ev.body["events"][0]["details"];
    assert_eq!(
        last["before"]["token_lifetimes"]["id_token"], 900,
        "{}",
        ev.text
    );
    assert_eq!(last["after"]["token_lifetimes"]["id_token"], Value::Null);
    s.stop().await;
}

/// Message templates per locale over the API: locales are normalised (`si_lk` →
/// `si-LK`), listed, read, removed; sending to a user of that locale uses its text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_per_locale_are_listed_used_and_removed() {
    let s = TestServer::start().await;
    let api = Api::new(&s).await;
    let a = api
        .put(
            "/api/v1/channels/sms/template",
            json!({"text": "Koodi {{confirmation-code}} ({{application-name}})", "locale": "si_lk"}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["locale"], "si-LK");
    let a = api
        .put(
            "/api/v1/channels/sms/template",
            json!({"text": "Your code: {{confirmation-code}}"}),
        )
        .await;
    assert_eq!(a.body["locale"], "en");
    api.put(
        "/api/v1/channels/sms/template",
        json!({"text": "x {{confirmation-code}}", "locale": "not a locale"}),
    )
    .await
    .problem(422, "locale");
    api.get("/api/v1/channels/sms/template?locale=x")
        .await
        .problem(422, "locale");
    api.get("/api/v1/channels/sms/template?lang=si")
        .await
        .problem(422, "lang");
    api.get("/api/v1/channels/fax/templates")
        .await
        .problem(422, "channel");

    let list = api.get("/api/v1/channels/sms/templates").await;
    assert_eq!(list.status, 200, "{}", list.text);
    let locales: Vec<&str> = list.body["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["locale"].as_str().unwrap())
        .collect();
    assert_eq!(locales, ["en", "si-LK"]);
    assert_eq!(list.body["templates"][1]["segments"]["segments"], 1);
    let wa = api.get("/api/v1/channels/whatsapp/templates").await;
    assert_eq!(wa.body["templates"], json!([]));
    let a = api.get("/api/v1/channels/sms/template?locale=si-lk").await;
    assert_eq!(a.body["is_default"], false);
    assert!(a.body["text"].as_str().unwrap().starts_with("Koodi"));

    // A user whose locale is si_LK (any casing or separator) gets the si-LK text.
    let (cid, secret) = s.app("Shop").await;
    let send = |to: &'static str, locale: &'static str| {
        let s = &s;
        let (cid, secret) = (cid.clone(), secret.clone());
        async move {
            let r = s
                .http
                .post(s.url("/api/v1/verifications"))
                .basic_auth(cid, Some(secret))
                .json(&json!({"to": to, "channel": "sms", "locale": locale}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
            s.last_text_to(to).await.unwrap()
        }
    };
    assert!(send("+14155550181", "si_LK").await.starts_with("Koodi "));
    assert!(send("+14155550182", "si-LK").await.starts_with("Koodi "));
    assert!(send("+14155550183", "ta").await.starts_with("Your code: "));

    // Removed: that locale falls back to en.
    let a = api
        .call(
            Method::DELETE,
            "/api/v1/channels/sms/template?locale=si-LK",
            None,
        )
        .await;
    assert_eq!(a.status, 204, "{}", a.text);
    let a = api
        .call(
            Method::DELETE,
            "/api/v1/channels/sms/template?locale=si-LK",
            None,
        )
        .await;
    assert_eq!(a.status, 404, "{}", a.text);
    assert_eq!(a.content_type, "application/problem+json");
    assert!(
        send("+14155550184", "si-LK")
            .await
            .starts_with("Your code: ")
    );
    let ev = api
        .get("/api/v1/audit-events?action=template.deleted")
        .await;
    assert_eq!(ev.body["events"][0]["target"], "template.sms.si-LK");
    s.stop().await;
}
