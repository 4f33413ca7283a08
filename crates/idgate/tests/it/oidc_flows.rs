//! The sign-in journeys and token endpoint over HTTP: passwordless, enrolment and
//! refusal, PKCE, code expiry and reuse, refresh-token rotation and reuse detection,
//! client credentials, revocation, RP-initiated logout and `prompt=login`.

use base64::Engine;
use idgate_core::application::{FirstFactor, LoginFlow, MissingMobile};
use idgate_core::password::{Argon2Params, hash_password};
use idgate_core::phone::PhoneNumber;
use idgate_core::user::{NewUser, Username};
use openidconnect::PkceCodeChallenge;
use serde_json::Value;

use crate::harness::{TestServer, code_in};
use crate::oidc::{
    Browser, Page, REDIRECT, app_with, authorize_url, query_param, server, sign_in_password_code,
    user,
};

pub const PASSWORD: &str = "correct horse battery";

/// A token-endpoint answer: status, JSON body, `Cache-Control`.
pub struct TokenAnswer {
    pub status: u16,
    pub body: Value,
    pub cache_control: Option<String>,
}

pub async fn token(s: &TestServer, form: &[(&str, &str)]) -> TokenAnswer {
    let r = s
        .http
        .post(s.url("/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let cache_control = r
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_string());
    TokenAnswer {
        status,
        body: r.json().await.unwrap_or(Value::Null),
        cache_control,
    }
}

/// The payload of a JWT (signature not checked: the RP tests do that).
pub fn jwt_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

pub fn jwt_header(jwt: &str) -> Value {
    let h = jwt.split('.').next().unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(h)
            .unwrap(),
    )
    .unwrap()
}

/// How many messages the dev outbox holds.
/// Messages in the dev outbox, once the count has settled (a passwordless sign-in's
/// code goes out after its page is answered).
pub async fn outbox_count(s: &TestServer) -> usize {
    let mut last = outbox_count_now(s).await;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let n = outbox_count_now(s).await;
        if n == last {
            return n;
        }
        last = n;
    }
}

