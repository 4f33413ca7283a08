//! No user enumeration: a wrong password for a real account and any password for an
//! account that does not exist get the same answer (same status, same page). Timing is
//! a benchmark's business, not a test's: the unknown user is checked against a dummy
//! hash, which is what makes the two paths the same work.

use idgate_core::application::LoginFlow;

use crate::oidc::{Browser, Page, app_with, authorize_url, server, user};
use crate::oidc_flows::PASSWORD;

/// The page without the per-session CSRF token and the typed-back username.
fn normalised(p: &Page, username: &str) -> String {
    p.body
        .replace(&p.csrf(), "CSRF")
        .replace(&format!("value=\"{username}\""), "value=\"USER\"")
}

async fn attempt(
    s: &crate::harness::TestServer,
    client_id: &str,
    username: &str,
    password: &str,
) -> Page {
    let mut b = Browser::new();
    b.get(&authorize_url(s, client_id, &[])).await;
    let page = b.get(&s.url("/login")).await;
    b.post(
        &s.url("/login/password"),
        &[
            ("csrf", &page.csrf()),
            ("username", username),
            ("password", password),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_unknown_user_and_wrong_password_are_indistinguishable() {
    let s = server().await;
    user(&s, "kim", PASSWORD, Some("+14155550140")).await;
    let (client_id, _) = app_with(&s, LoginFlow::default(), false).await;

    let wrong = attempt(&s, &client_id, "kim", "not the password").await;
    let unknown = attempt(&s, &client_id, "kimberly", "not the password").await;
    let unknown_right_pw = attempt(&s, &client_id, "kimberly", PASSWORD).await;
    let empty = attempt(&s, &client_id, "kim", "").await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(
        wrong
            .body
            .contains("The username or password is not right."),
        "{}",
        wrong.body
    );
    for (p, name) in [
        (&unknown, "kimberly"),
        (&unknown_right_pw, "kimberly"),
        (&empty, "kim"),
    ] {
        assert_eq!(p.status, wrong.status);
        assert_eq!(p.location, wrong.location);
        assert_eq!(normalised(p, name), normalised(&wrong, "kim"));
    }
    // And the right password does get further (so the comparison above can fail).
    let right = attempt(&s, &client_id, "kim", PASSWORD).await;
    assert_eq!(right.status, 200);
    assert_ne!(normalised(&right, "kim"), normalised(&wrong, "kim"));
    s.stop().await;
}
