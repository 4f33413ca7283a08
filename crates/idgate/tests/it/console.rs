//! The console end to end with a real browser's cookie handling (a small jar kept by
//! hand, redirects followed one by one): an admin signs in through idgate's own OIDC
//! flow with password + SMS code from the dev outbox, opens every page, configures a
//! Custom provider with the seed guide's D7 template pointed at the fake D7 gateway,
//! sends a test message, creates an application and a user; a non-admin is refused.

use std::collections::BTreeMap;

use reqwest::Method;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

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

/// Creates the admin `root` (mobile +14155550101) and signs them in at /console; returns
/// the browser and the page the sign-in leads to.
pub async fn admin_in_console(s: &TestServer, api: &Api<'_>) -> (Browser, Page) {
    let admin_mobile = "+14155550101";
    let a = api
        .post("/api/v1/users", json!({"username": "root", "password": "correct horse battery", "mobile": admin_mobile, "mobile_verified": true, "is_admin": true}))
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let mut b = Browser::new(s);
    let overview = console_sign_in(s, &mut b, "root", "correct horse battery", admin_mobile).await;
    (b, overview)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_admin_signs_in_configures_and_creates() {
    let s = crate::oidc::server().await;
    let api = Api::new(&s).await;
    let (mut b, overview) = admin_in_console(&s, &api).await;
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
    // A new Custom provider: the page shows, once, where its gateway posts delivery reports.
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("Saved.") && p.body.contains("d7-guide"));
    let providers = s.state().store.list_providers(None).await.unwrap();
    let hook = format!("{}/hooks/d7/{}/", s.base, providers[0].id);
    assert!(
        p.body.contains(&hook),
        "the report URL is shown: {}",
        p.body
    );
    let p = b
        .get(&format!(
            "/console/channels/sms?tab=custom&edit={}",
            providers[0].id
        ))
        .await;
    assert!(!p.body.contains(&hook), "the report URL is shown only once");
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
    // A test of one provider comes back to that provider's edit form.
    let p = b
        .post(
            "/console/channels/sms/test",
            &[
                ("csrf", &csrf),
                ("to", "+14155550100"),
                ("provider", &providers[0].id),
            ],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("Test message sent"), "{}", p.body);
    assert!(
        p.body.contains("value=\"d7-guide\""),
        "the tested provider's form is shown: {}",
        p.body
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
                    "{{confirmation-code}} is your\r\n{{application-name}} code",
                ),
            ],
        )
        .await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("is your"));
    // A browser's CRLF line break is stored as the LF a message carries.
    let stored = s
        .state()
        .store
        .get_setting("template.sms.en")
        .await
        .unwrap();
    assert_eq!(
        stored,
        Some(serde_json::json!(
            "{{confirmation-code}} is your\n{{application-name}} code"
        ))
    );

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

