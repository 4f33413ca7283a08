//! SQLite connections held directly, without sqlx's pool.
//!
//! sqlx runs every SQLite connection on its own thread, so each statement is a hand-off
//! to that thread and back. Its pool adds two more hand-offs per use — a ping when a
//! connection is taken (`test_before_acquire`) and another, always, when it is given back
//! (plus a spawned task) — which tripled the context switches per statement (measured
//! with `perf`: during sign-ins ~45% of the server's CPU was task switching). A local file
//! connection cannot go stale, so those pings buy nothing here. [`Lanes`] holds a fixed
//! set of connections, each behind a fair async mutex: taking one is a lock, giving it
//! back is an unlock, and the only hand-offs left are the statements themselves.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_core::future::BoxFuture;
use futures_core::stream::BoxStream;
use futures_util::{FutureExt, StreamExt};
use sqlx::sqlite::{Sqlite, SqliteConnectOptions, SqliteConnection, SqliteQueryResult, SqliteRow};
use sqlx::{ConnectOptions, Connection, Either, Execute, Executor, SqlStr};
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};

/// What one lane holds: an sqlx connection and, on the writer, a rusqlite connection to
/// the same file for statements run in place (`sqlite_direct`). Both are used only by
/// whoever holds the lane, so they never compete for SQLite's write lock.
pub(crate) struct Conns {
    sqlx: SqliteConnection,
    direct: Option<rusqlite::Connection>,
}

/// One lane; `None` once [`Lanes::close`] has closed it.
type Slot = Arc<Mutex<Option<Conns>>>;

/// A connection taken from [`Lanes`], given back when dropped.
pub(crate) type LaneGuard = OwnedMappedMutexGuard<Option<Conns>, SqliteConnection>;

/// A lane's in-place connection, taken with [`Lanes::direct`].
pub(crate) type DirectGuard = OwnedMappedMutexGuard<Option<Conns>, rusqlite::Connection>;

/// A fixed set of SQLite connections used one task at a time each (clones share them).
#[derive(Clone)]
pub(crate) struct Lanes {
    slots: Arc<[Slot]>,
    /// Where the next search for a free connection starts, so load spreads over all.
    next: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Lanes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lanes")
            .field("connections", &self.slots.len())
            .finish()
    }
}

impl Lanes {
    /// Opens `count` (at least one) connections with `options`, one after another.
    pub async fn open(options: &SqliteConnectOptions, count: usize) -> Result<Self, sqlx::Error> {
        Self::open_lanes(options, count, false).await
    }

    /// One lane holding an sqlx connection and an in-place one (see [`Lanes::direct`]).
    pub async fn open_writer(options: &SqliteConnectOptions) -> Result<Self, sqlx::Error> {
        Self::open_lanes(options, 1, true).await
    }

