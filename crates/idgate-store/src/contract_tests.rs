//! The contract every `Store` backend keeps, written once and run on each backend:
//! always on a SQLite file, and on PostgreSQL (a fresh schema per test) when
//! `IDGATE_TEST_DATABASE_URL` is set, e.g. `postgres://postgres@127.0.0.1:5432/test`.
//!
//! Each PostgreSQL run prints `contract[postgres] <test> ok` to stderr, so a CI script
//! can check with `--nocapture` that PostgreSQL really ran.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use idgate_core::admin_token::AdminToken;
use idgate_core::application::{Application, FirstFactor, LoginFlow, SecondFactor};
use idgate_core::audit::AuditEvent;
use idgate_core::message::{DeliveryStatus, MessageRecord};
use idgate_core::new_id;
use idgate_core::otp::{Channel, OtpPolicy, Purpose, Verification, VerificationStatus};
use idgate_core::phone::PhoneNumber;
use idgate_core::store::{MessageFilter, Page, Resend, Store, StoreError};
use idgate_core::user::{NewUser, UserStatus, Username};
use serde_json::json;
use sqlx::AssertSqlSafe;

use crate::{PostgresStore, SqliteStore};

const PG_URL_VAR: &str = "IDGATE_TEST_DATABASE_URL";
const NOW: i64 = 1_800_000_000;

/// A store plus raw access to its pool, for planting rows the API would refuse.
#[derive(Clone)]
struct Fixture {
    store: Arc<dyn Store>,
    raw: Raw,
}

#[derive(Clone)]
enum Raw {
    Sqlite(crate::sqlite_lanes::Lanes),
    Postgres(sqlx::PgPool),
}

impl Raw {
    /// Runs `sql` with one text parameter `$1`.
    async fn exec(&self, sql: &'static str, arg: &str) {
        match self {
            Raw::Sqlite(p) => sqlx::query(sql).bind(arg).execute(p).await.map(|_| ()),
            Raw::Postgres(p) => sqlx::query(sql).bind(arg).execute(p).await.map(|_| ()),
        }
        .unwrap();
    }
}

/// Runs `body` on SQLite, then on PostgreSQL if configured. A panic in the body is
/// re-raised after the backend is cleaned up.
async fn on_each_backend<F, Fut>(test: &str, body: F)
where
    F: Fn(Fixture) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("idgate.db"), 8)
        .await
        .unwrap();
    sqlite.migrate().await.unwrap();
    // A re-run applies nothing and succeeds; the trait method runs the same migrations.
    Store::migrate(&sqlite).await.unwrap();
    let fixture = Fixture {
        store: Arc::new(sqlite.clone()),
        raw: Raw::Sqlite(sqlite.raw_writer().clone()),
    };
    let outcome = tokio::spawn(body(fixture)).await;
    sqlite.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }

    let Ok(url) = std::env::var(PG_URL_VAR) else {
        return;
    };
    let schema = format!("idgate_test_{}", uuid::Uuid::new_v4().simple());
    let pg = PostgresStore::connect(&url, 8, Some(&schema))
        .await
        .unwrap();
    pg.migrate().await.unwrap();
    Store::migrate(&pg).await.unwrap();
    let fixture = Fixture {
        store: Arc::new(pg.clone()),
        raw: Raw::Postgres(pg.pool().clone()),
    };
    let outcome = tokio::spawn(body(fixture)).await;
    // Best effort: a leftover schema only costs space in a test database.
    let drop = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
    let _ = sqlx::query(AssertSqlSafe(drop)).execute(pg.pool()).await;
    pg.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
    eprintln!("contract[postgres] {test} ok");
}

fn new_user(name: &str) -> NewUser {
    NewUser {
        username: Username::parse(name).unwrap(),
        password_hash: Some("$argon2id$v=19$hash".into()),
        mobile: Some(PhoneNumber::parse("+14155550100", None).unwrap()),
        mobile_verified: true,
        display_name: Some(format!("{name} display")),
        locale: Some("en".into()),
        is_admin: false,
    }
}

fn application(client_id: &str) -> Application {
    Application {
        id: new_id(),
        client_id: client_id.into(),
        client_secret_hash: Some("secret-hmac".into()),
        name: format!("App {client_id}"),
        redirect_uris: vec!["https://app.example.com/cb".into()],
        post_logout_redirect_uris: vec![],
        login_flow: LoginFlow::default(),
        otp_policy: None,
        created_at: NOW,
        updated_at: NOW,
    }
}

