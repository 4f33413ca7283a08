//! Upgrading an existing SQLite database: migrations that rebuild tables keep every row.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::borrow::Cow;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Row};

/// A database at migration 6 with sign-in rows in it, upgraded by 7 (the WITHOUT ROWID
/// rebuild): every row and value is still there, and the tables no longer have rowids.
#[tokio::test]
async fn the_without_rowid_rebuild_keeps_every_sign_in_row() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("old.db"))
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    let all = sqlx::migrate!("./migrations/sqlite");
    let mut before = sqlx::migrate!("./migrations/sqlite");
    before.migrations = Cow::Owned(
        all.migrations
            .iter()
            .filter(|m| m.version <= 6)
            .cloned()
            .collect(),
    );
    before.run(&pool).await.unwrap();
    let rows = [
        "INSERT INTO sessions VALUES ('s1', 'h1', 'c1', NULL, '[]', NULL, '{\"j\":1}', 1, 2, 3)",
        "INSERT INTO sessions VALUES ('s2', 'h2', 'c2', 'u1', '[\"pwd\"]', 5, NULL, 4, 5, 6)",
        "INSERT INTO grants VALUES ('g1', 'app', 'u1', 's2', 'openid', '[\"pwd\"]', 5, 'n', 7, 8, NULL)",
        "INSERT INTO grants VALUES ('g2', 'app', NULL, NULL, 'api', '[]', 5, NULL, 7, 8, 9)",
        "INSERT INTO auth_codes VALUES ('ch', 'g1', 'app', 'https://a/cb', 'pk', 10, 11, 12, 13)",
        "INSERT INTO refresh_tokens VALUES ('th', 'g1', 14, 15, NULL)",
    ];
    for sql in rows {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    let dump = |pool: sqlx::SqlitePool| async move {
        let mut out = Vec::new();
        for (table, key) in [
            ("sessions", "id"),
            ("grants", "id"),
            ("auth_codes", "code_hash"),
            ("refresh_tokens", "token_hash"),
        ] {
            // Fixed table and column names (no input reaches this string).
            let sql = format!("SELECT * FROM {table} ORDER BY {key}");
            for row in sqlx::query(AssertSqlSafe(sql))
                .fetch_all(&pool)
                .await
                .unwrap()
            {
                let values: Vec<String> = (0..row.len())
                    .map(|i| {
                        row.try_get::<Option<String>, _>(i)
                            .map(|v| format!("{v:?}"))
                            .or_else(|_| row.try_get::<Option<i64>, _>(i).map(|v| format!("{v:?}")))
                            .unwrap()
                    })
                    .collect();
                out.push(format!("{table}: {}", values.join(", ")));
            }
        }
        out
    };
    let old = dump(pool.clone()).await;
    assert_eq!(old.len(), 6);
    all.run(&pool).await.unwrap();
    assert_eq!(
        dump(pool.clone()).await,
        old,
        "the rebuild changed or lost rows"
    );
    for table in ["sessions", "grants", "auth_codes", "refresh_tokens"] {
        let rowid = sqlx::query(AssertSqlSafe(format!("SELECT rowid FROM {table}")))
            .fetch_all(&pool)
            .await;
        assert!(rowid.is_err(), "{table} still has a rowid");
    }
    // The partial indexes still serve lookups by user and by session.
    let plan: Vec<String> =
        sqlx::query("EXPLAIN QUERY PLAN SELECT id FROM sessions WHERE user_id = 'u1'")
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(3))
            .collect();
    assert!(plan.iter().any(|p| p.contains("sessions_user")), "{plan:?}");
}