    async fn open_lanes(
        options: &SqliteConnectOptions,
        count: usize,
        direct: bool,
    ) -> Result<Self, sqlx::Error> {
        let mut slots = Vec::with_capacity(count.max(1));
        for _ in 0..count.max(1) {
            // sqlx first: it creates the file and switches it to WAL.
            let sqlx = options.connect().await?;
            let direct = if direct {
                let path = options.get_filename();
                let conn = crate::sqlite_direct::open(path, false)
                    .map_err(|e| sqlx::Error::Configuration(e.into()))?;
                Some(conn)
            } else {
                None
            };
            slots.push(Arc::new(Mutex::new(Some(Conns { sqlx, direct }))));
        }
        Ok(Self {
            slots: slots.into(),
            next: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Takes a connection: a free one if there is one, otherwise the next in turn when
    /// its current user gives it back (waiters are served first come, first served).
    pub async fn acquire(&self) -> Result<LaneGuard, sqlx::Error> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.slots.len();
        let free = (0..n).find_map(|i| self.slots[(start + i) % n].clone().try_lock_owned().ok());
        let guard: OwnedMutexGuard<Option<Conns>> = match free {
            Some(guard) => guard,
            None => self.slots[start % n].clone().lock_owned().await,
        };
        OwnedMutexGuard::try_map(guard, |c| c.as_mut().map(|c| &mut c.sqlx))
            .map_err(|_| sqlx::Error::PoolClosed)
    }

    /// The first lane's in-place connection if nobody holds the lane now.
    pub fn try_direct(&self) -> Option<DirectGuard> {
        let guard = self.slots[0].clone().try_lock_owned().ok()?;
        OwnedMutexGuard::try_map(guard, |c| c.as_mut().and_then(|c| c.direct.as_mut())).ok()
    }

    /// Holds the first lane from a thread outside the runtime, blocking until it is free:
    /// while held, this store writes nothing. `None` once the lanes are closed.
    pub fn hold_blocking(&self) -> Option<OwnedMutexGuard<Option<Conns>>> {
        let guard = self.slots[0].clone().blocking_lock_owned();
        guard.is_some().then_some(guard)
    }

    /// Takes the first lane's in-place connection (the writer has one lane), waiting for
    /// its current user like [`Lanes::acquire`]. Fails if the lane has none or is closed.
    pub async fn direct(&self) -> Result<DirectGuard, sqlx::Error> {
        let guard = self.slots[0].clone().lock_owned().await;
        OwnedMutexGuard::try_map(guard, |c| c.as_mut().and_then(|c| c.direct.as_mut()))
            .map_err(|_| sqlx::Error::PoolClosed)
    }

    /// Takes a connection and starts a write transaction on it (`BEGIN IMMEDIATE`: the
    /// write lock is taken now, so another process's writer makes it wait in the busy
    /// handler instead of failing half-way).
    pub async fn begin(&self) -> Result<LaneTransaction, sqlx::Error> {
        let mut conn = self.acquire().await?;
        conn.execute("BEGIN IMMEDIATE").await?;
        Ok(LaneTransaction {
            conn: Some(conn),
            open: true,
        })
    }

    /// Waits for each connection's current user, then closes it; later uses fail with
    /// `PoolClosed`.
    pub async fn close(&self) {
        for slot in self.slots.iter() {
            let conns = slot.lock().await.take();
            if let Some(Conns { sqlx, direct }) = conns {
                if let Some(Err((_, e))) = direct.map(rusqlite::Connection::close) {
                    tracing::warn!(error = %e, "closing a SQLite connection failed");
                }
                if let Err(e) = sqlx.close().await {
                    tracing::warn!(error = %e, "closing a SQLite connection failed");
                }
            }
        }
    }
}

/// A transaction on a taken connection: [`LaneTransaction::commit`] ends it; dropped
/// without a commit (an error, or the request was cancelled) it is rolled back before
/// the connection is given back.
pub(crate) struct LaneTransaction {
    conn: Option<LaneGuard>,
    open: bool,
}

impl std::fmt::Debug for LaneTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LaneTransaction")
            .field("open", &self.open)
            .finish()
    }
}

impl LaneTransaction {
    /// Commits. On an error the transaction is still open and is rolled back on drop.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        if let Some(conn) = self.conn.as_mut() {
            conn.execute("COMMIT").await?;
        }
        self.open = false;
        Ok(())
    }
}

impl std::ops::Deref for LaneTransaction {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        // Only `Drop` takes the connection out.
        match self.conn.as_ref() {
            Some(conn) => conn,
            None => unreachable_connection(),
        }
    }
}

impl std::ops::DerefMut for LaneTransaction {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match self.conn.as_mut() {
            Some(conn) => conn,
            None => unreachable_connection(),
        }
    }
}

#[allow(clippy::panic)] // `conn` is `Some` until `drop`, after which no deref can happen.
fn unreachable_connection() -> ! {
    panic!("LaneTransaction used after drop")
}

impl Drop for LaneTransaction {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if !self.open {
            return;
        }
        // Cannot wait here: the rollback runs in a task that still holds the connection,
        // so the next user finds it outside any transaction.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = conn.execute("ROLLBACK").await {
                    tracing::warn!(error = %e, "rolling back an abandoned transaction failed");
                }
            });
        }
    }
}

