//! The `AuthStore` contract, run on SQLite and (with `IDGATE_TEST_DATABASE_URL`) on
//! PostgreSQL in a fresh schema — the same pattern as `contract_tests.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::sync::Arc;

use idgate_core::grant::{AuthCode, CodeRedemption, Grant, RefreshRotation, RefreshToken};
use idgate_core::login::{Factor, Journey, PendingRequest};
use idgate_core::new_id;
use idgate_core::session::Session;
use idgate_core::signing_key::{KeyStatus, SigningKeyRecord};
use idgate_core::store::{Store, StoreError};
use sqlx::AssertSqlSafe;

use crate::{PostgresStore, SqliteStore};

const NOW: i64 = 1_800_000_000;

async fn on_each_backend<F, Fut>(test: &str, body: F)
where
    F: Fn(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("idgate.db"), 8)
        .await
        .unwrap();
    sqlite.migrate().await.unwrap();
    let outcome = tokio::spawn(body(Arc::new(sqlite.clone()))).await;
    sqlite.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
    let Ok(url) = std::env::var("IDGATE_TEST_DATABASE_URL") else {
        return;
    };
    let schema = format!("idgate_test_{}", uuid::Uuid::new_v4().simple());
    let pg = PostgresStore::connect(&url, 8, Some(&schema))
        .await
        .unwrap();
    pg.migrate().await.unwrap();
    let outcome = tokio::spawn(body(Arc::new(pg.clone()))).await;
    let drop = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
    let _ = sqlx::query(AssertSqlSafe(drop)).execute(pg.pool()).await;
    pg.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
    eprintln!("contract[postgres] {test} ok");
}

fn session(secret_hash: &str) -> Session {
    Session {
        id: new_id(),
        secret_hash: secret_hash.into(),
        csrf: "csrf-token".into(),
        user_id: None,
        factors: vec![],
        auth_time: None,
        journey: Some(Journey::new(
            PendingRequest {
                client_id: "app".into(),
                redirect_uri: "https://app.example.com/cb".into(),
                scope: "openid".into(),
                nonce: Some("n-1".into()),
                ..PendingRequest::default()
            },
            NOW,
        )),
        created_at: NOW,
        updated_at: NOW,
        expires_at: NOW + 3600,
    }
}

fn grant(session_id: Option<String>) -> Grant {
    Grant {
        id: new_id(),
        client_id: "app".into(),
        user_id: Some("user-1".into()),
        session_id,
        scope: "openid profile".into(),
        factors: vec![Factor::Password, Factor::SmsOtp],
        auth_time: NOW,
        nonce: Some("n".into()),
        created_at: NOW,
        expires_at: NOW + 86400,
        revoked_at: None,
    }
}

fn code(hash: &str, grant_id: &str) -> AuthCode {
    AuthCode {
        code_hash: hash.into(),
        grant_id: grant_id.into(),
        client_id: "app".into(),
        redirect_uri: "https://app.example.com/cb".into(),
        code_challenge: Some("challenge".into()),
        created_at: NOW,
        expires_at: NOW + 60,
        used_at: None,
    }
}

