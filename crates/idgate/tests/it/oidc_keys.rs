//! Signing keys: `idgate app add --signing-alg RS256` gives an application RS256 ID
//! tokens that the `openidconnect` RP verifies; `idgate keys rotate` switches to new
//! keys while the old public keys stay in the JWKS until their tokens have expired.

use std::process::{Command, Output, Stdio};
use std::str::FromStr;

use idgate_core::application::LoginFlow;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    RedirectUrl, TokenResponse,
};
use serde_json::Value;

use crate::harness::{MASTER, TestServer};
use crate::oidc::{
    Browser, REDIRECT, app_with, query_param, rp_http, server, sign_in_password_code, user,
};
use crate::oidc_flows::{PASSWORD, jwt_header};

/// Runs the `idgate` binary against the test server's database.
fn idgate(s: &TestServer, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_idgate"));
    cmd.args(args)
        .current_dir(s._dir.path())
        .env_remove("IDGATE_CONFIG")
        .env("IDGATE_DATA_DIR", s._dir.path().join("data"))
        .env("IDGATE_SECRETS__MASTER_SECRET", MASTER)
        .env("IDGATE_LOG__LEVEL", "warn")
        .stdin(Stdio::null());
    if let Some(url) = &s.db.url {
        cmd.env("IDGATE_DATABASE__URL", url);
    }
    cmd.output().expect("idgate runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn line_value(out: &str, key: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {key} in {out}"))
}

