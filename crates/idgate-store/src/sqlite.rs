//! The SQLite backend: one file, opened in WAL mode so readers never wait for the writer.

use std::path::Path;
use std::time::Duration;

use idgate_core::store::StoreError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

use crate::admin_impl::impl_admin_store;
use crate::auth_impl::impl_auth_store;
use crate::delivery_impl::impl_delivery_store;
use crate::limits_impl::impl_limit_store;
use crate::sqlite_checkpoint::Checkpointer;
use crate::sqlite_direct::Direct;
use crate::sqlite_lanes::Lanes;
use crate::store_impl::impl_store;

/// How long a statement waits for another connection's write lock before failing.
/// Writes are single short statements, so a wait this long means something is stuck.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// `Store` on a SQLite file.
///
/// SQLite lets one connection write at a time; writers that collide wait in SQLite's
/// busy handler, which sleeps in steps of up to 100 ms, so many connections competing for
/// the write lock serve fewer writes, with long tails, than one. Writes therefore go
/// through `writer`, exactly one connection whose queue is fair and async, and reads
/// through `pool`, whose connections are `query_only` (WAL: readers never wait for the
/// writer). Both are [`Lanes`], not sqlx pools: see that module for why. Store code must send every INSERT/UPDATE/DELETE — including
/// `… RETURNING` statements fetched as rows — and every transaction to `writer`; a
/// write sent to `pool` fails with "attempt to write a readonly database".
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: Lanes,
    writer: Lanes,
    /// The sign-in path's statements, run in place (see `sqlite_direct`).
    direct: Direct,
    /// Copies the WAL back into the database file, off the request path.
    checkpointer: Checkpointer,
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
            .busy_timeout(BUSY_TIMEOUT)
            // Checkpoints run on their own thread (see `sqlite_checkpoint`), not in a
            // commit that happens to cross the threshold.
            .pragma("wal_autocheckpoint", "0")
            .pragma(
                "journal_size_limit",
                crate::sqlite_checkpoint::JOURNAL_SIZE_LIMIT,
            );
        let cannot_open = |e: sqlx::Error| {
            StoreError::Backend(format!(
                "cannot open SQLite database {}: {e}",
                path.display()
            ))
        };
        // The writer first: it creates the file and switches it to WAL.
        let writer = Lanes::open_writer(&options).await.map_err(cannot_open)?;
        // Readers: each has its own page cache, which a write elsewhere invalidates, and
        // its own thread; past two per core more of them only add reloads and context
        // switches (measured: sign-ins cost ~20% more CPU with 16 readers than with 4).
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
        let readers = max_connections.clamp(1, (2 * cores).max(2)) as usize;
        // No memory map (`mmap_size`): while writes grow the file, SQLite re-maps it at
        // the start of nearly every read, and each unmap is a TLB shoot-down across
        // cores (measured with perf: ~4% of the server's CPU during sign-ins).
        let reader_options = options.pragma("query_only", "true");
        let pool = Lanes::open(&reader_options, readers)
            .await
            .map_err(cannot_open)?;
        // In-place readers: one per tokio worker thread and two spare, so a reader is
        // practically always free (each is held for one statement only).
        let direct = Direct::open(path, cores as usize + 2, writer.clone()).map_err(|e| {
            StoreError::Backend(format!(
                "cannot open SQLite database {}: {e}",
                path.display()
            ))
        })?;
        let checkpointer = Checkpointer::start(path, writer.clone()).map_err(|e| {
            StoreError::Backend(format!(
                "cannot open SQLite database {}: {e}",
                path.display()
            ))
        })?;
        tracing::debug!(path = %path.display(), "opened SQLite store");
        Ok(Self {
            pool,
            writer,
            direct,
            checkpointer,
            settings_cache: Default::default(),
            app_cache: Default::default(),
            client_oidc_cache: Default::default(),
        })
    }

    /// Applies the embedded SQLite migrations not yet applied (safe to run again).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let fail = |e: String| StoreError::Backend(format!("SQLite migration failed: {e}"));
        let mut conn = self
            .writer
            .acquire()
            .await
            .map_err(|e| fail(e.to_string()))?;
        // `run_direct`: `run` with a borrowed connection trips "Acquire is not general
        // enough" inside a Send future; this is the same call without the Acquire step.
        sqlx::migrate!("./migrations/sqlite")
            .run_direct(None, &mut *conn, false)
            .await
            .map_err(|e| fail(e.to_string()))
    }

    /// Waits for in-flight queries and closes every connection.
    pub async fn close(&self) {
        self.direct.close();
        self.pool.close().await;
        self.writer.close().await;
        let checkpointer = self.checkpointer.clone();
        // Joining waits for a checkpoint in progress: not on a runtime thread.
        let _ = tokio::task::spawn_blocking(move || checkpointer.stop()).await;
    }

    /// The in-place path (see `sqlite_direct`); store methods on the sign-in path use it.
    pub(crate) fn direct(&self) -> Option<&Direct> {
        Some(&self.direct)
    }

    /// The writer connection, for tests that read or change rows directly.
    #[cfg(test)]
    pub(crate) fn raw_writer(&self) -> &Lanes {
        &self.writer
    }
}

impl_store!(SqliteStore, "sqlite");
impl_auth_store!(SqliteStore);
impl_delivery_store!(SqliteStore);
impl_limit_store!(SqliteStore);
impl_admin_store!(SqliteStore);