fn refresh(hash: &str, grant_id: &str) -> RefreshToken {
    RefreshToken {
        token_hash: hash.into(),
        grant_id: grant_id.into(),
        created_at: NOW,
        expires_at: NOW + 3600,
        used_at: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_roundtrip_rotate_and_expire() {
    on_each_backend("sessions", |s| async move {
        let mut sess = session("h1");
        s.insert_session(&sess).await.unwrap();
        assert_eq!(s.find_session("h1", NOW).await.unwrap(), Some(sess.clone()));
        assert_eq!(s.find_session("h2", NOW).await.unwrap(), None);
        assert_eq!(
            s.find_session("h1", NOW + 3600).await.unwrap(),
            None,
            "expired"
        );

        sess.user_id = Some("user-1".into());
        sess.factors = vec![Factor::Password, Factor::WhatsappOtp];
        sess.auth_time = Some(NOW + 5);
        sess.journey = None;
        sess.updated_at = NOW + 5;
        assert!(s.update_session(&sess).await.unwrap());
        assert_eq!(s.find_session("h1", NOW).await.unwrap(), Some(sess.clone()));

        // Exactly one rotation from the same old secret wins, and it writes the rest too.
        let mut rotated = sess.clone();
        rotated.secret_hash = "h2".into();
        rotated.csrf = "csrf-2".into();
        rotated.factors = vec![Factor::Password];
        rotated.updated_at = NOW + 6;
        assert!(s.rotate_session(&rotated, "h1").await.unwrap());
        let mut loser = sess.clone();
        loser.secret_hash = "h3".into();
        assert!(!s.rotate_session(&loser, "h1").await.unwrap());
        assert_eq!(s.find_session("h1", NOW).await.unwrap(), None);
        assert_eq!(s.find_session("h3", NOW).await.unwrap(), None);
        assert_eq!(
            s.find_session("h2", NOW).await.unwrap(),
            Some(rotated.clone())
        );
        // The winner's fields stay; restore the two factors the list check expects.
        sess.secret_hash = "h2".into();
        assert!(s.update_session(&sess).await.unwrap());

        let list = s.list_user_sessions("user-1").await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].factors, vec![Factor::Password, Factor::WhatsappOtp]);

        let other = session("h9");
        s.insert_session(&other).await.unwrap();
        assert_eq!(s.sweep_sessions(NOW + 3600).await.unwrap(), 2);
        assert_eq!(s.find_session("h2", NOW).await.unwrap(), None);

        let again = session("h4");
        s.insert_session(&again).await.unwrap();
        assert!(s.delete_session(&again.id).await.unwrap());
        assert!(!s.delete_session(&again.id).await.unwrap());
        // The secret hash is unique.
        s.insert_session(&session("h5")).await.unwrap();
        assert!(matches!(
            s.insert_session(&session("h5")).await,
            Err(StoreError::Conflict(_))
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn codes_are_single_use_and_reuse_revokes_the_grant() {
    on_each_backend("codes", |s| async move {
        let g = grant(Some("sid".into()));
        s.insert_grant(&g).await.unwrap();
        assert_eq!(s.get_grant(&g.id).await.unwrap(), Some(g.clone()));
        s.insert_auth_code(&code("c1", &g.id)).await.unwrap();

        // Many redeemers at once: one wins.
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                s.redeem_auth_code("c1", NOW + 1, None).await
            }));
        }
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap().unwrap() {
                CodeRedemption::Redeemed(c) => {
                    won += 1;
                    assert_eq!(c.grant_id, g.id);
                    assert_eq!(c.code_challenge.as_deref(), Some("challenge"));
                }
                CodeRedemption::Reused(_) => {}
                CodeRedemption::Invalid => panic!("the code exists"),
            }
        }
        assert_eq!(won, 1);
        let revoked = s.get_grant(&g.id).await.unwrap().unwrap();
        assert_eq!(revoked.revoked_at, Some(NOW + 1), "reuse revoked the grant");
        assert!(!revoked.is_active(NOW + 1));

        // Expired and unknown codes are invalid (and revoke nothing).
        let g2 = grant(None);
        s.insert_grant(&g2).await.unwrap();
        s.insert_auth_code(&code("c2", &g2.id)).await.unwrap();
        assert_eq!(
            s.redeem_auth_code("c2", NOW + 60, None).await.unwrap(),
            CodeRedemption::Invalid
        );
        assert_eq!(
            s.redeem_auth_code("nope", NOW, None).await.unwrap(),
            CodeRedemption::Invalid
        );
        assert!(s.get_grant(&g2.id).await.unwrap().unwrap().is_active(NOW));

        // Logout revokes the session's grants.
        let g3 = grant(Some("sid-2".into()));
        s.insert_grant(&g3).await.unwrap();
        assert_eq!(s.revoke_session_grants("sid-2", NOW).await.unwrap(), 1);
        assert!(
            !s.revoke_grant(&g3.id, NOW).await.unwrap(),
            "already revoked"
        );
        assert!(s.revoke_grant(&g2.id, NOW).await.unwrap());

        assert!(s.sweep_grants(NOW + 86400).await.unwrap() >= 5);
        assert_eq!(s.get_grant(&g.id).await.unwrap(), None);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redemption_stores_its_first_refresh_token_only_when_it_wins() {
    on_each_backend("first_refresh", |s| async move {
        let g = grant(Some("sid-fr".into()));
        s.insert_grant(&g).await.unwrap();
        s.insert_auth_code(&code("fr1", &g.id)).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..6 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let hash = format!("first-{i}");
                let r = s.redeem_auth_code("fr1", NOW + 1, Some(&hash)).await;
                (hash, r)
            }));
        }
        let mut winner = None;
        for t in tasks {
            let (hash, r) = t.await.unwrap();
            match r.unwrap() {
                CodeRedemption::Redeemed(c) => {
                    assert_eq!(c.grant_id, g.id);
                    assert!(winner.replace(hash).is_none(), "one winner");
                }
                CodeRedemption::Reused(_) => {
                    assert_eq!(s.refresh_token_grant(&hash).await.unwrap(), None, "{hash}");
                }
                CodeRedemption::Invalid => panic!("the code exists"),
            }
        }
        let winner = winner.expect("one redeemer won");
        assert_eq!(
            s.refresh_token_grant(&winner).await.unwrap(),
            Some(g.id.clone())
        );
        // It expires with its grant: unusable at the grant's expiry, usable before.
        let next = refresh("after-first", "ignored");
        assert_eq!(
            s.rotate_refresh_token(&winner, &next, g.expires_at)
                .await
                .unwrap(),
            RefreshRotation::Invalid
        );
        assert_eq!(
            s.rotate_refresh_token(&winner, &next, NOW + 2)
                .await
                .unwrap(),
            RefreshRotation::Rotated(g.id.clone())
        );

        // An invalid code stores nothing.
        assert_eq!(
            s.redeem_auth_code("no-such-code", NOW, Some("first-x"))
                .await
                .unwrap(),
            CodeRedemption::Invalid
        );
        assert_eq!(s.refresh_token_grant("first-x").await.unwrap(), None);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_grant_and_its_code_are_stored_together_or_not_at_all() {
    on_each_backend("grant_code", |s| async move {
        let g = grant(Some("sid".into()));
        s.insert_grant_with_code(&g, &code("gc1", &g.id))
            .await
            .unwrap();
        assert_eq!(s.get_grant(&g.id).await.unwrap(), Some(g.clone()));
        match s.redeem_auth_code("gc1", NOW + 1, None).await.unwrap() {
            CodeRedemption::Redeemed(c) => assert_eq!(c.grant_id, g.id),
            other => panic!("the code was stored with its grant: {other:?}"),
        }
        // A code hash already taken: the whole write fails, the new grant with it, and
        // the writer is usable afterwards (no transaction left open).
        let g2 = grant(None);
        assert!(matches!(
            s.insert_grant_with_code(&g2, &code("gc1", &g2.id)).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.get_grant(&g2.id).await.unwrap(), None);
        let g3 = grant(None);
        s.insert_grant_with_code(&g3, &code("gc3", &g3.id))
            .await
            .unwrap();
        assert!(s.get_grant(&g3.id).await.unwrap().is_some());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redeemed_code_outlives_its_expiry_until_its_grant_expires() {
    on_each_backend("code tombstones", |s| async move {
        let g = grant(None);
        s.insert_grant(&g).await.unwrap();
        s.insert_auth_code(&code("kept", &g.id)).await.unwrap();
        assert!(matches!(
            s.redeem_auth_code("kept", NOW + 1, None).await.unwrap(),
            CodeRedemption::Redeemed(_)
        ));
        // An unredeemed code next to it goes at its expiry.
        let g2 = grant(None);
        s.insert_grant(&g2).await.unwrap();
        s.insert_auth_code(&code("unused", &g2.id)).await.unwrap();

        // Long after the codes' expiry (NOW + 60) the sweeper runs: the unredeemed code
        // goes, the redeemed one stays as long as its grant (NOW + 86400) lives.
        assert_eq!(s.sweep_grants(NOW + 3600).await.unwrap(), 1);
        assert_eq!(
            s.redeem_auth_code("unused", NOW + 3600, None)
                .await
                .unwrap(),
            CodeRedemption::Invalid
        );
        // So a late replay still revokes what the code issued.
        match s.redeem_auth_code("kept", NOW + 3601, None).await.unwrap() {
            CodeRedemption::Reused(c) => assert_eq!(c.grant_id, g.id),
            other => panic!("a replay after the sweep must be seen: {other:?}"),
        }
        let revoked = s.get_grant(&g.id).await.unwrap().unwrap();
        assert_eq!(revoked.revoked_at, Some(NOW + 3601));
        assert!(s.get_grant(&g2.id).await.unwrap().unwrap().is_active(NOW));

        // With the grant's expiry the tombstone goes too (code and both grants).
        assert_eq!(s.sweep_grants(NOW + 86400).await.unwrap(), 3);
        assert_eq!(
            s.redeem_auth_code("kept", NOW + 86400, None).await.unwrap(),
            CodeRedemption::Invalid
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refresh_tokens_rotate_once_and_replay_revokes() {
    on_each_backend("refresh", |s| async move {
        let g = grant(None);
        s.insert_grant(&g).await.unwrap();
        s.insert_refresh_token(&refresh("r1", &g.id)).await.unwrap();
        assert_eq!(
            s.refresh_token_grant("r1").await.unwrap(),
            Some(g.id.clone())
        );

        let mut tasks = Vec::new();
        for i in 0..6 {
            let s = s.clone();
            let next = refresh(&format!("r2-{i}"), "ignored");
            tasks.push(tokio::spawn(async move {
                s.rotate_refresh_token("r1", &next, NOW + 1).await
            }));
        }
        let mut rotated = 0;
        for t in tasks {
            match t.await.unwrap().unwrap() {
                RefreshRotation::Rotated(gid) => {
                    rotated += 1;
                    assert_eq!(gid, g.id);
                }
                RefreshRotation::Reused(gid) => assert_eq!(gid, g.id),
                RefreshRotation::Invalid => panic!("r1 exists"),
            }
        }
        assert_eq!(rotated, 1);
        // The replays revoked the grant.
        assert!(
            !s.get_grant(&g.id)
                .await
                .unwrap()
                .unwrap()
                .is_active(NOW + 1)
        );

        // A clean rotation chain on another grant keeps it active; the new token carries
        // the old token's grant id.
        let g2 = grant(None);
        s.insert_grant(&g2).await.unwrap();
        s.insert_refresh_token(&refresh("a", &g2.id)).await.unwrap();
        assert_eq!(
            s.rotate_refresh_token("a", &refresh("b", "x"), NOW)
                .await
                .unwrap(),
            RefreshRotation::Rotated(g2.id.clone())
        );
        assert_eq!(
            s.refresh_token_grant("b").await.unwrap(),
            Some(g2.id.clone())
        );
        assert_eq!(
            s.rotate_refresh_token("b", &refresh("c", "x"), NOW + 3600)
                .await
                .unwrap(),
            RefreshRotation::Invalid,
            "expired"
        );
        assert_eq!(
            s.rotate_refresh_token("zz", &refresh("d", "x"), NOW)
                .await
                .unwrap(),
            RefreshRotation::Invalid
        );
        assert!(s.get_grant(&g2.id).await.unwrap().unwrap().is_active(NOW));
    })
    .await;
}

fn key(kid: &str, alg: &str, created_at: i64) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.into(),
        alg: alg.into(),
        private_key_enc: vec![1, 2, 3],
        public_jwk: format!("{{\"kid\":\"{kid}\"}}"),
        status: KeyStatus::Active,
        created_at,
        retire_until: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn signing_keys_one_active_per_alg_and_rotation() {
    on_each_backend("signing_keys", |s| async move {
        assert!(s.list_signing_keys(NOW).await.unwrap().is_empty());
        s.insert_signing_key(&key("k1", "ES256", NOW))
            .await
            .unwrap();
        s.insert_signing_key(&key("r1", "RS256", NOW))
            .await
            .unwrap();
        assert!(matches!(
            s.insert_signing_key(&key("k1b", "ES256", NOW)).await,
            Err(StoreError::Conflict(_))
        ));
        s.rotate_signing_key(&key("k2", "ES256", NOW + 10), NOW + 100)
            .await
            .unwrap();
        let keys = s.list_signing_keys(NOW + 10).await.unwrap();
        let kids: Vec<_> = keys.iter().map(|k| (k.kid.as_str(), k.status)).collect();
        assert!(kids.contains(&("k2", KeyStatus::Active)));
        assert!(kids.contains(&("k1", KeyStatus::Retired)));
        assert!(kids.contains(&("r1", KeyStatus::Active)));
        assert_eq!(keys[0].kid, "k2", "newest first");
        // Retired keys leave the list once their time is up.
        let later: Vec<_> = s
            .list_signing_keys(NOW + 100)
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert!(!later.contains(&"k1".to_string()));
        assert_eq!(s.retire_signing_keys("RS256", NOW + 5).await.unwrap(), 1);

        assert_eq!(s.get_client_signing_alg("app").await.unwrap(), None);
        s.set_client_signing_alg("app", Some("RS256"), NOW)
            .await
            .unwrap();
        assert_eq!(
            s.get_client_signing_alg("app").await.unwrap().as_deref(),
            Some("RS256")
        );
        s.set_client_signing_alg("app", None, NOW).await.unwrap();
        assert_eq!(s.get_client_signing_alg("app").await.unwrap(), None);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn client_oidc_settings_token_lifetimes() {
    use idgate_core::application::{Application, ClientOidcSettings, LoginFlow, TokenLifetimes};
    on_each_backend("client_oidc_settings", |s| async move {
        let app = |client_id: &str| Application {
            id: new_id(),
            client_id: client_id.into(),
            client_secret_hash: None,
            name: client_id.into(),
            redirect_uris: vec!["https://a.example/cb".into()],
            post_logout_redirect_uris: vec![],
            login_flow: LoginFlow::default(),
            otp_policy: None,
            created_at: NOW,
            updated_at: NOW,
        };
        s.create_application(&app("a")).await.unwrap();
        s.create_application(&app("b")).await.unwrap();
        assert_eq!(
            s.get_client_oidc_settings("a").await.unwrap(),
            ClientOidcSettings::default()
        );
        assert_eq!(
            s.max_client_token_lifetimes().await.unwrap(),
            TokenLifetimes::default()
        );

        // Lifetimes and the signing algorithm share a row without clobbering each other.
        s.set_client_signing_alg("a", Some("RS256"), NOW)
            .await
            .unwrap();
        let la = TokenLifetimes {
            access_token: Some(120),
            id_token: Some(7200),
            refresh_token: None,
            authorization_code: Some(30),
        };
        s.set_client_token_lifetimes("a", &la, NOW).await.unwrap();
        let got = s.get_client_oidc_settings("a").await.unwrap();
        assert_eq!(got.signing_alg.as_deref(), Some("RS256"));
        assert_eq!(got.token_lifetimes, la);
        s.set_client_signing_alg("a", None, NOW + 1).await.unwrap();
        assert_eq!(
            s.get_client_oidc_settings("a")
                .await
                .unwrap()
                .token_lifetimes,
            la
        );
        // A row created by the lifetimes alone has no algorithm.
        let lb = TokenLifetimes {
            access_token: Some(3600),
            id_token: Some(600),
            refresh_token: Some(86_400),
            authorization_code: None,
        };
        s.set_client_token_lifetimes("b", &lb, NOW).await.unwrap();
        assert_eq!(s.get_client_signing_alg("b").await.unwrap(), None);

        assert_eq!(
            s.max_client_token_lifetimes().await.unwrap(),
            TokenLifetimes {
                access_token: Some(3600),
                id_token: Some(7200),
                refresh_token: Some(86_400),
                authorization_code: Some(30),
            }
        );
        // A deleted application's overrides no longer count.
        assert!(s.delete_application("a").await.unwrap());
        assert_eq!(
            s.max_client_token_lifetimes().await.unwrap().id_token,
            Some(600)
        );
        // Clearing returns to the defaults.
        s.set_client_token_lifetimes("b", &TokenLifetimes::default(), NOW)
            .await
            .unwrap();
        assert!(
            s.get_client_oidc_settings("b")
                .await
                .unwrap()
                .token_lifetimes
                .is_empty()
        );
    })
    .await;
}
