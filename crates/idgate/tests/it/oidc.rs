//! The OpenID Connect provider end to end, with the `openidconnect` crate as an
//! independent relying party: discovery → authorize (PKCE, nonce) → password → the SMS
//! code from the dev outbox → token → ID token verified against the JWKS → userinfo.

use idgate_core::application::{Application, LoginFlow, SecondFactor};
use idgate_core::crypto::random_token;
use idgate_core::password::{Argon2Params, hash_password};
use idgate_core::phone::PhoneNumber;
use idgate_core::user::{NewUser, Username};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::harness::{TestServer, code_in};

pub const REDIRECT: &str = "http://127.0.0.1:9/cb";

/// A server whose issuer is its own address (the RP checks the issuer it discovers).
pub async fn server() -> TestServer {
    server_with(|_| {}).await
}

/// [`server`], with more config of the test's own.
pub async fn server_with(adjust: impl FnOnce(&mut idgate::config::Config)) -> TestServer {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    TestServer::start_with(move |c| {
        c.server.listen = format!("127.0.0.1:{port}").parse().unwrap();
        c.server.issuer = format!("http://127.0.0.1:{port}");
        adjust(c);
    })
    .await
}

pub async fn user(s: &TestServer, name: &str, password: &str, mobile: Option<&str>) -> String {
    let hash = hash_password(
        password,
        &Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
    )
    .unwrap();
    let st = s.state();
    st.store
        .create_user(
            &NewUser {
                username: Username::parse(name).unwrap(),
                password_hash: Some(hash),
                mobile: mobile.map(|m| PhoneNumber::parse(m, None).unwrap()),
                mobile_verified: mobile.is_some(),
                display_name: Some(format!("{name} display")),
                locale: None,
                is_admin: false,
            },
            st.now(),
        )
        .await
        .unwrap()
        .id
}

/// An application with a flow of our choosing; `secret` None = public client.
pub async fn app_with(s: &TestServer, flow: LoginFlow, public: bool) -> (String, Option<String>) {
    let st = s.state();
    let client_id = format!("app_{}", random_token(9).unwrap());
    let secret = (!public).then(|| random_token(32).unwrap());
    st.store
        .create_application(&Application {
            id: idgate_core::new_id(),
            client_id: client_id.clone(),
            client_secret_hash: secret.as_ref().map(|s| st.keys.token_hash(s)),
            name: "Shop".into(),
            redirect_uris: vec![REDIRECT.into()],
            post_logout_redirect_uris: vec!["http://127.0.0.1:9/bye".into()],
            login_flow: flow,
            otp_policy: None,
            created_at: st.now(),
            updated_at: st.now(),
        })
        .await
        .unwrap();
    (client_id, secret)
}

#[derive(Debug)]
pub struct HttpErr(String);
impl std::fmt::Display for HttpErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for HttpErr {}

/// openidconnect's HTTP client, over the workspace's reqwest.
pub async fn rp_http(
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpErr> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| HttpErr(e.to_string()))?;
    let (parts, body) = req.into_parts();
    let mut rb = http.request(parts.method, parts.uri.to_string()).body(body);
    for (k, v) in parts.headers.iter() {
        rb = rb.header(k, v);
    }
    let resp = rb.send().await.map_err(|e| HttpErr(e.to_string()))?;
    let mut out = openidconnect::http::Response::builder().status(resp.status());
    for (k, v) in resp.headers() {
        out = out.header(k, v);
    }
    let bytes = resp.bytes().await.map_err(|e| HttpErr(e.to_string()))?;
    out.body(bytes.to_vec()).map_err(|e| HttpErr(e.to_string()))
}

/// A browser: no redirects followed, our session cookie kept by hand.
pub struct Browser {
    pub http: reqwest::Client,
    pub cookie: Option<String>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let at = self.body.find(marker).expect("a csrf field") + marker.len();
        self.body[at..].split('"').next().unwrap().to_string()
    }
}

