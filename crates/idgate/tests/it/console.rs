//! The console end to end with a real browser's cookie handling (a small jar kept by
//! hand, redirects followed one by one): an admin signs in through idgate's own OIDC
//! flow with password + SMS code from the dev outbox, opens every page, configures a
//! Custom provider with the seed guide's D7 template pointed at the fake D7 gateway,
//! sends a test message, creates an application and a user; a non-admin is refused.

use std::collections::BTreeMap;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

use crate::admin_api::Api;
use crate::fake_d7::{self, FakeGateway};
use crate::harness::{TestServer, code_in};

const SEED_SMS: &str = include_str!("../../../idgate-notify/fixtures/seed-d7-sms.json.tmpl");

pub struct Browser {
    http: reqwest::Client,
    pub jar: BTreeMap<String, String>,
    base: String,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub csp: Option<String>,
    pub body: String,
}

impl Page {
    /// The first CSRF token on the page.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let at = self.body.find(marker).expect("a csrf field") + marker.len();
        self.body[at..].split('"').next().unwrap().to_string()
    }
}

impl Browser {
    pub fn new(s: &TestServer) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: BTreeMap::new(),
            base: s.base.clone(),
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, r: reqwest::Response) -> Page {
        for c in r.headers().get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || c.contains("Max-Age=0") {
                self.jar.remove(k);
            } else {
                self.jar.insert(k.to_string(), v.to_string());
            }
        }
        Page {
            status: r.status().as_u16(),
            location: r
                .headers()
                .get(LOCATION)
                .map(|v| v.to_str().unwrap().to_string()),
            csp: r
                .headers()
                .get("content-security-policy")
                .map(|v| v.to_str().unwrap().to_string()),
            body: r.text().await.unwrap(),
        }
    }

    fn abs(&self, url: &str) -> String {
        if url.starts_with("http") {
            url.to_string()
        } else {
            format!("{}{url}", self.base)
        }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let r = self
            .http
            .get(self.abs(url))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.finish(r).await
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let r = self
            .http
            .post(self.abs(url))
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.finish(r).await
    }

    /// Follows redirects from `page` (GET), returning the first non-redirect page.
    pub async fn follow(&mut self, mut page: Page) -> Page {
        for _ in 0..10 {
            match (page.status, page.location.clone()) {
                (301..=303 | 307 | 308, Some(loc)) => page = self.get(&loc).await,
                _ => return page,
            }
        }
        panic!("too many redirects");
    }
}

