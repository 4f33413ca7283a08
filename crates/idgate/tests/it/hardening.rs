//! Web hardening against the real server: security headers on every kind of response,
//! HSTS only over https (or behind a trusted proxy saying so), cross-site form posts
//! refused on the sign-in forms while `/authorize` still takes a cross-site POST.

use idgate_core::application::LoginFlow;

use crate::harness::TestServer;
use crate::oidc::{Browser, REDIRECT, app_with, authorize_url, server, user};

fn check_headers(path: &str, r: &reqwest::Response) {
    let h = r.headers();
    let get = |n: &str| {
        h.get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{path}: no {n} header"))
            .to_string()
    };
    let csp = get("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
    assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
    let script = csp
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .unwrap_or("");
    assert!(!script.contains("unsafe-inline"), "{path}: {csp}");
    if !path.starts_with("/dev/") {
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
    }
    assert_eq!(get("x-content-type-options"), "nosniff", "{path}");
    assert!(!get("referrer-policy").is_empty(), "{path}");
    assert_eq!(get("x-frame-options"), "DENY", "{path}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_on_every_page_and_hsts_only_over_https() {
    let s = server().await;
    let (client_id, _) = app_with(&s, LoginFlow::default(), false).await;
    let auth = authorize_url(&s, &client_id, &[]);
    let paths = [
        "/healthz".to_string(),
        "/readyz".into(),
        "/metrics".into(),
        "/.well-known/openid-configuration".into(),
        "/jwks.json".into(),
        "/login".into(),
        "/assets/idgate.css".into(),
        "/assets/theme.css".into(),
        "/api/v1/verifications/x".into(),
        "/no/such/route".into(),
        "/dev/outbox".into(),
        "/authorize?client_id=nope".into(),
        auth.trim_start_matches(&s.base).to_string(),
    ];
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for p in &paths {
        let r = http.get(s.url(p)).send().await.unwrap();
        check_headers(p, &r);
        assert!(
            !r.headers().contains_key("strict-transport-security"),
            "{p}: HSTS on plain http"
        );
    }
    // A POST error (problem+json) and a sign-in page reached through the flow.
    let r = http
        .post(s.url("/api/v1/verifications"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    check_headers("POST /api/v1/verifications", &r);
    let mut b = Browser::new();
    b.get(&auth).await;
    let r = b
        .http
        .get(s.url("/login"))
        .header("cookie", b.cookie.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    check_headers("/login (in a journey)", &r);
    // A proxy that is not trusted cannot switch HSTS on.
    let r = http
        .get(s.url("/healthz"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(!r.headers().contains_key("strict-transport-security"));
    s.stop().await;

    // Behind a trusted proxy that says https: HSTS.
    let s = TestServer::start_with(|c| {
        c.security.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    let r = http
        .get(s.url("/healthz"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let hsts = r.headers()["strict-transport-security"].to_str().unwrap();
    assert!(hsts.starts_with("max-age=31536000"), "{hsts}");
    let r = http.get(s.url("/healthz")).send().await.unwrap();
    assert!(!r.headers().contains_key("strict-transport-security"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_form_posts_are_refused_but_authorize_accepts_them() {
    let s = server().await;
    let mobile = "+14155550151";
    user(&s, "cara", "correct horse battery", Some(mobile)).await;
    let (client_id, _) = app_with(&s, LoginFlow::default(), false).await;
    let mut b = Browser::new();

    // /authorize takes a cross-site POST (the OIDC form-post request style).
    let r = b
        .http
        .post(s.url("/authorize"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[
            ("client_id", client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "st-x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login");

    b.get(&authorize_url(&s, &client_id, &[])).await;
    let page = b.get(&s.url("/login")).await;
    let csrf = page.csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("username", "cara"),
        ("password", "correct horse battery"),
    ];
    let cookie = b.cookie.clone().unwrap();
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "null"),
    ] {
        let r = b
            .http
            .post(s.url("/login/password"))
            .header("cookie", &cookie)
            .header(name, value)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{name}: {value}");
    }
    // Without the token, or with another one: refused as well.
    let r = b
        .http
        .post(s.url("/login/password"))
        .header("cookie", &cookie)
        .form(&[("username", "cara"), ("password", "correct horse battery")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = b
        .http
        .post(s.url("/login/password"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", "forged"),
            ("username", "cara"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        s.last_text_to(mobile).await.is_none(),
        "no code went out for a refused form"
    );
    // The same form from the same origin goes through.
    let r = b
        .http
        .post(s.url("/login/password"))
        .header("cookie", &cookie)
        .header("origin", &s.base)
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(s.last_text_to(mobile).await.is_some());
    s.stop().await;
}
