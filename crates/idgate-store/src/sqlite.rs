//! The SQLite backend: one file, opened in WAL mode so readers never wait for the writer.

use std::path::Path;
use std::time::Duration;

use idgate_core::store::StoreError;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::admin_impl::impl_admin_store;
use crate::auth_impl::impl_auth_store;
use crate::delivery_impl::impl_delivery_store;
use crate::limits_impl::impl_limit_store;
use crate::store_impl::impl_store;

/// How long a statement waits for another connection's write lock before failing.
/// Writes are single short statements, so a wait this long means something is stuck.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// `Store` on a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    settings_cache: std::sync::Arc<crate::settings_cache::SettingsCache>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path`.
    ///
    /// WAL with `synchronous = NORMAL` is durable across application crashes and fast;
    /// foreign keys are off by default in SQLite, so they are switched on here.
    /// Does not migrate: call [`SqliteStore::migrate`].
    pub async fn open(path: &Path, max_connections: u32) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect_with(options)
            .await
            .map_err(|e| {
                StoreError::Backend(format!(
                    "cannot open SQLite database {}: {e}",
                    path.display()
                ))
            })?;
        tracing::debug!(path = %path.display(), "opened SQLite store");
        Ok(Self {
            pool,
            settings_cache: Default::default(),
        })
    }

    /// Applies the embedded SQLite migrations not yet applied (safe to run again).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Backend(format!("SQLite migration failed: {e}")))
    }

    /// Waits for in-flight queries and closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    #[cfg(test)]
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

impl_store!(SqliteStore, "sqlite");
impl_auth_store!(SqliteStore);
impl_delivery_store!(SqliteStore);
impl_limit_store!(SqliteStore);
impl_admin_store!(SqliteStore);