impl Browser {
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    async fn finish(&mut self, r: reqwest::Response) -> Page {
        if let Some(c) = r.headers().get(SET_COOKIE).and_then(|v| v.to_str().ok()) {
            let pair = c.split(';').next().unwrap().to_string();
            self.cookie = if pair.ends_with('=') {
                None
            } else {
                Some(pair)
            };
        }
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_string());
        Page {
            status,
            location,
            body: r.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let mut rb = self.http.get(url);
        if let Some(c) = &self.cookie {
            rb = rb.header(COOKIE, c);
        }
        let r = rb.send().await.unwrap();
        self.finish(r).await
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let mut rb = self.http.post(url).form(form);
        if let Some(c) = &self.cookie {
            rb = rb.header(COOKIE, c);
        }
        let r = rb.send().await.unwrap();
        self.finish(r).await
    }
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Password then code: returns the final redirect (to the client).
pub async fn sign_in_password_code(
    s: &TestServer,
    b: &mut Browser,
    auth_url: &str,
    username: &str,
    password: &str,
    mobile: &str,
) -> Page {
    let p = b.get(auth_url).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some("/login"));
    let page = b.get(&s.url("/login")).await;
    assert!(page.body.contains(">Username<") && page.body.contains(">Password<"));
    assert!(page.body.contains(">Sign in<"));
    let csrf = page.csrf();
    let old_cookie = b.cookie.clone();
    let code_page = b
        .post(
            &s.url("/login/password"),
            &[
                ("csrf", &csrf),
                ("username", username),
                ("password", password),
            ],
        )
        .await;
    assert_eq!(code_page.status, 200, "{}", code_page.body);
    assert_ne!(
        b.cookie, old_cookie,
        "the session id rotates after the password"
    );
    assert!(code_page.body.contains("autocomplete=\"one-time-code\""));
    assert!(code_page.body.contains("inputmode=\"numeric\""));
    assert!(code_page.body.contains(">Verification code<"));
    let last4 = &mobile[mobile.len() - 4..];
    assert!(
        code_page.body.contains(&format!("••••••{last4}")),
        "{}",
        code_page.body
    );
    let text = s.last_text_to(mobile).await.expect("a code was sent");
    let code = code_in(&text, 6);
    let before_code = b.cookie.clone();
    let done = b
        .post(
            &s.url("/login/code"),
            &[("csrf", &code_page.csrf()), ("code", &code)],
        )
        .await;
    assert_ne!(
        b.cookie, before_code,
        "the session id rotates after the code"
    );
    // The cookie from before the code names nothing any more.
    let mut stale = Browser::new();
    stale.cookie = before_code;
    let page = stale.get(&s.url("/login")).await;
    assert_ne!(
        page.status, 200,
        "a pre-code cookie still opens the journey"
    );
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_rp_password_then_sms_code() {
    let s = server().await;
    let mobile = "+14155550123";
    let uid = user(&s, "alice", "correct horse battery", Some(mobile)).await;
    let (client_id, secret) = app_with(&s, LoginFlow::default(), false).await;

    let meta =
        CoreProviderMetadata::discover_async(IssuerUrl::new(s.base.clone()).unwrap(), &rp_http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(client_id.clone()),
        secret.map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf_state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("phone".into()))
        .set_pkce_challenge(challenge)
        .url();

    let mut b = Browser::new();
    let done = sign_in_password_code(
        &s,
        &mut b,
        auth_url.as_str(),
        "alice",
        "correct horse battery",
        mobile,
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let location = done.location.unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some(csrf_state.secret().as_str())
    );
    let code = query_param(&location, "code").unwrap();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&rp_http)
        .await
        .expect("token exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("ID token verified against the JWKS");
    assert_eq!(claims.subject().as_str(), uid);
    let amr: Vec<&str> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.as_str())
        .collect();
    assert_eq!(amr, ["pwd", "sms", "mfa"]);
    assert!(claims.auth_time().is_some());
    let metrics = s.metrics().await;
    assert!(
        metrics.contains(r#"idgate_signins_total{factors="password+sms"} 1"#),
        "{metrics}"
    );
    assert_eq!(
        claims.preferred_username().map(|u| u.as_str()),
        Some("alice")
    );
    assert!(tokens.refresh_token().is_some());

    let info: openidconnect::core::CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&rp_http)
        .await
        .expect("userinfo");
    assert_eq!(info.phone_number().map(|p| p.as_str()), Some(mobile));
    assert_eq!(info.phone_number_verified(), Some(true));

