//! The PostgreSQL backend: for several idgate nodes sharing one database.

use std::str::FromStr;

use idgate_core::store::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

use crate::admin_impl::impl_admin_store;
use crate::auth_impl::impl_auth_store;
use crate::delivery_impl::impl_delivery_store;
use crate::limits_impl::impl_limit_store;
use crate::store_impl::impl_store;

/// `Store` on a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// The same pool: PostgreSQL serves concurrent writers itself. (The shared store code
    /// sends writes to `writer` and reads to `pool`; see `SqliteStore`.)
    writer: PgPool,
    settings_cache: std::sync::Arc<crate::settings_cache::SettingsCache>,
    app_cache:
        std::sync::Arc<crate::record_cache::RecordCache<idgate_core::application::Application>>,
    client_oidc_cache: std::sync::Arc<
        crate::record_cache::RecordCache<idgate_core::application::ClientOidcSettings>,
    >,
}

impl PostgresStore {
    /// SQLite's in-place path (`sqlite_direct`); PostgreSQL always goes through sqlx.
    pub(crate) fn direct(&self) -> Option<&crate::sqlite_direct::Direct> {
        None
    }

    /// Connects a pool of up to `max_connections` to `url`.
    ///
    /// With `schema`, the schema is created if missing and every pooled connection starts
    /// with `search_path` set to it, so idgate's tables (and sqlx's migration table) live
    /// there: several deployments, or tests, can share one database. The name must be a
    /// plain lower-case identifier (`[a-z_][a-z0-9_]*`, at most 63 bytes).
    /// Does not migrate: call [`PostgresStore::migrate`].
    pub async fn connect(
        url: &str,
        max_connections: u32,
        schema: Option<&str>,
    ) -> Result<Self, StoreError> {
        // The URL can hold a password: errors never repeat it.
        let mut options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        if let Some(schema) = schema {
            check_schema_name(schema)?;
            create_schema(&options, schema).await?;
            options = options.options([("search_path", schema)]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Backend(format!("cannot connect to PostgreSQL: {e}")))?;
        tracing::debug!(
            schema = schema.unwrap_or("(default)"),
            "connected PostgreSQL store"
        );
        Ok(Self {
            writer: pool.clone(),
            pool,
            settings_cache: Default::default(),
            app_cache: Default::default(),
            client_oidc_cache: Default::default(),
        })
    }

    /// Applies the embedded PostgreSQL migrations not yet applied. sqlx holds an advisory
    /// lock meanwhile, so nodes starting together migrate one after another.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Backend(format!("PostgreSQL migration failed: {e}")))
    }

    /// Waits for in-flight queries and closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    #[cfg(test)]
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl_store!(PostgresStore, "postgres");

/// Schema names end up in DDL text (identifiers cannot be bound as parameters), so only
/// names that need no quoting are accepted.
pub(crate) fn check_schema_name(schema: &str) -> Result<(), StoreError> {
    let mut chars = schema.chars();
    let ok = schema.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "PostgreSQL schema name {schema:?} is not allowed: use lower-case letters, digits \
             and _ (not starting with a digit, at most 63 characters)"
        )))
    }
}

async fn create_schema(options: &PgConnectOptions, schema: &str) -> Result<(), StoreError> {
    let fail = |e| StoreError::Backend(format!("cannot create PostgreSQL schema {schema:?}: {e}"));
    let mut conn = PgConnection::connect_with(options).await.map_err(fail)?;
    // Safe: `schema` passed `check_schema_name` (lower-case letters, digits, `_`).
    let ddl = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
    match conn.execute(AssertSqlSafe(ddl)).await {
        Ok(_) => {}
        // Two connections creating the same schema at once: one wins, and that is enough.
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {}
        Err(e) => return Err(fail(e)),
    }
    conn.close().await.map_err(fail)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::check_schema_name;

    #[test]
    fn schema_names_need_no_quoting() {
        for ok in ["idgate", "_x", "idgate_test_0123abcd"] {
            assert!(check_schema_name(ok).is_ok(), "{ok}");
        }
        let too_long = "a".repeat(64);
        for bad in [
            "",
            "Idgate",
            "1st",
            "a-b",
            "a\"; DROP",
            "a b",
            too_long.as_str(),
        ] {
            assert!(check_schema_name(bad).is_err(), "{bad}");
        }
    }
}
impl_auth_store!(PostgresStore);
impl_delivery_store!(PostgresStore);
impl_limit_store!(PostgresStore);
impl_admin_store!(PostgresStore);