/// The admin-token page (list with last use, create shown once, revoke), an application's
/// OTP-policy override, signing algorithm and token lifetimes, and message templates in
/// other languages — every form CSRF-protected, refusing bad input next to the field
/// with the input kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_admin_tokens_application_settings_and_locale_templates() {
    let s = crate::oidc::server().await;
    let api = Api::new(&s).await;
    let admin_mobile = "+14155550103";
    let a = api
        .post("/api/v1/users", json!({"username": "root", "password": "correct horse battery", "mobile": admin_mobile, "mobile_verified": true, "is_admin": true}))
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let mut b = Browser::new(&s);
    let overview = console_sign_in(&s, &mut b, "root", "correct horse battery", admin_mobile).await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    let csrf = overview.csrf();
    assert!(overview.body.contains("href=\"/console/admin-tokens\""));

    // ---- Admin tokens ----
    // The harness's token has been used (the calls above): the page shows when.
    let listed = api.get("/api/v1/admin-tokens").await;
    let used = listed.body["tokens"][0]["last_used_at"]
        .as_str()
        .expect("last use recorded")
        .replace('T', " ")
        .trim_end_matches('Z')
        .to_string();
    let p = b.get("/console/admin-tokens").await;
    assert_eq!(p.status, 200, "{}", p.body);
    for t in [
        "Admin tokens",
        "Last used (UTC)",
        "Create an admin token",
        "Expires after (days)",
        listed.body["tokens"][0]["name"].as_str().unwrap(),
        &used,
    ] {
        assert!(p.body.contains(t), "the token page shows {t:?}: {}", p.body);
    }
    assert!(p.csp.is_some() && !p.body.contains("<script>"));
    // Refused next to the field, the input kept.
    let p = b
        .post(
            "/console/admin-tokens",
            &[("csrf", &csrf), ("name", ""), ("expires_in_days", "30")],
        )
        .await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.body.contains("name must be 1–64 characters") && p.body.contains("value=\"30\""));
    let p = b
        .post(
            "/console/admin-tokens",
            &[("csrf", &csrf), ("name", "ci"), ("expires_in_days", "abc")],
        )
        .await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.body.contains("whole number of days") && p.body.contains("value=\"abc\""));
    assert!(p.body.contains("value=\"ci\""));
    let p = b
        .post(
            "/console/admin-tokens",
            &[("csrf", &csrf), ("name", "ci"), ("expires_in_days", "0")],
        )
        .await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.body.contains("between 1 and 3650"));
    // Without the CSRF token: refused, nothing created.
    let p = b.post("/console/admin-tokens", &[("name", "sneaky")]).await;
    assert_eq!(p.status, 403);
    // Created: the value is shown once and works.
    let p = b
        .post(
            "/console/admin-tokens",
            &[("csrf", &csrf), ("name", "ci"), ("expires_in_days", "30")],
        )
        .await;
    assert_eq!(p.status, 201, "{}", p.body);
    assert!(p.body.contains("Token (shown only now)"));
    let at = p.body.find("idg_admin_").expect("the token is shown");
    let token: String = p.body[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let r = api
        .raw(Method::GET, "/api/v1/users", None, Some(&token))
        .await;
    assert_eq!(r.status, 200, "the new token works: {}", r.text);
    let p = b.get("/console/admin-tokens").await;
    assert!(!p.body.contains(&token), "never shown again");
    assert!(p.body.contains(">ci<") && !p.body.contains("sneaky"));
    let all = api.get("/api/v1/admin-tokens").await;
    let ci = all.body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "ci")
        .unwrap()
        .clone();
    assert!(ci["expires_at"].is_string() && ci["last_used_at"].is_string());
    let id = ci["id"].as_str().unwrap();
    // Revoke: CSRF first, then for real; the token stops working at once.
    let revoke = format!("/console/admin-tokens/{id}/revoke");
    assert_eq!(b.post(&revoke, &[]).await.status, 403);
    let p = b.post(&revoke, &[("csrf", &csrf)]).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("Token revoked") && p.body.contains("revoked"));
    let r = api
        .raw(Method::GET, "/api/v1/users", None, Some(&token))
        .await;
    assert_eq!(r.status, 401);
    let p = b.post(&revoke, &[("csrf", &csrf)]).await;
    assert_eq!(p.status, 404, "already revoked: {}", p.body);
    let ev = api
        .get("/api/v1/audit-events?actor=user:root&action=admin_token.")
        .await;
    assert_eq!(
        ev.body["events"].as_array().unwrap().len(),
        2,
        "{}",
        ev.text
    );

    // ---- An application's OTP policy, signing algorithm and token lifetimes ----
    let a = api
        .post(
            "/api/v1/applications",
            json!({"name": "Shop", "redirect_uris": ["https://shop.example.com/cb"]}),
        )
        .await;
    let cid = a.body["client_id"].as_str().unwrap().to_string();
    let page_path = format!("/console/applications/{cid}");
    let p = b.get(&page_path).await;
    assert_eq!(p.status, 200);
    for t in [
        "OTP policy",
        "Use its own OTP policy",
        "ID token signing algorithm",
        "Server default (ES256)",
        "RS256",
        "Access token lifetime (seconds)",
        "Refresh token lifetime",
        "Authorization code lifetime (seconds)",
        "empty = the server&#39;s (600 = 10 minutes)",
    ] {
        let t2 = t.replace("&#39;", "&#x27;");
        assert!(
            p.body.contains(t) || p.body.contains(&t2) || p.body.contains(&t.replace("&#39;", "'")),
            "the application page shows {t:?}"
        );
    }
    let tokens = format!("/console/applications/{cid}/tokens");
    let form = |alg: &str, at: &str, id: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("signing_alg", alg.to_string()),
            ("access_token_ttl", at.to_string()),
            ("id_token_ttl", id.to_string()),
            ("refresh_token_ttl", String::new()),
            ("auth_code_ttl", String::new()),
        ]
    };
    let p = post_owned(&mut b, &tokens, form("HS256", "120", "300")).await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(
        p.body.contains("is not supported; use one of ES256, RS256"),
        "{}",
        p.body
    );
    assert!(p.body.contains("value=\"120\"") && p.body.contains("value=\"300\""));
    let p = post_owned(&mut b, &tokens, form("RS256", "abc", "300")).await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.body.contains("whole number of seconds") && p.body.contains("value=\"abc\""));
    assert!(
        p.body.contains("value=\"RS256\" selected"),
        "the choice is kept"
    );
    let p = post_owned(&mut b, &tokens, form("RS256", "30", "300")).await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.body.contains("between 60 and 86400") && p.body.contains("value=\"30\""));
    assert_eq!(
        b.post(&tokens, &[("signing_alg", "RS256")]).await.status,
        403
    );
    let unchanged = api.get(&format!("/api/v1/applications/{cid}")).await;
    assert_eq!(unchanged.body["signing_alg"], Value::Null);
    let p = post_owned(&mut b, &tokens, form("RS256", "120", "300")).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("Saved."));
    let app = api.get(&format!("/api/v1/applications/{cid}")).await.body;
    assert_eq!(app["signing_alg"], "RS256");
    assert_eq!(
        app["token_lifetimes"],
        json!({"access_token": 120, "id_token": 300, "refresh_token": null, "authorization_code": null})
    );
    // Emptying a field returns it to the server's.
    let p = post_owned(&mut b, &tokens, form("", "", "300")).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let app = api.get(&format!("/api/v1/applications/{cid}")).await.body;
    assert_eq!(app["signing_alg"], Value::Null);
    assert_eq!(app["token_lifetimes"]["access_token"], Value::Null);
    assert_eq!(app["token_lifetimes"]["id_token"], 300);

    let otp = format!("/console/applications/{cid}/otp-policy");
    let otp_form = |length: &'static str, minutes: &'static str, on: bool| {
        let mut f = vec![
            ("csrf", csrf.clone()),
            ("otp_expiry_minutes", minutes.to_string()),
            ("otp_length", length.to_string()),
            ("otp_max_attempts", "5".to_string()),
            ("otp_max_resends", "3".to_string()),
            ("otp_resend_cooldown", "30".to_string()),
            ("otp_resend_code", "new".to_string()),
            ("otp_alphanumeric", "on".to_string()),
        ];
        if on {
            f.push(("otp_override", "on".to_string()));
        }
        f
    };
    let p = post_owned(&mut b, &otp, otp_form("12", "3", true)).await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.body.contains("length must be between 4 and 10") && p.body.contains("value=\"12\""));
    assert!(p.body.contains("field invalid"), "marked next to the field");
    let p = post_owned(&mut b, &otp, otp_form("8", "0", true)).await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.body.contains("between 1 and 1440 minutes") && p.body.contains("value=\"0\""));
    let p = post_owned(&mut b, &otp, otp_form("eight", "3", true)).await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.body.contains("OTP length must be a whole number"));
    assert_eq!(
        api.get(&format!("/api/v1/applications/{cid}")).await.body["otp_policy"],
        Value::Null
    );
    let p = post_owned(&mut b, &otp, otp_form("8", "3", true)).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let app = api.get(&format!("/api/v1/applications/{cid}")).await.body;
    assert_eq!(app["otp_policy"]["length"], 8);
    assert_eq!(app["otp_policy"]["expiry"], 180);
    assert_eq!(app["otp_policy"]["alphanumeric"], true);
    // The page shows the override switched on, with its values.
    let p = b.get(&page_path).await;
    assert!(
        p.body.contains(
            "name=\"otp_override\" id=\"f-otp-policy-otp_override\" value=\"on\" checked"
        )
    );
    // Switched off: back to the global policy.
    let p = post_owned(&mut b, &otp, otp_form("8", "3", false)).await;
    assert_eq!(p.status, 200, "{}", p.body);
    let app = api.get(&format!("/api/v1/applications/{cid}")).await.body;
    assert_eq!(app["otp_policy"], Value::Null);
    let ev = api
        .get(&format!(
            "/api/v1/audit-events?actor=user:root&action=application.updated&target={cid}"
        ))
        .await;
    assert_eq!(
        ev.body["events"].as_array().unwrap().len(),
        4,
        "{}",
        ev.text
    );

    // ---- Message templates in other languages ----
    let p = b.get("/console/otp").await;
    assert!(
        p.body.contains("Message templates: language") && p.body.contains("Add or open a language")
    );
    let p = b
        .post(
            "/console/otp/locale",
            &[("csrf", &csrf), ("locale", "not a locale")],
        )
        .await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.body.contains("is not a language tag") && p.body.contains("value=\"not a locale\""));
    let p = b.get("/console/otp?locale=x1").await;
    assert_eq!(p.status, 422);
    let p = b
        .post(
            "/console/otp/locale",
            &[("csrf", &csrf), ("locale", "si_lk")],
        )
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some("/console/otp?locale=si-LK"));
    let p = b.follow(p).await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("SMS message template (si-LK)"));
    assert!(p.body.contains("WhatsApp message template (si-LK)"));
    assert!(p.body.contains("No si-LK text yet"), "{}", p.body);
    assert!(p.body.contains("name=\"locale\" value=\"si-LK\""));
    // A broken text: refused, kept, still the si-LK form.
    let p = b
        .post(
            "/console/otp/template/sms",
            &[
                ("csrf", &csrf),
                ("locale", "si-LK"),
                ("text", "Koodi {{nope}}"),
            ],
        )
        .await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(p.body.contains("Koodi {{nope}}") && p.body.contains("SMS message template (si-LK)"));
    let si = "ඔබේ කේතය {{confirmation-code}}";
    let p = b
        .post(
            "/console/otp/template/sms",
            &[("csrf", &csrf), ("locale", "si-LK"), ("text", si)],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("Template saved (si-LK)."));
    assert!(
        p.body.contains("ඔබේ කේතය"),
        "the preview and the form show it"
    );
    assert!(
        p.body.contains("UCS-2"),
        "the segment count of the si-LK text"
    );
    assert!(p.body.contains("Remove si-LK sms template"));
    assert!(
        p.body
            .contains("href=\"/console/otp?locale=si-LK\" aria-current=\"page\"")
    );
    let t = api.get("/api/v1/channels/sms/template?locale=si-LK").await;
    assert_eq!(t.body["text"], si);
    let en = api.get("/api/v1/channels/sms/template").await;
    assert_eq!(en.body["is_default"], true, "en is untouched");
    // The language stays listed on the page's default view.
    let p = b.get("/console/otp").await;
    assert!(p.body.contains("href=\"/console/otp?locale=si-LK\""));
    assert!(!p.body.contains("(si-LK)"));
    // Removed: falls back again.
    let remove = "/console/otp/template/sms/delete";
    assert_eq!(b.post(remove, &[("locale", "si-LK")]).await.status, 403);
    let p = b
        .post(remove, &[("csrf", &csrf), ("locale", "si-LK")])
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("was removed") && p.body.contains("No si-LK text yet"));
    let list = api.get("/api/v1/channels/sms/templates").await;
    assert_eq!(list.body["templates"], json!([]));
    s.stop().await;
}

/// [`Browser::post`] with owned values.
async fn post_owned(b: &mut Browser, path: &str, form: Vec<(&str, String)>) -> Page {
    let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post(path, &refs).await
}