/// A full sign-in through the `openidconnect` RP; returns the verified ID token's
/// header and the raw token.
async fn rp_sign_in(
    s: &TestServer,
    client_id: &str,
    secret: &str,
    username: &str,
    mobile: &str,
    b: &mut Browser,
) -> (CoreJwsSigningAlgorithm, String) {
    let meta =
        CoreProviderMetadata::discover_async(IssuerUrl::new(s.base.clone()).unwrap(), &rp_http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(client_id.into()),
        Some(ClientSecret::new(secret.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let done = if b.cookie.is_some() {
        b.get(auth_url.as_str()).await
    } else {
        sign_in_password_code(s, b, auth_url.as_str(), username, PASSWORD, mobile).await
    };
    assert_eq!(done.status, 303, "{}", done.body);
    let code = query_param(&done.location.unwrap(), "code").unwrap();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&rp_http)
        .await
        .expect("token exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier().set_allowed_algs(vec![
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    ]);
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("ID token verified against the JWKS");
    assert_eq!(claims.auth_method_refs().unwrap().len(), 3, "pwd sms mfa");
    let alg = id_token.signing_alg().expect("alg");
    (alg.clone(), id_token.to_string())
}

/// Verifies an ID token the way a relying party starting now would: fresh discovery,
/// fresh JWKS.
async fn verify_fresh(s: &TestServer, client_id: &str, secret: &str, token: &str) {
    let meta =
        CoreProviderMetadata::discover_async(IssuerUrl::new(s.base.clone()).unwrap(), &rp_http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(client_id.into()),
        Some(ClientSecret::new(secret.into())),
    );
    let id_token = CoreIdToken::from_str(token).unwrap();
    id_token
        .claims(&client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
        .expect("verifies against the published keys");
}

async fn jwks_kids(s: &TestServer) -> Vec<String> {
    let v: Value = s
        .http
        .get(s.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_rs256_application_from_the_cli_verifies_with_the_rp() {
    let s = server().await;
    let mobile = "+14155550160";
    user(&s, "nora", PASSWORD, Some(mobile)).await;
    let o = idgate(
        &s,
        &[
            "app",
            "add",
            "--name",
            "Legacy",
            "--redirect-uri",
            REDIRECT,
            "--signing-alg",
            "RS256",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    let client_id = line_value(&out, "client_id:");
    let secret = line_value(&out, "client_secret:");
    let o = idgate(&s, &["app", "show", &client_id]);
    assert!(text(&o).contains("RS256"), "{}", text(&o));
    let o = idgate(
        &s,
        &[
            "app",
            "add",
            "--name",
            "x",
            "--redirect-uri",
            REDIRECT,
            "--signing-alg",
            "HS256",
        ],
    );
    assert!(!o.status.success(), "HS256 is refused");

    let mut b = Browser::new();
    let (alg, id_token) = rp_sign_in(&s, &client_id, &secret, "nora", mobile, &mut b).await;
    assert_eq!(alg, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256);
    assert_eq!(jwt_header(&id_token)["alg"], "RS256");

    // The default application gets ES256 from the same session.
    let (es_id, es_secret) = app_with(&s, LoginFlow::default(), false).await;
    let (alg, _) = rp_sign_in(
        &s,
        &es_id,
        es_secret.as_deref().unwrap(),
        "nora",
        mobile,
        &mut b,
    )
    .await;
    assert_eq!(alg, CoreJwsSigningAlgorithm::EcdsaP256Sha256);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_keys_rotate_keeps_old_public_keys_until_their_tokens_expire() {
    let s = server().await;
    let mobile = "+14155550161";
    user(&s, "omar", PASSWORD, Some(mobile)).await;
    let (client_id, secret) = app_with(&s, LoginFlow::default(), false).await;
    let secret = secret.unwrap();
    let mut b = Browser::new();
    let (_, old_token) = rp_sign_in(&s, &client_id, &secret, "omar", mobile, &mut b).await;
    let old_kid = jwt_header(&old_token)["kid"].as_str().unwrap().to_string();
    let before = jwks_kids(&s).await;
    assert_eq!(before.len(), 2, "one ES256 and one RS256 key: {before:?}");
    assert!(before.contains(&old_kid));

    let o = idgate(&s, &["keys", "rotate", "--keep-secs", "60"]);
    assert!(!o.status.success(), "shorter than an ID token lives");
    let o = idgate(&s, &["keys", "rotate"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("new active key: ES256"), "{}", text(&o));
    let o = idgate(&s, &["keys", "list"]);
    let listed = text(&o);
    assert_eq!(listed.matches("retired").count(), 2, "{listed}");
    assert_eq!(listed.matches("active").count(), 2, "{listed}");
    // The server re-reads its keys within its cache lifetime; make that now.
    s.state().oidc.reload().await.unwrap();

    let after = jwks_kids(&s).await;
    assert_eq!(after.len(), 4, "{after:?}");
    assert!(after.contains(&old_kid), "the old key is still published");
    // New tokens use the new key, and the RP still verifies the old and the new.
    let (_, new_token) = rp_sign_in(&s, &client_id, &secret, "omar", mobile, &mut b).await;
    let new_kid = jwt_header(&new_token)["kid"].as_str().unwrap().to_string();
    assert_ne!(new_kid, old_kid);
    assert!(after.contains(&new_kid));
    for t in [&old_token, &new_token] {
        verify_fresh(&s, &client_id, &secret, t).await;
    }

    // Once every token the old keys signed has expired, they leave the JWKS.
    // `keys rotate` dated the retirement by the real clock, a few seconds after the
    // manual clock started: step well past it.
    s.clock
        .advance(idgate::cli::keys::default_keep_secs() + 120);
    s.state().oidc.reload().await.unwrap();
    let later = jwks_kids(&s).await;
    assert_eq!(later.len(), 2, "{later:?}");
    assert!(!later.contains(&old_kid));
    assert!(later.contains(&new_kid));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_keys_rotate_keeps_old_keys_as_long_as_an_application_tokens_live() {
    let s = server().await;
    let (client_id, _) = app_with(&s, LoginFlow::default(), false).await;
    let st = s.state();
    st.store
        .set_client_token_lifetimes(
            &client_id,
            &idgate_core::application::TokenLifetimes {
                id_token: Some(7200),
                ..Default::default()
            },
            st.now(),
        )
        .await
        .unwrap();
    let o = idgate(&s, &["keys", "rotate", "--keep-secs", "4000"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("7200"), "{}", text(&o));
    let o = idgate(&s, &["keys", "rotate"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("stay in the JWKS for 7800 s"),
        "the application's 2-hour ID tokens plus the margin: {}",
        text(&o)
    );
    s.stop().await;
}