    // The code is single use: a replay fails and revokes what it issued.
    let again = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .request_async(&rp_http)
        .await;
    assert!(again.is_err());
    let revoked = s
        .http
        .get(s.url("/userinfo"))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 401);
    s.stop().await;
}

pub fn authorize_url(s: &TestServer, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    ser.append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid profile")
        .append_pair("state", "st-1");
    for (k, v) in extra {
        ser.append_pair(k, v);
    }
    s.url(&format!("/authorize?{}", ser.finish()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_whatsapp_choice_sso_and_prompt_none() {
    let s = server().await;
    let mobile = "+14155550124";
    user(&s, "bob", "correct horse battery", Some(mobile)).await;
    let flow = LoginFlow {
        second: vec![SecondFactor::SmsOtp, SecondFactor::WhatsappOtp],
        ..LoginFlow::default()
    };
    let (client_id, secret) = app_with(&s, flow, false).await;

    // prompt=none without a session: login_required, back at the client.
    let mut b = Browser::new();
    let p = b
        .get(&authorize_url(&s, &client_id, &[("prompt", "none")]))
        .await;
    assert_eq!(p.status, 303);
    let loc = p.location.unwrap();
    assert!(loc.starts_with(REDIRECT));
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("login_required")
    );

    // An unregistered redirect URI is a page, never a redirect.
    let bad = authorize_url(&s, &client_id, &[]).replace("127.0.0.1%3A9%2Fcb", "evil.example%2Fcb");
    let p = b.get(&bad).await;
    assert_eq!(p.status, 400);
    assert!(p.location.is_none());

    // Password, then switch to WhatsApp.
    b.get(&authorize_url(&s, &client_id, &[])).await;
    let page = b.get(&s.url("/login")).await;
    let code_page = b
        .post(
            &s.url("/login/password"),
            &[
                ("csrf", &page.csrf()),
                ("username", "bob"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert!(
        code_page.body.contains("Send by WhatsApp instead"),
        "{}",
        code_page.body
    );
    // A switch sends a new code: the SMS code's resend cooldown applies to it (issue 16).
    s.clock.advance(31);
    let wa_page = b
        .post(
            &s.url("/login/switch"),
            &[("csrf", &code_page.csrf()), ("factor", "whatsapp-otp")],
        )
        .await;
    assert_eq!(wa_page.status, 200, "{}", wa_page.body);
    assert!(wa_page.body.contains("by WhatsApp"), "{}", wa_page.body);
    assert!(wa_page.body.contains("Send by SMS instead"));
    // A wrong code says how many attempts are left.
    let wrong = b
        .post(
            &s.url("/login/code"),
            &[("csrf", &wa_page.csrf()), ("code", "000000")],
        )
        .await;
    assert!(wrong.body.contains("attempts left"), "{}", wrong.body);
    let code = code_in(&s.last_text_to(mobile).await.unwrap(), 6);
    let done = b
        .post(
            &s.url("/login/code"),
            &[("csrf", &wrong.csrf()), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let code = query_param(&done.location.unwrap(), "code").unwrap();
    let tokens: serde_json::Value = s
        .http
        .post(s.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", &client_id),
            ("client_secret", secret.as_deref().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();
    let payload = id_token.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    let first_auth_time = claims["auth_time"].as_i64().unwrap();

    // SSO: a second authorize answers at once, prompt=none too.
    let p = b
        .get(&authorize_url(&s, &client_id, &[("prompt", "none")]))
        .await;
    assert_eq!(p.status, 303);
    assert!(query_param(&p.location.unwrap(), "code").is_some());

    // max_age=1 after 2 s forces a new sign-in.
    s.clock.advance(2);
    let p = b
        .get(&authorize_url(&s, &client_id, &[("max_age", "1")]))
        .await;
    assert_eq!(p.location.as_deref(), Some("/login"));
    let _ = first_auth_time;
    s.stop().await;
}
