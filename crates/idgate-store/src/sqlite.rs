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

/// How much of the database file readers map into memory (bytes).
const MMAP_SIZE: u64 = 256 * 1024 * 1024;

/// `Store` on a SQLite file.
///
/// SQLite lets one connection write at a time; writers that collide wait in SQLite's
/// busy handler, which sleeps in steps of up to 100 ms, so many connections competing for
/// the write lock serve fewer writes, with long tails, than one. Writes therefore go
/// through `writer`, a pool of exactly one connection whose queue is fair and async,
/// and reads through `pool`, whose connections are `query_only` (WAL: readers never
/// wait for the writer). Store code must send every INSERT/UPDATE/DELETE — including
/// `… RETURNING` statements fetched as rows — and every transaction to `writer`; a
/// write sent to `pool` fails with "attempt to write a readonly database".
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: SqlitePool,
    settings_cache: std::sync::Arc<crate::settings_cache::SettingsCache>,
    app_cache:
        std::sync::Arc<crate::record_cache::RecordCache<idgate_core::application::Application>>,
    client_oidc_cache: std::sync::Arc<
        crate::record_cache::RecordCache<idgate_core::application::ClientOidcSettings>,
    >,
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
        let cannot_open = |e: sqlx::Error| {
            StoreError::Backend(format!(
                "cannot open SQLite database {}: {e}",
                path.display()
            ))
        };
        // The writer first: it creates the file and switches it to WAL.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(cannot_open)?;
        // Readers: each has its own page cache, which a write elsewhere invalidates, and
        // its own thread; past two per core more of them only add reloads and context
        // switches (measured: sign-ins cost ~20% more CPU with 16 readers than with 4).
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
        let readers = max_connections.clamp(1, (2 * cores).max(2));
        let pool = SqlitePoolOptions::new()
            .max_connections(readers)
            .connect_with(
                options
                    .pragma("query_only", "true")
                    // Read pages through a memory map instead of copying each into the
                    // connection's cache (reads are most of what readers do).
                    .pragma("mmap_size", MMAP_SIZE.to_string()),
            )
            .await
            .map_err(cannot_open)?;
        tracing::debug!(path = %path.display(), "opened SQLite store");
        Ok(Self {
            pool,
            writer,
            settings_cache: Default::default(),
            app_cache: Default::default(),
            client_oidc_cache: Default::default(),
        })
    }

    /// Applies the embedded SQLite migrations not yet applied (safe to run again).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.writer)
            .await
            .map_err(|e| StoreError::Backend(format!("SQLite migration failed: {e}")))
    }

    /// Waits for in-flight queries and closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }

    /// The writer connection, for tests that read or change rows directly.
    #[cfg(test)]
    pub(crate) fn raw_writer(&self) -> &SqlitePool {
        &self.writer
    }
}

impl_store!(SqliteStore, "sqlite");
impl_auth_store!(SqliteStore);
impl_delivery_store!(SqliteStore);
impl_limit_store!(SqliteStore);
impl_admin_store!(SqliteStore);