/// Runs a statement on a connection taken for just that statement.
impl<'l> Executor<'l> for &'l Lanes {
    type Database = Sqlite;

    fn execute<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<SqliteQueryResult, sqlx::Error>>
    where
        'l: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        async move { self.acquire().await?.execute(query).await }.boxed()
    }

    fn fetch_all<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Vec<SqliteRow>, sqlx::Error>>
    where
        'l: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        async move { self.acquire().await?.fetch_all(query).await }.boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<SqliteRow>, sqlx::Error>>
    where
        'l: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        async move { self.acquire().await?.fetch_optional(query).await }.boxed()
    }

    /// Collects the results before yielding them: the connection is given back as soon as
    /// the statement ends, whatever the caller does with the stream.
    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<SqliteQueryResult, SqliteRow>, sqlx::Error>>
    where
        'l: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        let collected = async move {
            let mut conn = match self.acquire().await {
                Ok(conn) => conn,
                Err(e) => return vec![Err(e)],
            };
            let mut results = Vec::new();
            let mut stream = conn.fetch_many(query);
            while let Some(item) = stream.next().await {
                let failed = item.is_err();
                results.push(item);
                if failed {
                    break;
                }
            }
            results
        };
        collected
            .map(futures_util::stream::iter)
            .flatten_stream()
            .boxed()
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [sqlx::sqlite::SqliteTypeInfo],
    ) -> BoxFuture<'e, Result<sqlx::sqlite::SqliteStatement, sqlx::Error>>
    where
        'l: 'e,
    {
        async move { self.acquire().await?.prepare_with(sql, parameters).await }.boxed()
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<sqlx::Describe<Sqlite>, sqlx::Error>>
    where
        'l: 'e,
    {
        async move { self.acquire().await?.describe(sql).await }.boxed()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    async fn lanes(dir: &tempfile::TempDir, count: usize) -> Lanes {
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("lanes.db"))
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        Lanes::open(&options, count).await.unwrap()
    }

    async fn count(lanes: &Lanes) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(lanes)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn committed_writes_stay_and_abandoned_ones_roll_back() {
        let dir = tempfile::tempdir().unwrap();
        let writer = lanes(&dir, 1).await;
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&writer)
            .await
            .unwrap();

        let mut tx = writer.begin().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let mut tx = writer.begin().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (2)")
            .execute(&mut *tx)
            .await
            .unwrap();
        drop(tx); // an error or a cancelled request
        // The next user of the one connection waits for the rollback, then finds it
        // outside any transaction: its own BEGIN works and the abandoned row is gone.
        let mut tx = writer.begin().await.unwrap();
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(rows, 1);
        tx.commit().await.unwrap();

        // A second set of connections on the same file sees what was committed.
        let readers = lanes(&dir, 2).await;
        assert_eq!(count(&readers).await, 1);
    }

    #[tokio::test]
    async fn one_connection_serves_one_user_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let writer = lanes(&dir, 1).await;
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&writer)
            .await
            .unwrap();
        let tx = writer.begin().await.unwrap();
        // While the transaction holds the connection, a statement waits for it.
        let waiting = tokio::time::timeout(
            std::time::Duration::from_millis(100),
            sqlx::query("INSERT INTO t VALUES (1)").execute(&writer),
        )
        .await;
        assert!(waiting.is_err(), "ran inside another task's transaction");
        tx.commit().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&writer)
            .await
            .unwrap();
        assert_eq!(count(&writer).await, 1);
    }

    #[tokio::test]
    async fn closed_lanes_refuse_work() {
        let dir = tempfile::tempdir().unwrap();
        let readers = lanes(&dir, 2).await;
        readers.close().await;
        let err = sqlx::query("SELECT 1").execute(&readers).await.unwrap_err();
        assert!(matches!(err, sqlx::Error::PoolClosed), "{err:?}");
    }
}
