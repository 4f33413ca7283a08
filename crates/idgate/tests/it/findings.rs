//! The smaller security findings of issue 16, each closed and checked against the real
//! server: RP-initiated logout refuses a `client_id` that is not the `id_token_hint`'s
//! audience; redirect URIs with user info or a `*` host are refused (admin API, CLI,
//! console); 422s never repeat the full number typed; authorization errors honour
//! `response_mode=form_post`; console posts refuse a foreign `Origin` or a cross-site
//! `Sec-Fetch-Site` even with a valid CSRF token.

use idgate_core::application::LoginFlow;
use reqwest::header::COOKIE;
use serde_json::{Value, json};

use crate::admin_api::Api;
use crate::console::{Browser as ConsoleBrowser, console_sign_in};
use crate::harness::{TestDb, TestServer, drop_pg};
use crate::oidc::{Browser, REDIRECT, app_with, authorize_url, query_param, server, user};
use crate::oidc_flows::{PASSWORD, code_for, exchange};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_refuses_a_client_id_that_is_not_the_hints_audience() {
    let s = server().await;
    let mobile = "+14155550170";
    user(&s, "lena", PASSWORD, Some(mobile)).await;
    let shop = app_with(&s, LoginFlow::default(), false).await;
    let other = app_with(&s, LoginFlow::default(), false).await;
    let mut b = Browser::new();
    let code = code_for(&s, &mut b, &shop.0, &[], "lena", mobile).await;
    let t = exchange(&s, &shop, &code).await;
    let hint = t.body["id_token"].as_str().unwrap().to_string();
    let logout = |client_id: &str| {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        ser.append_pair("id_token_hint", &hint)
            .append_pair("client_id", client_id)
            .append_pair("post_logout_redirect_uri", "http://127.0.0.1:9/bye");
        s.url(&format!("/logout?{}", ser.finish()))
    };
    // Shop's token with the other application's client id: an error page, nothing done.
    let p = b.get(&logout(&other.0)).await;
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.location.is_none());
    assert!(p.body.contains("carries another application"), "{}", p.body);
    let still = b
        .get(&authorize_url(&s, &shop.0, &[("prompt", "none")]))
        .await;
    assert!(
        query_param(&still.location.unwrap(), "code").is_some(),
        "still signed in"
    );
    // The hint's own audience: signed out and sent back.
    let p = b.get(&logout(&shop.0)).await;
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some("http://127.0.0.1:9/bye"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_uris_with_user_info_or_a_wildcard_host_are_refused_everywhere() {
    let s = server().await;
    let api = Api::new(&s).await;
    for (uri, why) in [
        ("https://u:p4ssw0rd@shop.example.com/cb", "user info"),
        ("https://user@shop.example.com/cb", "user info"),
        ("https://*.example.com/cb", "wildcards"),
        ("https://*/cb", "wildcards"),
    ] {
        let r = api
            .post(
                "/api/v1/applications",
                json!({"name": "Shop", "redirect_uris": [uri]}),
            )
            .await;
        r.problem(422, "redirect_uris[0]");
        assert!(
            r.body["detail"].as_str().unwrap().contains(why),
            "{uri}: {}",
            r.text
        );
        assert!(!r.text.contains("p4ssw0rd"), "{}", r.text);
        let r = api
            .post(
                "/api/v1/applications",
                json!({"name": "Shop", "redirect_uris": ["https://shop.example.com/cb"], "post_logout_redirect_uris": [uri]}),
            )
            .await;
        r.problem(422, "post_logout_redirect_uris[0]");
    }

    // The console's form goes through the same validation.
    let admin_mobile = "+14155550171";
    let a = api
        .post("/api/v1/users", json!({"username": "root", "password": PASSWORD, "mobile": admin_mobile, "mobile_verified": true, "is_admin": true}))
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let mut b = ConsoleBrowser::new(&s);
    console_sign_in(&s, &mut b, "root", PASSWORD, admin_mobile).await;
    let page = b.get("/console/applications").await;
    let p = b
        .post(
            "/console/applications",
            &[
                ("csrf", &page.csrf()),
                ("name", "Shop"),
                ("redirect_uris", "https://*.example.com/cb"),
            ],
        )
        .await;
    assert_eq!(p.status, 422, "{}", p.body);
    assert!(
        p.body.contains("wildcards (*) are not allowed"),
        "{}",
        p.body
    );
    s.stop().await;

    // And the CLI's.
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_idgate"))
        .args([
            "app",
            "add",
            "--name",
            "Shop",
            "--redirect-uri",
            "https://u:p4ssw0rd@shop.example.com/cb",
        ])
        .current_dir(dir.path())
        .env_remove("IDGATE_CONFIG")
        .env("IDGATE_DATA_DIR", dir.path().join("data"))
        .env("IDGATE_SECRETS__MASTER_SECRET", crate::harness::MASTER)
        .envs(db.url.iter().map(|u| ("IDGATE_DATABASE__URL", u.as_str())))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!o.status.success(), "{text}");
    assert!(
        text.contains("user info") && !text.contains("p4ssw0rd"),
        "{text}"
    );
    drop_pg(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unprocessable_answers_never_repeat_the_full_number_typed() {
    let s = TestServer::start().await;
    let api = Api::new(&s).await;
    let (client_id, secret) = s.app("Shop").await;
    // Too short for a US number, premium-rate, letters: each refused, none echoed whole.
    for typed in ["+1 415 555 0198 9", "+1 900 555 0199", "+1 415 555 01x9"] {
        let r = s
            .http
            .post(s.url("/api/v1/verifications"))
            .basic_auth(&client_id, Some(&secret))
            .json(&json!({"to": typed, "channel": "sms"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{typed}");
        let body: Value = r.json().await.unwrap();
        let detail = body["detail"].as_str().unwrap();
        assert_eq!(body["field"], "to");
        let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
        let shown: String = detail.chars().filter(char::is_ascii_digit).collect();
        assert!(!shown.contains(&digits[1..]), "{typed}: {detail}");
        assert!(!detail.contains(&typed[3..]), "{typed}: {detail}");

        let r = api
            .post(
                "/api/v1/users",
                json!({"username": "nina", "password": PASSWORD, "mobile": typed}),
            )
            .await;
        r.problem(422, "mobile");
        assert!(!r.text.contains(&typed[3..]), "{typed}: {}", r.text);
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_errors_honour_response_mode_form_post() {
    let s = server().await;
    let (client_id, _) = app_with(&s, LoginFlow::default(), false).await;
    let mut b = Browser::new();
    // prompt=none without a session, and a request without the openid scope.
    for (extra, error) in [
        (vec![("prompt", "none")], "login_required"),
        (vec![("scope", "profile")], "invalid_scope"),
    ] {
        let mut params = vec![("response_mode", "form_post")];
        params.extend(extra);
        let url = authorize_url(&s, &client_id, &params).replace("scope=openid+profile&", "");
        let url = if error == "invalid_scope" {
            url
        } else {
            format!("{url}&scope=openid")
        };
        let p = b.get(&url).await;
        assert_eq!(p.status, 200, "{error}: {}", p.body);
        assert!(p.location.is_none(), "{error}: not a redirect");
        assert!(
            p.body.contains(&format!("action=\"{REDIRECT}\"")),
            "{}",
            p.body
        );
        assert!(
            p.body
                .contains(&format!("name=\"error\" value=\"{error}\"")),
            "{}",
            p.body
        );
        assert!(
            p.body.contains("name=\"state\" value=\"st-1\""),
            "{}",
            p.body
        );
        assert!(p.body.contains("name=\"iss\""), "{}", p.body);
        assert!(p.body.contains("<script src=\"/assets/form-post.js\">"));
    }
    // The query mode still redirects.
    let p = b
        .get(&format!(
            "{}&prompt=none",
            authorize_url(&s, &client_id, &[])
        ))
        .await;
    assert_eq!(p.status, 303);
    assert_eq!(
        query_param(&p.location.unwrap(), "error").as_deref(),
        Some("login_required")
    );
    let js = s
        .http
        .get(s.url("/assets/form-post.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(js.text().await.unwrap().contains("form.submit()"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_posts_refuse_a_foreign_origin_even_with_a_valid_csrf_token() {
    let s = server().await;
    let api = Api::new(&s).await;
    let admin_mobile = "+14155550172";
    let a = api
        .post("/api/v1/users", json!({"username": "root", "password": PASSWORD, "mobile": admin_mobile, "mobile_verified": true, "is_admin": true}))
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let mut b = ConsoleBrowser::new(&s);
    console_sign_in(&s, &mut b, "root", PASSWORD, admin_mobile).await;
    let page = b.get("/console/admin-tokens").await;
    let csrf = page.csrf();
    let cookies = b
        .jar
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let post = |header: Option<(&'static str, String)>, name: &'static str| {
        let mut r = s
            .http
            .post(s.url("/console/admin-tokens"))
            .header(COOKIE, cookies.clone())
            .form(&[("csrf", csrf.as_str()), ("name", name)]);
        if let Some((k, v)) = header {
            r = r.header(k, v);
        }
        r.send()
    };
    for (k, v) in [
        ("origin", "https://evil.example".to_string()),
        ("origin", "null".to_string()),
        ("sec-fetch-site", "cross-site".to_string()),
        ("sec-fetch-site", "same-site".to_string()),
    ] {
        let r = post(Some((k, v.clone())), "evil").await.unwrap();
        assert_eq!(r.status(), 403, "{k}: {v}");
    }
    // The console's scripts' endpoint too.
    let r = s
        .http
        .post(s.url("/console/validate"))
        .header(COOKIE, cookies.clone())
        .header("x-idgate-csrf", csrf.as_str())
        .header("origin", "https://evil.example")
        .form(&[("kind", "message"), ("text", "hi")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let tokens = api.get("/api/v1/admin-tokens").await;
    assert!(!tokens.text.contains("\"evil\""), "{}", tokens.text);
    // The console's own origin (and same-origin fetch metadata) is accepted.
    let r = post(Some(("origin", s.base.clone())), "ours")
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = post(Some(("sec-fetch-site", "same-origin".into())), "ours2")
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    s.stop().await;
}