async fn outbox_count_now(s: &TestServer) -> usize {
    let v: Value = s
        .http
        .get(s.url("/dev/outbox.json"))
        .query(&[("limit", "500")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["messages"].as_array().unwrap().len()
}

/// A user whose number is set but not verified.
async fn user_unverified(s: &TestServer, name: &str, mobile: &str) -> String {
    let hash = hash_password(
        PASSWORD,
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
                mobile: Some(PhoneNumber::parse(mobile, None).unwrap()),
                mobile_verified: false,
                display_name: None,
                locale: None,
                is_admin: false,
            },
            st.now(),
        )
        .await
        .unwrap()
        .id
}

/// Signs `name` in with password + SMS code through the browser; returns the code.
pub async fn code_for(
    s: &TestServer,
    b: &mut Browser,
    client_id: &str,
    extra: &[(&str, &str)],
    name: &str,
    mobile: &str,
) -> String {
    let done = sign_in_password_code(
        s,
        b,
        &authorize_url(s, client_id, extra),
        name,
        PASSWORD,
        mobile,
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let loc = done.location.unwrap();
    assert!(loc.starts_with(REDIRECT), "{loc}");
    query_param(&loc, "code").unwrap()
}

/// Exchanges a code as a confidential client (client_secret_post).
pub async fn exchange(
    s: &TestServer,
    client: &(String, Option<String>),
    code: &str,
) -> TokenAnswer {
    token(
        s,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", &client.0),
            ("client_secret", client.1.as_deref().unwrap_or_default()),
        ],
    )
    .await
}

async fn userinfo_status(s: &TestServer, access: &str) -> u16 {
    s.http
        .get(s.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn passwordless() -> LoginFlow {
    LoginFlow {
        first: FirstFactor::SmsOtp,
        second: vec![],
        ..LoginFlow::default()
    }
}

/// The page without what differs per request (the CSRF token).
fn normalised(p: &Page) -> String {
    if p.body.contains("name=\"csrf\"") {
        p.body.replace(&p.csrf(), "CSRF")
    } else {
        p.body.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_passwordless_sms_and_unknown_user_sees_the_code_page_and_nothing_is_sent() {
    let s = server().await;
    let mobile = "+14155550125";
    let uid = user(&s, "carol", PASSWORD, Some(mobile)).await;
    let client = app_with(&s, passwordless(), false).await;

    let mut b = Browser::new();
    let p = b.get(&authorize_url(&s, &client.0, &[])).await;
    assert_eq!(p.location.as_deref(), Some("/login"));
    let page = b.get(&s.url("/login")).await;
    assert!(page.body.contains(">Username<"), "{}", page.body);
    assert!(!page.body.contains(">Password<"), "no password step");
    assert!(page.body.contains("action=\"/login/identify\""));
    let code_page = b
        .post(
            &s.url("/login/identify"),
            &[("csrf", &page.csrf()), ("username", "carol")],
        )
        .await;
    assert_eq!(code_page.status, 200, "{}", code_page.body);
    assert!(code_page.body.contains(">Verification code<"));
    let code = code_in(&s.last_text_to(mobile).await.expect("a code"), 6);
    let done = b
        .post(
            &s.url("/login/code"),
            &[("csrf", &code_page.csrf()), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let code = query_param(&done.location.unwrap(), "code").unwrap();
    let t = exchange(&s, &client, &code).await;
    assert_eq!(t.status, 200, "{}", t.body);
    let claims = jwt_claims(t.body["id_token"].as_str().unwrap());
    assert_eq!(claims["sub"], uid.as_str());
    assert_eq!(claims["amr"], serde_json::json!(["sms"]));
    assert_eq!(claims["acr"], idgate_core::login::ACR_1FA);

    // Someone who does not exist gets the same code page, and nothing is sent.
    let sent = outbox_count(&s).await;
    let mut known = Browser::new();
    let mut ghost = Browser::new();
    known.get(&authorize_url(&s, &client.0, &[])).await;
    ghost.get(&authorize_url(&s, &client.0, &[])).await;
    let kp = known.get(&s.url("/login")).await;
    let gp = ghost.get(&s.url("/login")).await;
    let known_page = known
        .post(
            &s.url("/login/identify"),
            &[("csrf", &kp.csrf()), ("username", "carol")],
        )
        .await;
    let ghost_page = ghost
        .post(
            &s.url("/login/identify"),
            &[("csrf", &gp.csrf()), ("username", "nobody-here")],
        )
        .await;
    assert_eq!(ghost_page.status, known_page.status);
    assert_eq!(
        normalised(&ghost_page),
        normalised(&known_page),
        "an unknown user's code page is the known user's"
    );
    assert_eq!(
        outbox_count(&s).await,
        sent + 1,
        "only the real user got a code"
    );
    // Its resend is refused for the same cooldown as a real one.
    let gr = ghost
        .post(&s.url("/login/resend"), &[("csrf", &ghost_page.csrf())])
        .await;
    let kr = known
        .post(&s.url("/login/resend"), &[("csrf", &known_page.csrf())])
        .await;
    assert_eq!(gr.status, kr.status);
    assert_eq!(normalised(&gr), normalised(&kr));
    // A guessed code is "wrong", with attempts counting down like a real one.
    let wrong = ghost
        .post(
            &s.url("/login/code"),
            &[("csrf", &ghost_page.csrf()), ("code", "123456")],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("attempts left"), "{}", wrong.body);
    assert_eq!(outbox_count(&s).await, sent + 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_enrolment_saves_the_number_only_after_approval_and_refusal_is_a_page() {
    let s = server().await;
    let uid = user(&s, "dave", PASSWORD, None).await;
    let client = app_with(&s, LoginFlow::default(), false).await;

    let mut b = Browser::new();
    b.get(&authorize_url(&s, &client.0, &[])).await;
    let page = b.get(&s.url("/login")).await;
    let enrol = b
        .post(
            &s.url("/login/password"),
            &[
                ("csrf", &page.csrf()),
                ("username", "dave"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(enrol.status, 200, "{}", enrol.body);
    assert!(enrol.body.contains(">Mobile number<"), "{}", enrol.body);
    let bad = b
        .post(
            &s.url("/login/enrol"),
            &[("csrf", &enrol.csrf()), ("mobile", "not a number")],
        )
        .await;
    assert_eq!(bad.status, 422);
    let number = "+14155550130";
    let code_page = b
        .post(
            &s.url("/login/enrol"),
            &[("csrf", &bad.csrf()), ("mobile", number)],
        )
        .await;
    assert_eq!(code_page.status, 200, "{}", code_page.body);
    assert!(code_page.body.contains("••••••0130"), "{}", code_page.body);
    let stored = s.state().store.get_user(&uid).await.unwrap().unwrap();
    assert!(
        stored.mobile.is_none(),
        "not saved before the code is approved"
    );
    let wrong = b
        .post(
            &s.url("/login/code"),
            &[("csrf", &code_page.csrf()), ("code", "000000")],
        )
        .await;
    assert_eq!(wrong.status, 422);
    let stored = s.state().store.get_user(&uid).await.unwrap().unwrap();
    assert!(stored.mobile.is_none(), "a wrong code saves nothing");
    let code = code_in(&s.last_text_to(number).await.unwrap(), 6);
    let done = b
        .post(
            &s.url("/login/code"),
            &[("csrf", &wrong.csrf()), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let stored = s.state().store.get_user(&uid).await.unwrap().unwrap();
    assert_eq!(stored.mobile.as_ref().map(|m| m.as_str()), Some(number));
    assert!(stored.mobile_verified);
    let t = exchange(
        &s,
        &client,
        &query_param(&done.location.unwrap(), "code").unwrap(),
    )
    .await;
    assert_eq!(
        jwt_claims(t.body["id_token"].as_str().unwrap())["amr"],
        serde_json::json!(["pwd", "sms", "mfa"])
    );

    // An unverified number is never sent a login code: the user enrols instead.
    let unverified = "+14155550131";
    user_unverified(&s, "erin", unverified).await;
    let mut b = Browser::new();
    b.get(&authorize_url(&s, &client.0, &[])).await;
    let page = b.get(&s.url("/login")).await;
    let p = b
        .post(
            &s.url("/login/password"),
            &[
                ("csrf", &page.csrf()),
                ("username", "erin"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(p.body.contains(">Mobile number<"), "{}", p.body);
    assert!(s.last_text_to(unverified).await.is_none());

    // A flow that refuses instead of enrolling says so, and sends nothing.
    let refusing = app_with(
        &s,
        LoginFlow {
            missing_mobile: MissingMobile::Refuse,
            ..LoginFlow::default()
        },
        false,
    )
    .await;
    user(&s, "frank", PASSWORD, None).await;
    let sent = outbox_count(&s).await;
    let mut b = Browser::new();
    b.get(&authorize_url(&s, &refusing.0, &[])).await;
    let page = b.get(&s.url("/login")).await;
    let p = b
        .post(
            &s.url("/login/password"),
            &[
                ("csrf", &page.csrf()),
                ("username", "frank"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(p.status, 403, "{}", p.body);
    assert!(p.body.contains("A mobile number is needed"), "{}", p.body);
    assert!(!p.body.contains(">Mobile number<"));
    assert_eq!(outbox_count(&s).await, sent);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_pkce_mismatch_and_expired_code_are_refused() {
    let s = server().await;
    let mobile = "+14155550132";
    user(&s, "gina", PASSWORD, Some(mobile)).await;
    let public = app_with(&s, LoginFlow::default(), true).await;

    // A public client must use PKCE.
    let mut b = Browser::new();
    let p = b.get(&authorize_url(&s, &public.0, &[])).await;
    assert_eq!(p.status, 303);
    let loc = p.location.unwrap();
    assert!(loc.starts_with(REDIRECT), "{loc}");
    assert_eq!(
        query_param(&loc, "error").as_deref(),
        Some("invalid_request")
    );

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let code = code_for(&s, &mut b, &public.0, &pkce, "gina", mobile).await;
    let (_, other) = PkceCodeChallenge::new_random_sha256();
    let exchange_with = |v: String, code: String| {
        let s = &s;
        let cid = public.0.clone();
        async move {
            token(
                s,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("client_id", &cid),
                    ("code_verifier", &v),
                ],
            )
            .await
        }
    };
    let t = exchange_with(other.secret().clone(), code.clone()).await;
    assert_eq!(t.status, 400, "{}", t.body);
    assert_eq!(t.body["error"], "invalid_grant");
    assert_eq!(t.cache_control.as_deref(), Some("no-store"));
    // The code is spent: the right verifier is too late now.
    let t = exchange_with(verifier.secret().clone(), code).await;
    assert_eq!(t.body["error"], "invalid_grant");

    // With the right verifier it works — while the code is young.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let p = b.get(&authorize_url(&s, &public.0, &pkce)).await;
    let code = query_param(&p.location.unwrap(), "code").expect("SSO answers at once");
    let t = exchange_with(verifier.secret().clone(), code).await;
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.cache_control.as_deref(), Some("no-store"));

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let p = b.get(&authorize_url(&s, &public.0, &pkce)).await;
    let code = query_param(&p.location.unwrap(), "code").unwrap();
    s.clock.advance(61);
    let t = exchange_with(verifier.secret().clone(), code).await;
    assert_eq!(t.status, 400, "{}", t.body);
    assert_eq!(t.body["error"], "invalid_grant");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_code_reuse_revokes_and_refresh_rotation_detects_reuse() {
    let s = server().await;
    let mobile = "+14155550133";
    user(&s, "hana", PASSWORD, Some(mobile)).await;
    let client = app_with(&s, LoginFlow::default(), false).await;
    let other = app_with(&s, LoginFlow::default(), false).await;
    let mut b = Browser::new();

    // A reused code revokes the access and refresh tokens it issued.
    let code = code_for(&s, &mut b, &client.0, &[], "hana", mobile).await;
    let first = exchange(&s, &client, &code).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let again = exchange(&s, &client, &code).await;
    assert_eq!(again.body["error"], "invalid_grant");
    let access = first.body["access_token"].as_str().unwrap();
    assert_eq!(userinfo_status(&s, access).await, 401);
    let refresh = first.body["refresh_token"].as_str().unwrap();
    let r = token(
        &s,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &client.0),
            ("client_secret", client.1.as_deref().unwrap()),
        ],
    )
    .await;
    assert_eq!(r.body["error"], "invalid_grant", "{}", r.body);

    // Rotation: each refresh token works once and yields a new one.
    let p = b.get(&authorize_url(&s, &client.0, &[])).await;
    let code = query_param(&p.location.unwrap(), "code").unwrap();
    let t = exchange(&s, &client, &code).await;
    let r1 = t.body["refresh_token"].as_str().unwrap().to_string();
    let refresh_with = |rt: String, c: (String, Option<String>)| {
        let s = &s;
        async move {
            let r = s
                .http
                .post(s.url("/token"))
                .basic_auth(&c.0, c.1.as_deref())
                .form(&[("grant_type", "refresh_token"), ("refresh_token", &rt)])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    // Another client cannot use (or burn) it.
    let (st, v) = refresh_with(r1.clone(), other.clone()).await;
    assert_eq!(st, 400);
    assert_eq!(v["error"], "invalid_grant");
    let (st, v) = refresh_with(r1.clone(), client.clone()).await;
    assert_eq!(st, 200, "{v}");
    let r2 = v["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(r1, r2);
    let access2 = v["access_token"].as_str().unwrap().to_string();
    let id2 = jwt_claims(v["id_token"].as_str().unwrap());
    assert_eq!(id2["amr"], serde_json::json!(["pwd", "sms", "mfa"]));
    assert_eq!(userinfo_status(&s, &access2).await, 200);
    // Replaying r1 is theft: everything of the grant dies, r2 included.
    let (st, v) = refresh_with(r1, client.clone()).await;
    assert_eq!(st, 400);
    assert_eq!(v["error"], "invalid_grant");
    let (_, v) = refresh_with(r2, client.clone()).await;
    assert_eq!(v["error"], "invalid_grant");
    assert_eq!(userinfo_status(&s, &access2).await, 401);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_code_replayed_after_the_sweep_still_revokes() {
    let s = server().await;
    let mobile = "+14155550139";
    user(&s, "hugo", PASSWORD, Some(mobile)).await;
    let client = app_with(&s, LoginFlow::default(), false).await;
    let mut b = Browser::new();
    let code = code_for(&s, &mut b, &client.0, &[], "hugo", mobile).await;
    let first = exchange(&s, &client, &code).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let access = first.body["access_token"].as_str().unwrap();
    let refresh = first.body["refresh_token"].as_str().unwrap();
    // Past the code's own expiry the background sweeper runs before the replay comes.
    s.clock.advance(120);
    let st = s.state();
    assert!(st.store.sweep_grants(st.now()).await.is_ok());
    assert_eq!(userinfo_status(&s, access).await, 200, "still a live grant");
    let again = exchange(&s, &client, &code).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert_eq!(again.body["error"], "invalid_grant");
    // The replay revoked what the code had issued.
    assert_eq!(userinfo_status(&s, access).await, 401);
    let r = token(
        &s,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", &client.0),
            ("client_secret", client.1.as_deref().unwrap()),
        ],
    )
    .await;
    assert_eq!(r.body["error"], "invalid_grant", "{}", r.body);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_client_credentials_and_revocation() {
    let s = server().await;
    let mobile = "+14155550134";
    user(&s, "ivan", PASSWORD, Some(mobile)).await;
    let client = app_with(&s, LoginFlow::default(), false).await;
    let public = app_with(&s, LoginFlow::default(), true).await;

    let r = s
        .http
        .post(s.url("/token"))
        .basic_auth(&client.0, client.1.as_deref())
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "openid api.read"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "Bearer");
    assert!(v.get("id_token").is_none_or(Value::is_null), "{v}");
    assert!(v.get("refresh_token").is_none_or(Value::is_null), "{v}");
    let at = v["access_token"].as_str().unwrap();
    let claims = jwt_claims(at);
    assert_eq!(claims["sub"], client.0.as_str());
    // No user scopes for a machine, and no unregistered API scopes either.
    assert_eq!(claims["scope"], "");
    assert_eq!(claims["aud"], client.0.as_str());
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    // Signed by a key the JWKS publishes.
    let jwks: Value = s
        .http
        .get(s.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = jwt_header(at)["kid"].as_str().unwrap().to_string();
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == kid.as_str()),
        "{jwks}"
    );
    // No user behind it: userinfo refuses.
    assert_eq!(userinfo_status(&s, at).await, 401);
    // Wrong secret, and public clients, get nothing.
    let t = token(
        &s,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client.0),
            ("client_secret", "wrong"),
        ],
    )
    .await;
    assert_eq!(t.status, 401, "{}", t.body);
    assert_eq!(t.body["error"], "invalid_client");
    let t = token(
        &s,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &public.0),
        ],
    )
    .await;
    assert_eq!(t.status, 400, "{}", t.body);
    assert_eq!(t.body["error"], "unauthorized_client");

    // Revocation: a refresh token, then an access token.
    let mut b = Browser::new();
    let code = code_for(&s, &mut b, &client.0, &[], "ivan", mobile).await;
    let t = exchange(&s, &client, &code).await;
    let access = t.body["access_token"].as_str().unwrap().to_string();
    let refresh = t.body["refresh_token"].as_str().unwrap().to_string();
    let revoke = |token: String| {
        let s = &s;
        let c = client.clone();
        async move {
            s.http
                .post(s.url("/revoke"))
                .basic_auth(&c.0, c.1.as_deref())
                .form(&[("token", token.as_str())])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(userinfo_status(&s, &access).await, 200);
    // Unknown tokens are "revoked" too (nothing to learn).
    assert_eq!(revoke("no-such-token".into()).await, 200);
    assert_eq!(userinfo_status(&s, &access).await, 200);
    assert_eq!(revoke(refresh.clone()).await, 200);
    assert_eq!(userinfo_status(&s, &access).await, 401);
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
    assert_eq!(r.body["error"], "invalid_grant");

    let p = b.get(&authorize_url(&s, &client.0, &[])).await;
    let code = query_param(&p.location.unwrap(), "code").unwrap();
    let t = exchange(&s, &client, &code).await;
    let access = t.body["access_token"].as_str().unwrap().to_string();
    assert_eq!(userinfo_status(&s, &access).await, 200);
    assert_eq!(revoke(access.clone()).await, 200);
    assert_eq!(userinfo_status(&s, &access).await, 401);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_logout_checks_the_post_logout_uri_and_prompt_login_reauthenticates() {
    let s = server().await;
    let mobile = "+14155550135";
    user(&s, "jane", PASSWORD, Some(mobile)).await;
    let client = app_with(&s, LoginFlow::default(), false).await;
    let mut b = Browser::new();
    let code = code_for(&s, &mut b, &client.0, &[("nonce", "n-1")], "jane", mobile).await;
    let t = exchange(&s, &client, &code).await;
    let first = jwt_claims(t.body["id_token"].as_str().unwrap());
    assert_eq!(first["nonce"], "n-1");

    // prompt=login: a signed-in session still signs in again, with a new auth_time.
    s.clock.advance(5);
    let p = b
        .get(&authorize_url(&s, &client.0, &[("prompt", "login")]))
        .await;
    assert_eq!(p.location.as_deref(), Some("/login"), "{}", p.body);
    let done = sign_in_password_code(
        &s,
        &mut b,
        &authorize_url(&s, &client.0, &[("prompt", "login")]),
        "jane",
        PASSWORD,
        mobile,
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let t = exchange(
        &s,
        &client,
        &query_param(&done.location.unwrap(), "code").unwrap(),
    )
    .await;
    let id_token = t.body["id_token"].as_str().unwrap().to_string();
    let second = jwt_claims(&id_token);
    assert!(
        second["auth_time"].as_i64().unwrap() >= first["auth_time"].as_i64().unwrap() + 5,
        "{first} {second}"
    );
    assert_eq!(second["sid"], first["sid"], "the same browser session");

    let logout = |params: Vec<(&'static str, String)>| {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &params {
            ser.append_pair(k, v);
        }
        s.url(&format!("/logout?{}", ser.finish()))
    };
    // An unregistered return address is an error page, never a redirect.
    let p = b
        .get(&logout(vec![
            ("id_token_hint", id_token.clone()),
            ("post_logout_redirect_uri", "http://evil.example/bye".into()),
        ]))
        .await;
    assert_eq!(p.status, 400);
    assert!(p.location.is_none());
    // Without a hint, a cross-site link only gets a confirmation page.
    let p = b
        .get(&logout(vec![
            ("client_id", client.0.clone()),
            ("post_logout_redirect_uri", "http://127.0.0.1:9/bye".into()),
        ]))
        .await;
    assert_eq!(p.status, 200);
    assert!(p.location.is_none());
    assert!(p.body.contains("name=\"csrf\""), "{}", p.body);
    let still = b
        .get(&authorize_url(&s, &client.0, &[("prompt", "none")]))
        .await;
    assert!(query_param(&still.location.unwrap(), "code").is_some());
    // With the hint and a registered address: signed out and sent back, with state.
    let old_cookie = b.cookie.clone();
    let p = b
        .get(&logout(vec![
            ("id_token_hint", id_token.clone()),
            ("post_logout_redirect_uri", "http://127.0.0.1:9/bye".into()),
            ("state", "bye-1".into()),
        ]))
        .await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(
        p.location.as_deref(),
        Some("http://127.0.0.1:9/bye?state=bye-1")
    );
    assert!(b.cookie.is_none(), "the cookie is cleared");
    b.cookie = old_cookie;
    // The tokens of the session are revoked and the session is gone.
    assert_eq!(
        userinfo_status(&s, t.body["access_token"].as_str().unwrap()).await,
        401
    );
    let p = b
        .get(&authorize_url(&s, &client.0, &[("prompt", "none")]))
        .await;
    assert_eq!(
        query_param(&p.location.unwrap(), "error").as_deref(),
        Some("login_required")
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_sweeper_deletes_expired_sessions_and_grants() {
    let s = TestServer::start_with(|c| c.verifications.sweep_interval_secs = 1).await;
    let mobile = "+14155550136";
    let uid = user(&s, "kate", PASSWORD, Some(mobile)).await;
    let client = app_with(&s, LoginFlow::default(), false).await;
    let mut b = Browser::new();
    let code = code_for(&s, &mut b, &client.0, &[], "kate", mobile).await;
    let t = exchange(&s, &client, &code).await;
    let gid = jwt_claims(t.body["access_token"].as_str().unwrap())["gid"]
        .as_str()
        .unwrap()
        .to_string();
    let store = s.state().store.clone();
    assert_eq!(store.list_user_sessions(&uid).await.unwrap().len(), 1);
    assert!(store.get_grant(&gid).await.unwrap().is_some());

    // A live session and grant survive sweeps.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(store.list_user_sessions(&uid).await.unwrap().len(), 1);
    assert!(store.get_grant(&gid).await.unwrap().is_some());

    // Past the session lifetime and the grant's (30 days): the sweeper removes both.
    s.clock.advance(31 * 24 * 3600);
    let mut gone = false;
    for _ in 0..100 {
        if store.list_user_sessions(&uid).await.unwrap().is_empty()
            && store.get_grant(&gid).await.unwrap().is_none()
        {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(gone, "the sweeper deleted the expired session and grant");
    s.stop().await;
}

/// True when `t` has the shape of a time-ordered token: 12 hex digits of time, then 43
/// random URL-safe characters.
fn time_ordered(t: &str) -> bool {
    t.len() == 55 && t[..12].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Session cookies, codes and refresh tokens are time-ordered now; ones issued by an
/// earlier version (43 random characters, stored under their plain HMAC) keep working
/// after an upgrade: a signed-in browser stays signed in, a refresh token still refreshes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_tokens_issued_before_time_ordered_ones_keep_working() {
    use idgate_core::crypto::random_token;
    use idgate_core::grant::RefreshToken;
    let s = server().await;
    let mobile = "+14155550147";
    user(&s, "ines", PASSWORD, Some(mobile)).await;
    let client = app_with(&s, LoginFlow::default(), false).await;
    let mut b = Browser::new();
    let code = code_for(&s, &mut b, &client.0, &[], "ines", mobile).await;
    assert!(time_ordered(&code), "{code}");
    let cookie = b.cookie.clone().unwrap();
    let secret = cookie.strip_prefix("idgate_session=").unwrap();
    assert!(time_ordered(secret), "{cookie}");
    let first = exchange(&s, &client, &code).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let refresh = first.body["refresh_token"].as_str().unwrap();
    assert!(time_ordered(refresh), "{refresh}");

    let st = s.state();
    let now = st.now();
    // A refresh token of the earlier shape for the same grant, stored the earlier way.
    let grant_id = st
        .store
        .refresh_token_grant(&st.keys.lookup_hash(refresh))
        .await
        .unwrap()
        .unwrap();
    let old_refresh = random_token(32).unwrap();
    st.store
        .insert_refresh_token(&RefreshToken {
            token_hash: st.keys.token_hash(&old_refresh),
            grant_id,
            created_at: now,
            expires_at: now + 3600,
            used_at: None,
        })
        .await
        .unwrap();
    let r = token(
        &s,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &old_refresh),
            ("client_id", &client.0),
            ("client_secret", client.1.as_deref().unwrap()),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(time_ordered(r.body["refresh_token"].as_str().unwrap()));

    // A signed-in session whose cookie has the earlier shape: single sign-on still
    // answers with a code at once.
    let mut session = st
        .store
        .find_session(&st.keys.lookup_hash(secret), now)
        .await
        .unwrap()
        .unwrap();
    let old_secret = random_token(32).unwrap();
    session.id = idgate_core::new_id();
    session.secret_hash = st.keys.token_hash(&old_secret);
    st.store.insert_session(&session).await.unwrap();
    let mut old_browser = Browser::new();
    old_browser.cookie = Some(format!("idgate_session={old_secret}"));
    let p = old_browser.get(&authorize_url(&s, &client.0, &[])).await;
    let location = p.location.unwrap_or_default();
    assert!(
        query_param(&location, "code").is_some(),
        "the session was not found: {} {location}",
        p.status
    );
    s.stop().await;
}