fn verification(max_attempts: u32) -> Verification {
    Verification {
        id: new_id(),
        application_id: Some("app".into()),
        user_id: Some(new_id()),
        purpose: Purpose::Login,
        channel: Channel::Sms,
        destination: "+14155550100".into(),
        code_hmac: vec![7; 32],
        code_ciphertext: Some(vec![9; 40]),
        status: VerificationStatus::Pending,
        attempts: 0,
        max_attempts,
        resends: 0,
        max_resends: 2,
        resend_cooldown: 30,
        created_at: NOW,
        updated_at: NOW,
        expires_at: NOW + 300,
        last_sent_at: NOW,
        finished_at: None,
    }
}

fn message(created_at: i64, status: DeliveryStatus, channel: Channel) -> MessageRecord {
    MessageRecord {
        id: new_id(),
        verification_id: None,
        channel,
        provider: "d7-sms".into(),
        to_masked: "+1415•••••00".into(),
        body_redacted: "Your code is ******".into(),
        status,
        provider_message_id: Some("pm-1".into()),
        error: None,
        attempts: 1,
        latency_ms: Some(120),
        created_at,
        updated_at: created_at,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn users_crud_and_case_insensitive_uniqueness() {
    on_each_backend("users", |f| async move {
        let s = f.store;
        assert!(s.ping().await.is_ok());
        let alice = s.create_user(&new_user("alice"), NOW).await.unwrap();
        assert_eq!(alice.status, UserStatus::Active);
        assert_eq!(alice.created_at, NOW);
        assert_eq!(s.get_user(&alice.id).await.unwrap(), Some(alice.clone()));
        assert_eq!(
            s.find_user_by_username("ALICE").await.unwrap(),
            Some(alice.clone())
        );
        assert_eq!(s.find_user_by_username("bob").await.unwrap(), None);
        assert_eq!(s.get_user("nope").await.unwrap(), None);

        match s.create_user(&new_user("Alice"), NOW).await {
            Err(StoreError::Conflict(what)) => assert_eq!(what, "user \"Alice\""),
            other => panic!("expected a conflict, got {other:?}"),
        }

        // Update writes every mutable field.
        let mut changed = alice.clone();
        changed.username = "Alice.Smith".into();
        changed.password_hash = None;
        changed.mobile = None;
        changed.mobile_verified = false;
        changed.display_name = None;
        changed.locale = Some("si".into());
        changed.status = UserStatus::Locked;
        changed.locked_until = Some(NOW + 60);
        changed.is_admin = true;
        changed.updated_at = NOW + 5;
        s.update_user(&changed).await.unwrap();
        assert_eq!(s.get_user(&alice.id).await.unwrap(), Some(changed.clone()));
        assert_eq!(
            s.find_user_by_username("alice.smith").await.unwrap(),
            Some(changed.clone())
        );
        assert_eq!(s.find_user_by_username("alice").await.unwrap(), None);

        let mut ghost = changed.clone();
        ghost.id = new_id();
        ghost.username = "ghost".into();
        assert!(matches!(
            s.update_user(&ghost).await,
            Err(StoreError::NotFound(_))
        ));

        // Renaming onto another user's name (in any case) conflicts.
        let bob = s.create_user(&new_user("bob"), NOW).await.unwrap();
        let mut clash = bob.clone();
        clash.username = "ALICE.smith".into();
        assert!(matches!(
            s.update_user(&clash).await,
            Err(StoreError::Conflict(_))
        ));

        assert!(s.delete_user(&bob.id).await.unwrap());
        assert!(!s.delete_user(&bob.id).await.unwrap());
        assert_eq!(s.get_user(&bob.id).await.unwrap(), None);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn users_list_in_key_order_with_keyset_pages() {
    on_each_backend("users_list", |f| async move {
        let s = f.store;
        for name in ["delta", "Alpha", "charlie", "Bravo", "echo"] {
            s.create_user(&new_user(name), NOW).await.unwrap();
        }
        let names = |users: Vec<idgate_core::user::User>| {
            users.into_iter().map(|u| u.username).collect::<Vec<_>>()
        };
        let all = s.list_users(&Page::default()).await.unwrap();
        assert_eq!(names(all), ["Alpha", "Bravo", "charlie", "delta", "echo"]);

        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = s
                .list_users(&Page {
                    limit: 2,
                    after: after.clone(),
                })
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 2);
            after = page
                .last()
                .map(|u| idgate_core::user::username_key(&u.username));
            seen.extend(names(page));
        }
        assert_eq!(seen, ["Alpha", "Bravo", "charlie", "delta", "echo"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn applications_crud_and_unique_client_id() {
    on_each_backend("applications", |f| async move {
        let s = f.store;
        let shop = application("shop");
        s.create_application(&shop).await.unwrap();
        assert_eq!(s.get_application("shop").await.unwrap(), Some(shop.clone()));
        assert_eq!(s.get_application("nope").await.unwrap(), None);

        match s.create_application(&application("shop")).await {
            Err(StoreError::Conflict(what)) => assert_eq!(what, "application \"shop\""),
            other => panic!("expected a conflict, got {other:?}"),
        }

        let mut changed = shop.clone();
        changed.client_secret_hash = None;
        changed.name = "Shop 2".into();
        changed.redirect_uris = vec!["https://a.example/cb".into(), "com.example.app://cb".into()];
        changed.post_logout_redirect_uris = vec!["https://a.example/bye".into()];
        changed.login_flow = LoginFlow {
            first: FirstFactor::SmsOtp,
            second: vec![SecondFactor::WhatsappOtp, SecondFactor::SmsOtp],
            ..LoginFlow::default()
        };
        changed.otp_policy = Some(OtpPolicy {
            length: 8,
            ..OtpPolicy::default()
        });
        changed.updated_at = NOW + 1;
        s.update_application(&changed).await.unwrap();
        assert_eq!(
            s.get_application("shop").await.unwrap(),
            Some(changed.clone())
        );

        let mut ghost = application("ghost");
        ghost.name = "ghost".into();
        assert!(matches!(
            s.update_application(&ghost).await,
            Err(StoreError::NotFound(_))
        ));

        for id in ["crm", "blog", "wiki"] {
            s.create_application(&application(id)).await.unwrap();
        }
        let first = s
            .list_applications(&Page {
                limit: 2,
                after: None,
            })
            .await
            .unwrap();
        let ids: Vec<_> = first.iter().map(|a| a.client_id.as_str()).collect();
        assert_eq!(ids, ["blog", "crm"]);
        let rest = s
            .list_applications(&Page {
                limit: 10,
                after: Some("crm".into()),
            })
            .await
            .unwrap();
        let ids: Vec<_> = rest.iter().map(|a| a.client_id.as_str()).collect();
        assert_eq!(ids, ["shop", "wiki"]);

        assert!(s.delete_application("shop").await.unwrap());
        assert!(!s.delete_application("shop").await.unwrap());
        assert_eq!(s.get_application("shop").await.unwrap(), None);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admin_tokens_create_find_revoke() {
    on_each_backend("admin_tokens", |f| async move {
        let s = f.store;
        let token = |name: &str, hash: &str, at: i64| AdminToken {
            id: new_id(),
            name: name.into(),
            token_hash: hash.into(),
            created_at: at,
            expires_at: Some(at + 3600),
            last_used_at: None,
            revoked_at: None,
        };
        let ci = token("ci", "hash-ci", NOW);
        let ops = token("ops", "hash-ops", NOW + 1);
        s.create_admin_token(&ci).await.unwrap();
        s.create_admin_token(&ops).await.unwrap();
        // Names may repeat; hashes may not.
        s.create_admin_token(&token("ci", "hash-ci-2", NOW + 2))
            .await
            .unwrap();
        assert!(matches!(
            s.create_admin_token(&token("other", "hash-ci", NOW)).await,
            Err(StoreError::Conflict(_))
        ));

        assert_eq!(
            s.find_admin_token("hash-ops").await.unwrap(),
            Some(ops.clone())
        );
        assert_eq!(s.find_admin_token("nope").await.unwrap(), None);
        let listed = s.list_admin_tokens().await.unwrap();
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[0], ci);

        // By name: revokes every active token of that name.
        assert!(s.revoke_admin_token("ci", NOW + 10).await.unwrap());
        assert!(!s.revoke_admin_token("ci", NOW + 11).await.unwrap());
        let revoked = s.find_admin_token("hash-ci").await.unwrap().unwrap();
        assert_eq!(revoked.revoked_at, Some(NOW + 10));
        assert!(!revoked.is_usable(NOW + 10));
        let again = s.find_admin_token("hash-ci-2").await.unwrap().unwrap();
        assert_eq!(again.revoked_at, Some(NOW + 10));

        // By id.
        assert!(s.revoke_admin_token(&ops.id, NOW + 20).await.unwrap());
        assert!(!s.revoke_admin_token(&ops.id, NOW + 21).await.unwrap());
        assert_eq!(
            s.find_admin_token("hash-ops")
                .await
                .unwrap()
                .unwrap()
                .revoked_at,
            Some(NOW + 20)
        );
        assert!(!s.revoke_admin_token("unknown", NOW).await.unwrap());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn settings_upsert() {
    on_each_backend("settings", |f| async move {
        let s = f.store;
        assert_eq!(s.get_setting("otp.policy").await.unwrap(), None);
        let v1 = json!({"length": 6, "channels": ["sms"], "nested": {"a": null}});
        s.put_setting("otp.policy", &v1, NOW).await.unwrap();
        assert_eq!(s.get_setting("otp.policy").await.unwrap(), Some(v1));
        let v2 = json!("just a string");
        s.put_setting("otp.policy", &v2, NOW + 1).await.unwrap();
        assert_eq!(s.get_setting("otp.policy").await.unwrap(), Some(v2));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verification_lifecycle() {
    on_each_backend("verification_lifecycle", |f| async move {
        let s = f.store;
        let v = verification(3);
        s.insert_verification(&v, "+1415•••••00").await.unwrap();
        assert_eq!(s.get_verification(&v.id).await.unwrap(), Some(v.clone()));
        assert!(matches!(
            s.insert_verification(&v, "x").await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.get_verification("nope").await.unwrap(), None);

        let wrong = s
            .record_failed_attempt(&v.id, NOW + 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(wrong.attempts, 1);
        assert_eq!(wrong.status, VerificationStatus::Pending);

        // A wrong HMAC does not approve.
        assert!(
            !s.approve_verification(&v.id, &[0; 32], NOW + 2)
                .await
                .unwrap()
        );
        assert!(
            s.approve_verification(&v.id, &v.code_hmac, NOW + 2)
                .await
                .unwrap()
        );
        let done = s.get_verification(&v.id).await.unwrap().unwrap();
        assert_eq!(done.status, VerificationStatus::Approved);
        assert_eq!(done.finished_at, Some(NOW + 2));
        assert_eq!(done.updated_at, NOW + 2);
        assert_eq!(done.attempts, 1);
        // Nothing moves a finished verification.
        assert!(
            !s.approve_verification(&v.id, &v.code_hmac, NOW + 3)
                .await
                .unwrap()
        );
        assert_eq!(s.record_failed_attempt(&v.id, NOW + 3).await.unwrap(), None);
        assert!(
            !s.finish_verification(&v.id, VerificationStatus::Canceled, NOW + 3)
                .await
                .unwrap()
        );

        let c = verification(3);
        s.insert_verification(&c, "+1415•••••00").await.unwrap();
        // A fallback channel that carried the code is recorded; an unknown id is not.
        assert!(
            s.set_verification_channel(&c.id, Channel::Whatsapp, NOW + 4)
                .await
                .unwrap()
        );
        assert_eq!(
            s.get_verification(&c.id).await.unwrap().unwrap().channel,
            Channel::Whatsapp
        );
        assert!(
            !s.set_verification_channel("no-such-id", Channel::Sms, NOW + 4)
                .await
                .unwrap()
        );
        assert!(
            !s.finish_verification(&c.id, VerificationStatus::Pending, NOW + 4)
                .await
                .unwrap()
        );
        assert!(
            s.finish_verification(&c.id, VerificationStatus::Canceled, NOW + 4)
                .await
                .unwrap()
        );
        assert!(
            !s.finish_verification(&c.id, VerificationStatus::Failed, NOW + 5)
                .await
                .unwrap()
        );
        let canceled = s.get_verification(&c.id).await.unwrap().unwrap();
        assert_eq!(canceled.status, VerificationStatus::Canceled);
        assert_eq!(canceled.finished_at, Some(NOW + 4));
        assert!(
            !s.approve_verification(&c.id, &c.code_hmac, NOW + 5)
                .await
                .unwrap()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_approvals_approve_once() {
    on_each_backend("concurrent_approvals", |f| async move {
        let s = f.store;
        let v = verification(5);
        s.insert_verification(&v, "+1415•••••00").await.unwrap();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let s = s.clone();
                let (id, hmac) = (v.id.clone(), v.code_hmac.clone());
                tokio::spawn(async move { s.approve_verification(&id, &hmac, NOW + 1).await })
            })
            .collect();
        let mut approved = 0;
        for t in tasks {
            if t.await.unwrap().unwrap() {
                approved += 1;
            }
        }
        assert_eq!(approved, 1);
        let done = s.get_verification(&v.id).await.unwrap().unwrap();
        assert_eq!(done.status, VerificationStatus::Approved);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_codes_never_exceed_max_attempts() {
    on_each_backend("concurrent_wrong_codes", |f| async move {
        let s = f.store;
        let v = verification(5);
        s.insert_verification(&v, "+1415•••••00").await.unwrap();
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let s = s.clone();
                let id = v.id.clone();
                tokio::spawn(async move { s.record_failed_attempt(&id, NOW + 1).await })
            })
            .collect();
        let mut counted = Vec::new();
        for t in tasks {
            if let Some(fa) = t.await.unwrap().unwrap() {
                counted.push(fa);
            }
        }
        assert_eq!(counted.len(), 5);
        let attempts: HashSet<u32> = counted.iter().map(|fa| fa.attempts).collect();
        assert_eq!(attempts, (1..=5).collect());
        let last: Vec<_> = counted
            .iter()
            .filter(|fa| fa.status == VerificationStatus::MaxAttemptsReached)
            .collect();
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].attempts, 5);

        let after = s.get_verification(&v.id).await.unwrap().unwrap();
        assert_eq!(after.attempts, 5);
        assert_eq!(after.status, VerificationStatus::MaxAttemptsReached);
        assert_eq!(after.finished_at, Some(NOW + 1));
        assert!(
            !s.approve_verification(&v.id, &v.code_hmac, NOW + 2)
                .await
                .unwrap()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expired_codes_are_refused() {
    on_each_backend("expired_codes", |f| async move {
        let s = f.store;
        let v = verification(5);
        s.insert_verification(&v, "+1415•••••00").await.unwrap();
        let late = v.expires_at;
        assert!(
            !s.approve_verification(&v.id, &v.code_hmac, late)
                .await
                .unwrap()
        );
        assert_eq!(
            s.record_failed_attempt(&v.id, late + 1).await.unwrap(),
            None
        );
        let resend = Resend {
            code_hmac: None,
            code_ciphertext: None,
            expires_at: late + 300,
        };
        assert!(!s.apply_resend(&v.id, &resend, late + 1).await.unwrap());
        // Still pending in the row (the sweeper writes `expired`), but effectively expired.
        let row = s.get_verification(&v.id).await.unwrap().unwrap();
        assert_eq!(row.status, VerificationStatus::Pending);
        assert_eq!(row.effective_status(late), VerificationStatus::Expired);
        assert!(
            s.approve_verification(&v.id, &v.code_hmac, late - 1)
                .await
                .unwrap()
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resends_respect_cooldown_and_limit_and_replace_the_code() {
    on_each_backend("resends", |f| async move {
        let s = f.store;
        let v = verification(5); // cooldown 30 s, 2 resends
        s.insert_verification(&v, "+1415•••••00").await.unwrap();
        let fresh = |byte: u8, expires_at| Resend {
            code_hmac: Some(vec![byte; 32]),
            code_ciphertext: Some(vec![byte; 40]),
            expires_at,
        };

        // Inside the cooldown: refused, nothing changes.
        assert!(
            !s.apply_resend(&v.id, &fresh(1, NOW + 329), NOW + 29)
                .await
                .unwrap()
        );
        assert_eq!(s.get_verification(&v.id).await.unwrap(), Some(v.clone()));

        assert!(
            s.apply_resend(&v.id, &fresh(1, NOW + 330), NOW + 30)
                .await
                .unwrap()
        );
        let r1 = s.get_verification(&v.id).await.unwrap().unwrap();
        assert_eq!(r1.resends, 1);
        assert_eq!(r1.last_sent_at, NOW + 30);
        assert_eq!(r1.expires_at, NOW + 330);
        assert_eq!(r1.updated_at, NOW + 30);
        assert_eq!(r1.code_hmac, vec![1; 32]);
        assert_eq!(r1.code_ciphertext, Some(vec![1; 40]));
        // The old code is dead.
        assert!(
            !s.approve_verification(&v.id, &v.code_hmac, NOW + 31)
                .await
                .unwrap()
        );

        // Same-code resend keeps HMAC and ciphertext.
        let same = Resend {
            code_hmac: None,
            code_ciphertext: None,
            expires_at: NOW + 400,
        };
        assert!(!s.apply_resend(&v.id, &same, NOW + 59).await.unwrap());
        assert!(s.apply_resend(&v.id, &same, NOW + 60).await.unwrap());
        let r2 = s.get_verification(&v.id).await.unwrap().unwrap();
        assert_eq!(r2.resends, 2);
        assert_eq!(r2.expires_at, NOW + 400);
        assert_eq!(r2.code_hmac, vec![1; 32]);
        assert_eq!(r2.code_ciphertext, Some(vec![1; 40]));

        // Resends used up.
        assert!(
            !s.apply_resend(&v.id, &fresh(2, NOW + 500), NOW + 200)
                .await
                .unwrap()
        );
        assert_eq!(s.get_verification(&v.id).await.unwrap(), Some(r2.clone()));

        assert!(
            s.approve_verification(&v.id, &[1; 32], NOW + 201)
                .await
                .unwrap()
        );
        // Not pending any more: no resend.
        assert!(!s.apply_resend(&v.id, &same, NOW + 300).await.unwrap());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sweep_expires_and_purges_without_code_material() {
    on_each_backend("sweep", |f| async move {
        let s = f.store;
        // Pending, expired at NOW + 300.
        let stale = verification(5);
        s.insert_verification(&stale, "+1415•••••00").await.unwrap();
        // Approved at NOW + 10.
        let old = Verification {
            channel: Channel::Whatsapp,
            ..verification(5)
        };
        s.insert_verification(&old, "+1415•••••01").await.unwrap();
        assert!(
            s.approve_verification(&old.id, &old.code_hmac, NOW + 10)
                .await
                .unwrap()
        );
        // Pending and still valid.
        let live = Verification {
            expires_at: NOW + 10_000,
            ..verification(5)
        };
        s.insert_verification(&live, "+1415•••••02").await.unwrap();

        // First sweep: expires `stale`; purges what finished before NOW + 100 (`old`).
        let (expired, purged) = s.sweep_verifications(NOW + 1000, NOW + 100).await.unwrap();
        assert_eq!((expired, purged), (1, 1));
        let stale_row = s.get_verification(&stale.id).await.unwrap().unwrap();
        assert_eq!(stale_row.status, VerificationStatus::Expired);
        assert_eq!(stale_row.finished_at, Some(stale.expires_at));
        assert_eq!(s.get_verification(&old.id).await.unwrap(), None);
        assert!(s.get_verification(&live.id).await.unwrap().is_some());

        // Second sweep purges `stale` (finished at NOW + 300).
        let (expired, purged) = s.sweep_verifications(NOW + 1000, NOW + 1000).await.unwrap();
        assert_eq!((expired, purged), (0, 1));
        assert_eq!(s.get_verification(&stale.id).await.unwrap(), None);
        assert!(s.get_verification(&live.id).await.unwrap().is_some());
        assert_eq!(
            s.sweep_verifications(NOW + 1000, NOW + 1000).await.unwrap(),
            (0, 0)
        );

        let history = s.verification_history(0).await.unwrap();
        assert_eq!(history.len(), 2);
        // Newest first: `stale` finished at NOW + 300, `old` at NOW + 10.
        assert_eq!(history[0]["id"], json!(stale.id));
        assert_eq!(history[0]["status"], json!("expired"));
        assert_eq!(history[0]["finished_at"], json!(NOW + 300));
        assert_eq!(history[1]["id"], json!(old.id));
        assert_eq!(history[1]["status"], json!("approved"));
        assert_eq!(history[1]["channel"], json!("whatsapp"));
        assert_eq!(history[1]["destination_masked"], json!("+1415•••••01"));
        for h in &history {
            let obj = h.as_object().unwrap();
            for banned in ["code_hmac", "code_ciphertext", "destination"] {
                assert!(!obj.contains_key(banned), "history has {banned}: {h}");
            }
            let text = h.to_string();
            assert!(
                !text.contains("+14155550100"),
                "history leaks the number: {text}"
            );
            for key in [
                "application_id",
                "user_id",
                "purpose",
                "attempts",
                "resends",
                "created_at",
            ] {
                assert!(obj.contains_key(key), "history lacks {key}: {h}");
            }
        }
        assert_eq!(s.verification_history(1).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn messages_filter_and_page_newest_first() {
    on_each_backend("messages", |f| async move {
        let s = f.store;
        let vid = new_id();
        let mut all = Vec::new();
        for (i, (status, channel)) in [
            (DeliveryStatus::Queued, Channel::Sms),
            (DeliveryStatus::Sent, Channel::Sms),
            (DeliveryStatus::Delivered, Channel::Whatsapp),
            (DeliveryStatus::Failed, Channel::Sms),
            (DeliveryStatus::Delivered, Channel::Sms),
        ]
        .into_iter()
        .enumerate()
        {
            // Two messages share each timestamp, so the cursor must break ties by id.
            let mut m = message(NOW + (i as i64) / 2, status, channel);
            if i % 2 == 0 {
                m.verification_id = Some(vid.clone());
            }
            if status == DeliveryStatus::Failed {
                m.error = Some("provider said no".into());
                m.latency_ms = None;
                m.provider_message_id = None;
            }
            s.insert_message(&m).await.unwrap();
            all.push(m);
        }
        assert!(matches!(
            s.insert_message(&all[0]).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            s.get_message(&all[3].id).await.unwrap(),
            Some(all[3].clone())
        );
        assert_eq!(s.get_message("nope").await.unwrap(), None);

        // Newest first = reverse insertion order (ids are time-ordered UUIDv7).
        let newest_first: Vec<_> = all.iter().rev().cloned().collect();
        let ids = |ms: &[MessageRecord]| ms.iter().map(|m| m.id.clone()).collect::<Vec<_>>();
        let list = |filter: MessageFilter| {
            let s = s.clone();
            async move { s.list_messages(&filter).await.unwrap() }
        };
        assert_eq!(list(MessageFilter::default()).await, newest_first);

        let delivered = list(MessageFilter {
            status: Some(DeliveryStatus::Delivered),
            ..Default::default()
        })
        .await;
        assert_eq!(ids(&delivered), [all[4].id.clone(), all[2].id.clone()]);

        let whatsapp = list(MessageFilter {
            channel: Some(Channel::Whatsapp),
            ..Default::default()
        })
        .await;
        assert_eq!(ids(&whatsapp), [all[2].id.clone()]);

        let since = list(MessageFilter {
            since: Some(NOW + 1),
            ..Default::default()
        })
        .await;
        assert_eq!(ids(&since), ids(&newest_first[..3]));

        let of_verification = list(MessageFilter {
            verification_id: Some(vid.clone()),
            ..Default::default()
        })
        .await;
        assert_eq!(
            ids(&of_verification),
            [all[4].id.clone(), all[2].id.clone(), all[0].id.clone()]
        );

        let combined = list(MessageFilter {
            status: Some(DeliveryStatus::Delivered),
            channel: Some(Channel::Sms),
            since: Some(NOW),
            verification_id: Some(vid.clone()),
            ..Default::default()
        })
        .await;
        assert_eq!(ids(&combined), [all[4].id.clone()]);

        // Walk the log two at a time with the cursor.
        let mut walked = Vec::new();
        let mut before = None;
        loop {
            let page = list(MessageFilter {
                limit: 2,
                before: before.clone(),
                ..Default::default()
            })
            .await;
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 2);
            before = page.last().map(|m| m.id.clone());
            walked.extend(page);
        }
        assert_eq!(walked, newest_first);

        // Cursor plus filter.
        let older_sms = list(MessageFilter {
            channel: Some(Channel::Sms),
            before: Some(all[3].id.clone()),
            ..Default::default()
        })
        .await;
        assert_eq!(ids(&older_sms), [all[1].id.clone(), all[0].id.clone()]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn audit_events_newest_first_with_cursor() {
    on_each_backend("audit", |f| async move {
        let s = f.store;
        let mut events = Vec::new();
        for i in 0..4 {
            let e = AuditEvent {
                id: new_id(),
                at: NOW + i / 2,
                actor: "cli".into(),
                action: "user.created".into(),
                target: (i % 2 == 0).then(|| format!("user:{i}")),
                details: json!({"i": i, "why": ["a", "b"]}),
            };
            s.insert_audit(&e).await.unwrap();
            events.push(e);
        }
        let newest_first: Vec<_> = events.iter().rev().cloned().collect();
        assert_eq!(s.list_audit(0, None).await.unwrap(), newest_first);
        assert_eq!(s.list_audit(2, None).await.unwrap(), newest_first[..2]);
        assert_eq!(
            s.list_audit(10, Some(&events[2].id)).await.unwrap(),
            [events[1].clone(), events[0].clone()]
        );
        assert_eq!(s.list_audit(10, Some(&events[0].id)).await.unwrap(), []);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unreadable_rows_are_corrupt_not_backend_errors() {
    on_each_backend("corrupt_rows", |f| async move {
        let s = f.store;
        let user = s.create_user(&new_user("carol"), NOW).await.unwrap();
        f.raw
            .exec("UPDATE users SET status = 'sleepy' WHERE id = $1", &user.id)
            .await;
        match s.get_user(&user.id).await {
            Err(StoreError::Corrupt(why)) => assert!(why.contains("users.status"), "{why}"),
            other => panic!("expected corrupt, got {other:?}"),
        }

        let app = application("broken");
        s.create_application(&app).await.unwrap();
        f.raw
            .exec(
                "UPDATE applications SET login_flow = '{\"first\": 1}' WHERE client_id = $1",
                "broken",
            )
            .await;
        assert!(matches!(
            s.get_application("broken").await,
            Err(StoreError::Corrupt(_))
        ));

        let dave = s.create_user(&new_user("dave"), NOW).await.unwrap();
        f.raw
            .exec("UPDATE users SET mobile = '+1 555' WHERE id = $1", &dave.id)
            .await;
        match s.get_user(&dave.id).await {
            Err(StoreError::Corrupt(why)) => assert!(!why.contains("555"), "{why}"),
            other => panic!("expected corrupt, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn open_store_and_migrate_by_url() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("by-url.db").display());
    crate::migrate_url(&url).await.unwrap();
    crate::migrate_url(&url).await.unwrap();
    let store = crate::open_store(&url, 2).await.unwrap();
    crate::migrate(store.as_ref()).await.unwrap();
    assert_eq!(store.backend(), "sqlite");
    store.put_setting("k", &json!(1), NOW).await.unwrap();
    assert_eq!(store.get_setting("k").await.unwrap(), Some(json!(1)));

    let url = format!("sqlite:{}", dir.path().join("plain.db").display());
    let store = crate::open_store(&url, 1).await.unwrap();
    crate::migrate(store.as_ref()).await.unwrap();
    assert_eq!(
        crate::open_store(&url, 1).await.unwrap().backend(),
        "sqlite"
    );

    match crate::open_store("mysql://root:pw@localhost/idgate", 1).await {
        Err(e) => assert!(e.to_string().contains("sqlite://"), "{e}"),
        Ok(_) => panic!("mysql accepted"),
    }

    if let Ok(url) = std::env::var(PG_URL_VAR) {
        let store = crate::open_store(&url, 1).await.unwrap();
        assert_eq!(store.backend(), "postgres");
        store.ping().await.unwrap();
        eprintln!("contract[postgres] open_store ok");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admin_token_last_used_and_settings_by_prefix() {
    on_each_backend("last_used_and_settings", |f| async move {
        let s = f.store;
        let t = AdminToken {
            id: new_id(),
            name: "ci".into(),
            token_hash: "hash-touch".into(),
            created_at: NOW,
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
        };
        s.create_admin_token(&t).await.unwrap();
        s.touch_admin_token(&t.id, NOW + 5).await.unwrap();
        let got = s.find_admin_token("hash-touch").await.unwrap().unwrap();
        assert_eq!(got.last_used_at, Some(NOW + 5));

        for (k, v) in [
            ("template.sms.en", "en text"),
            ("template.sms.si-LK", "si text"),
            ("template.whatsapp.en", "wa text"),
            ("template.smsx", "not a template"),
            ("otp_policy", "{}"),
        ] {
            s.put_setting(k, &json!(v), NOW).await.unwrap();
        }
        let keys: Vec<String> = s
            .list_settings("template.sms.")
            .await
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["template.sms.en", "template.sms.si-LK"]);
        assert_eq!(
            s.list_settings("template.sms.si").await.unwrap(),
            vec![("template.sms.si-LK".to_string(), json!("si text"))]
        );
        // Exact prefix: LIKE wildcards and case do not widen it.
        assert!(s.list_settings("template.sms._").await.unwrap().is_empty());
        assert!(s.list_settings("TEMPLATE.").await.unwrap().is_empty());

        assert!(s.delete_setting("template.sms.si-LK").await.unwrap());
        assert!(!s.delete_setting("template.sms.si-LK").await.unwrap());
        assert_eq!(s.get_setting("template.sms.si-LK").await.unwrap(), None);
        assert_eq!(s.list_settings("template.sms.").await.unwrap().len(), 1);
    })
    .await;
}
