//! The `LimitStore` contract, run on SQLite and (with `IDGATE_TEST_DATABASE_URL`) on
//! PostgreSQL in a fresh schema — the same pattern as `contract_tests.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::sync::Arc;

use idgate_core::store::{Store, Take};
use sqlx::AssertSqlSafe;

use crate::{PostgresStore, SqliteStore};

const PG_URL_VAR: &str = "IDGATE_TEST_DATABASE_URL";
const NOW: i64 = 1_800_000_000;

async fn on_each_backend<F, Fut>(test: &str, body: F)
where
    F: Fn(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("idgate.db"), 4)
        .await
        .unwrap();
    sqlite.migrate().await.unwrap();
    let outcome = tokio::spawn(body(Arc::new(sqlite.clone()))).await;
    sqlite.close().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
    let Ok(url) = std::env::var(PG_URL_VAR) else {
        return;
    };
    let schema = format!("idgate_test_{}", uuid::Uuid::new_v4().simple());
    let pg = PostgresStore::connect(&url, 4, Some(&schema))
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

fn taken(t: Take) -> i64 {
    match t {
        Take::Taken(c) => c.count,
        Take::Refused(c) => panic!("refused at {c:?}"),
    }
}

#[tokio::test]
async fn counters_take_up_to_max_then_refuse_until_the_window_ends() {
    on_each_backend("limit_counters", |s| async move {
        for i in 1..=3 {
            assert_eq!(taken(s.take("k", 1, 3, 600, NOW).await.unwrap()), i);
        }
        match s.take("k", 1, 3, 600, NOW + 10).await.unwrap() {
            Take::Refused(Some(c)) => {
                assert_eq!(c.count, 3);
                assert_eq!(c.resets_at, NOW + 600);
            }
            other => panic!("{other:?}"),
        }
        // Refusals are not counted; another key is independent.
        assert_eq!(s.peek("k", NOW + 20).await.unwrap().unwrap().count, 3);
        assert_eq!(taken(s.take("other", 1, 3, 600, NOW).await.unwrap()), 1);
        // A raised maximum lets more in (the unlimited counters use i64::MAX).
        assert_eq!(
            taken(s.take("k", 1, i64::MAX, 600, NOW + 30).await.unwrap()),
            4
        );
        // After the window: a new one starts at 1, with a new end.
        let Take::Taken(c) = s.take("k", 1, 3, 600, NOW + 600).await.unwrap() else {
            panic!("new window")
        };
        assert_eq!(
            (c.count, c.resets_at, c.updated_at),
            (1, NOW + 1200, NOW + 600)
        );
        assert_eq!(s.peek("gone", NOW).await.unwrap(), None);
        assert_eq!(
            s.peek("k", NOW + 1200).await.unwrap(),
            None,
            "expired window"
        );
        assert_eq!(
            s.reset_counters(&["k".into(), "x".into()]).await.unwrap(),
            1
        );
        assert_eq!(s.peek("k", NOW + 700).await.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn concurrent_takes_never_pass_the_maximum() {
    on_each_backend("limit_concurrent", |s| async move {
        let mut tasks = Vec::new();
        for _ in 0..40 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                matches!(
                    s.take("race", 1, 7, 600, NOW).await.unwrap(),
                    Take::Taken(_)
                )
            }));
        }
        let mut won = 0;
        for t in tasks {
            if t.await.unwrap() {
                won += 1;
            }
        }
        assert_eq!(won, 7);
    })
    .await;
}

#[tokio::test]
async fn members_blocks_and_sweep() {
    on_each_backend("limit_members_blocks", |s| async move {
        assert_eq!(s.add_member("p", "a", NOW, NOW + 60).await.unwrap(), 1);
        assert_eq!(s.add_member("p", "a", NOW + 1, NOW + 61).await.unwrap(), 1);
        assert_eq!(s.add_member("p", "b", NOW + 2, NOW + 62).await.unwrap(), 2);
        assert_eq!(s.add_member("q", "a", NOW + 2, NOW + 62).await.unwrap(), 1);
        // `a` lapses at NOW + 61, `b` at NOW + 62.
        assert_eq!(
            s.add_member("p", "c", NOW + 61, NOW + 200).await.unwrap(),
            2
        );

        assert!(
            s.block("prefix:+1415", NOW + 100, "velocity", NOW)
                .await
                .unwrap()
        );
        assert!(
            !s.block("prefix:+1415", NOW + 500, "velocity", NOW + 1)
                .await
                .unwrap()
        );
        assert_eq!(
            s.blocked_until("prefix:+1415", NOW + 50).await.unwrap(),
            Some(NOW + 100),
            "a live block keeps its end"
        );
        assert_eq!(
            s.blocked_until("prefix:+1415", NOW + 100).await.unwrap(),
            None
        );
        assert_eq!(s.blocked_until("prefix:+44", NOW).await.unwrap(), None);
        let blocks = s.list_blocks(NOW).await.unwrap();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].reason, "velocity");
        // An expired block is renewed, and that counts as new.
        assert!(
            s.block("prefix:+1415", NOW + 300, "velocity", NOW + 150)
                .await
                .unwrap()
        );
        assert!(
            s.block("budget:sms", NOW + 300, "budget", NOW)
                .await
                .unwrap()
        );
        assert!(s.unblock("budget:sms").await.unwrap());
        assert!(!s.unblock("budget:sms").await.unwrap());

        s.take("c", 1, 5, 10, NOW).await.unwrap();
        // At NOW + 1000 everything above has expired: counter, 4 members, 1 block.
        assert_eq!(s.sweep_limits(NOW + 1000).await.unwrap(), 6);
        assert_eq!(s.sweep_limits(NOW + 1000).await.unwrap(), 0);
    })
    .await;
}