/// Signs in at /console with password + the SMS code from the dev outbox; returns the
/// page the callback leads to (the overview for an admin).
pub async fn console_sign_in(
    s: &TestServer,
    b: &mut Browser,
    username: &str,
    password: &str,
    mobile: &str,
) -> Page {
    let p = b.get("/console").await;
    assert_eq!(p.status, 303);
    assert_eq!(p.location.as_deref(), Some("/console/login"));
    let login = b.follow(p).await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert!(
        login.body.contains("idgate console"),
        "the sign-in page names the console app: {}",
        login.body
    );
    let code_page = b
        .post(
            "/login/password",
            &[
                ("csrf", &login.csrf()),
                ("username", username),
                ("password", password),
            ],
        )
        .await;
    assert_eq!(code_page.status, 200, "{}", code_page.body);
    let text = s
        .last_text_to(mobile)
        .await
        .expect("a code was sent to the admin");
    let code = code_in(&text, 6);
    let done = b
        .post(
            "/login/code",
            &[("csrf", &code_page.csrf()), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(
        done.location
            .as_deref()
            .unwrap()
            .contains("/console/callback?"),
        "{:?}",
        done.location
    );
    b.follow(done).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_admin_signs_in_configures_and_creates() {
    let s = crate::oidc::server().await;
    let api = Api::new(&s).await;
    let admin_mobile = "+14155550101";
    let a = api
        .post("/api/v1/users", json!({"username": "root", "password": "correct horse battery", "mobile": admin_mobile, "mobile_verified": true, "is_admin": true}))
        .await;
    assert_eq!(a.status, 201, "{}", a.text);

    let mut b = Browser::new(&s);
    let overview = console_sign_in(&s, &mut b, "root", "correct horse battery", admin_mobile).await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    assert!(overview.body.contains("Overview") && overview.body.contains("Sign-ins (24 h)"));
    assert!(overview.body.contains("Delivery success rate per provider"));
    let csp = overview.csp.clone().expect("a CSP");
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert!(b.jar.contains_key("idgate_console"));
    assert!(
        !b.jar.contains_key("idgate_console_login"),
        "the login cookie is cleared"
    );
    let csrf = overview.csrf();

    // Every page opens, with its key texts, and no inline script.
    for (path, texts) in [
        ("/console", vec!["Overview", "Codes sent (24 h)"]),
        (
            "/console/channels/sms",
            vec![
                "SMS provider",
                "Custom",
                "D7",
                "Twilio",
                "Vonage",
                "Dev outbox",
                "SMS Provider URL",
                "Payload Template",
                "Send test message",
            ],
        ),
        (
            "/console/channels/sms?tab=d7",
            vec!["API token", "Originator"],
        ),
        (
            "/console/channels/sms?tab=twilio",
            vec!["Account SID", "Auth token"],
        ),
        (
            "/console/channels/sms?tab=vonage",
            vec!["API key", "API secret"],
        ),
        ("/console/channels/sms?tab=dev-outbox", vec!["dev-outbox"]),
        (
            "/console/channels/whatsapp",
            vec!["WhatsApp provider", "D7 WhatsApp", "Template id"],
        ),
        (
            "/console/otp",
            vec![
                "OTP expiry time (minutes)",
                "Use alphanumeric characters",
                "OTP length",
                "Allowed resend attempts",
                "Resend cooldown",
                "SMS message template",
                "WhatsApp message template",
                "SMS segment",
            ],
        ),
        (
            "/console/applications",
            vec![
                "Applications",
                "idgate console",
                "Create an application",
                "Step 1",
                "Step 2: SMS OTP",
            ],
        ),
        ("/console/users", vec!["Users", "root", "Create a user"]),
        (
            "/console/messages",
            vec!["Delivery log", "delivered", "whatsapp"],
        ),
        (
            "/console/audit",
            vec!["Who changed what", "console.signed_in"],
        ),
    ] {
        let p = b.get(path).await;
        assert_eq!(p.status, 200, "{path}: {}", p.body);
        for t in texts {
            assert!(p.body.contains(t), "{path} shows {t:?}");
        }
        assert!(!p.body.contains("<script>"), "{path}: no inline script");
        assert!(p.csp.is_some(), "{path}: CSP");
    }
    assert_eq!(b.get("/assets/console.js").await.status, 200);

    // A Custom provider with the seed guide's D7 template, verbatim, pointed at the fake D7.
    let g = FakeGateway::start().await;
    let url = format!("{}/messages/v1/send", g.base);
    let headers = format!("Authorization: Bearer {}", fake_d7::TOKEN);
    // First a broken template: refused next to the field, the input kept.
    let broken = "{\"to\": {{mobile}}, \"text\": {{body}}";
    let p = b
        .post(
            "/console/channels/sms/providers",
            &[
                ("csrf", &csrf),
                ("kind", "custom"),
                ("name", "d7-guide"),
                ("url", &url),
                ("content_type", "json"),
                ("method", "POST"),
                ("headers", &headers),
                ("payload_template", broken),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(
        p.body.contains("line 1"),
        "the error position is shown: {}",
        p.body
    );
    assert!(
        p.body.contains("{&quot;to&quot;: {{mobile}}")
            || p.body.contains("{&#34;to&#34;: {{mobile}}"),
        "the input is kept"
    );
    assert!(
        !p.body.contains(fake_d7::TOKEN),
        "a secret is never echoed back"
    );
    let p = b
        .post(
            "/console/channels/sms/providers",
            &[
                ("csrf", &csrf),
                ("kind", "custom"),
                ("name", "d7-guide"),
                ("url", &url),
                ("content_type", "json"),
                ("method", "POST"),
                ("headers", &headers),
                ("payload_template", SEED_SMS),
                ("enabled", "on"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let p = b.follow(p).await;
    assert!(p.body.contains("Saved.") && p.body.contains("d7-guide"));
    assert!(
        p.body.contains("set — replace?"),
        "the headers secret shows as set"
    );
    assert!(!p.body.contains(fake_d7::TOKEN));
    let providers = s.state().store.list_providers(None).await.unwrap();
    assert_eq!(providers.len(), 1);
    assert_eq!(providers[0].settings["payload_template"], json!(SEED_SMS));

    // Send a test message: the provider's answer is shown.
    let p = b
        .post(
            "/console/channels/sms/test",
            &[("csrf", &csrf), ("to", "+14155550100"), ("provider", "")],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(
        p.body.contains("Test message sent") && p.body.contains("HTTP 200"),
        "{}",
        p.body
    );
    let got = g.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].json()["messages"][0]["recipients"],
        json!(["+14155550100"])
    );
    let p = b
        .post(
            "/console/channels/sms/test",
            &[("csrf", &csrf), ("to", "12"), ("provider", "")],
        )
        .await;
    assert_eq!(p.status, 422);
    assert!(p.body.contains("field-error") && p.body.contains("value=\"12\""));

    // Messages page shows the test message; filters work.
    let p = b.get("/console/messages?status=sent&channel=sms").await;
    assert!(p.body.contains("d7-guide"), "{}", p.body);
    let p = b.get("/console/messages?status=failed").await;
    assert!(!p.body.contains("d7-guide"));

    // OTP settings: out of range is refused next to the field, with the input kept.
    let p = b
        .post(
            "/console/otp/policy",
            &[
                ("csrf", &csrf),
                ("expiry_minutes", "0"),
                ("length", "6"),
                ("max_attempts", "5"),
                ("max_resends", "3"),
                ("resend_cooldown", "30"),
                ("resend_code", "new"),
            ],
        )
        .await;
    assert_eq!(p.status, 422);
    assert!(p.body.contains("between 1 and 1440"), "{}", p.body);
    let p = b
        .post(
            "/console/otp/policy",
            &[
                ("csrf", &csrf),
                ("expiry_minutes", "10"),
                ("alphanumeric", "on"),
                ("length", "12"),
                ("max_attempts", "5"),
                ("max_resends", "3"),
                ("resend_cooldown", "30"),
                ("resend_code", "new"),
            ],
        )
        .await;
    assert_eq!(p.status, 422);
    assert!(p.body.contains("length must be between 4 and 10") && p.body.contains("value=\"12\""));
    let p = b
        .post(
            "/console/otp/policy",
            &[
                ("csrf", &csrf),
                ("expiry_minutes", "10"),
                ("length", "8"),
                ("max_attempts", "5"),
                ("max_resends", "3"),
                ("resend_cooldown", "30"),
                ("resend_code", "new"),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let policy = s.state().otp.global_policy().await.unwrap();
    assert_eq!((policy.expiry, policy.length), (600, 8));
    let p = b
        .post(
            "/console/otp/template/sms",
            &[("csrf", &csrf), ("text", "Code {{nope}}")],
        )
        .await;
    assert_eq!(p.status, 422);
    assert!(p.body.contains("Code {{nope}}"));
    let p = b
        .post(
            "/console/otp/template/sms",
            &[
                ("csrf", &csrf),
                (
                    "text",
                    "{{confirmation-code}} is your {{application-name}} code",
                ),
            ],
        )
        .await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("is your"));

    // Create an application: the secret is shown once, with the integration snippet.
    let p = b
        .post(
            "/console/applications",
            &[
                ("csrf", &csrf),
                ("name", "Shop"),
                ("redirect_uris", "http://shop.example.com/cb"),
                ("first", "password"),
                ("second_sms", "on"),
                ("missing_mobile", "enrol"),
            ],
        )
        .await;
    assert_eq!(p.status, 422);
    assert!(
        p.body.contains("plain http is only allowed")
            && p.body.contains("http://shop.example.com/cb")
    );
    let p = b
        .post(
            "/console/applications",
            &[
                ("csrf", &csrf),
                ("name", "Shop"),
                (
                    "redirect_uris",
                    "https://shop.example.com/cb\nhttp://127.0.0.1:9/cb",
                ),
                ("first", "password"),
                ("second_sms", "on"),
                ("missing_mobile", "enrol"),
            ],
        )
        .await;
    assert_eq!(p.status, 201, "{}", p.body);
    assert!(
        p.body.contains("Client secret (shown only now)")
            && p.body.contains("/.well-known/openid-configuration")
    );
    let apps = api.get("/api/v1/applications").await;
    let shop = apps.body["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Shop")
        .unwrap()
        .clone();
    assert_eq!(shop["login_flow"]["second"], json!(["sms-otp"]));
    assert_eq!(shop["redirect_uris"].as_array().unwrap().len(), 2);
    let cid = shop["client_id"].as_str().unwrap();
    let p = b.get(&format!("/console/applications/{cid}")).await;
    assert!(p.body.contains(cid) && !p.body.contains("shown only now"));

    // Users: create with a national number (E.164 on save), lock and unlock.
    let p = b
        .post(
            "/console/users",
            &[
                ("csrf", &csrf),
                ("username", "carol"),
                ("mobile", "(415) 555-0199"),
            ],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    let p = b.follow(p).await;
    assert!(p.body.contains("+14155550199"), "{}", p.body);
    let carol = api.get("/api/v1/users/carol").await.body;
    let cid = carol["id"].as_str().unwrap();
    let p = b
        .post(
            &format!("/console/users/{cid}/lock"),
            &[("csrf", &csrf), ("minutes", "")],
        )
        .await;
    assert!(p.body.contains("User locked."));
    assert_eq!(api.get("/api/v1/users/carol").await.body["locked"], true);
    let p = b
        .post(&format!("/console/users/{cid}/unlock"), &[("csrf", &csrf)])
        .await;
    assert!(p.body.contains("User unlocked."));
    let p = b
        .post(
            "/console/users",
            &[("csrf", &csrf), ("username", "dan"), ("mobile", "12")],
        )
        .await;
    assert_eq!(p.status, 422);
    assert!(p.body.contains("value=\"dan\""));
    let p = b.get("/console/users?q=car").await;
    assert!(
        p.body.contains(">carol</a>") && !p.body.contains(">root</a>"),
        "{}",
        p.body
    );

    // CSRF: a form without the token is refused.
    let p = b.post("/console/users", &[("username", "eve")]).await;
    assert_eq!(p.status, 403);
    assert!(api.get("/api/v1/users/eve").await.status == 404);

    // The console's scripts may call the API with the cookie and the CSRF header only.
    let r = s
        .http
        .get(s.url("/api/v1/users"))
        .header(COOKIE, b.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = s
        .http
        .get(s.url("/api/v1/users"))
        .header(COOKIE, b.cookie_header())
        .header("x-idgate-csrf", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = s
        .http
        .post(s.url("/console/validate"))
        .header(COOKIE, b.cookie_header())
        .header("x-idgate-csrf", &csrf)
        .form(&[
            ("kind", "payload"),
            ("text", broken),
            ("content_type", "json"),
        ])
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["ok"], false);
    assert!(v["error"].as_str().unwrap().contains("line 1"));

    // Audit: console changes are attributed to the admin user.
    let a = api
        .get("/api/v1/audit-events?actor=user:root&action=provider.created")
        .await;
    assert_eq!(a.body["events"].as_array().unwrap().len(), 1, "{}", a.text);

    // Sign out: the console session ends.
    let p = b.post("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(p.status, 200);
    assert_eq!(b.get("/console").await.status, 303);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_refuses_a_non_admin() {
    let s = crate::oidc::server().await;
    let api = Api::new(&s).await;
    let mobile = "+14155550102";
    let a = api
        .post("/api/v1/users", json!({"username": "bob", "password": "correct horse battery", "mobile": mobile, "mobile_verified": true}))
        .await;
    assert_eq!(a.status, 201);
    let mut b = Browser::new(&s);
    let p = console_sign_in(&s, &mut b, "bob", "correct horse battery", mobile).await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.body.contains("not an administrator"));
    assert!(!b.jar.contains_key("idgate_console"));
    let p = b.get("/console/users").await;
    assert_eq!(p.status, 303);
    // Made admin, then locked: access ends at once.
    let id = a.body["id"].as_str().unwrap();
    api.patch(&format!("/api/v1/users/{id}"), json!({"is_admin": true}))
        .await;
    let p = b.get("/console/login").await;
    let p = b.follow(p).await;
    assert_eq!(
        p.status, 200,
        "single sign-on: straight back to the console: {}",
        p.body
    );
    assert!(p.body.contains("Overview"));
    let a = api
        .post(&format!("/api/v1/users/{id}/lock"), json!({}))
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(b.get("/console").await.status, 303);
    s.stop().await;
}
