//! SQLite called in place, for the statements every sign-in runs.
//!
//! sqlx runs each SQLite connection on a thread of its own: every statement is a hand-off
//! to that thread and a wake-up back. A sign-in runs ~18 statements, and those hand-offs
//! were about half of the server's CPU per sign-in (futex wake-ups, measured with
//! `perf`), while the writer thread's queue capped sign-ins with cores still idle.
//! SQLite itself needs a few microseconds for these statements, so here they run on the
//! calling task's thread through `rusqlite`:
//!
//! - reads take one of a few read-only connections behind plain mutexes (a tokio worker
//!   holds one only for the statement, so with one connection per worker and some spare
//!   they are practically never contended);
//! - writes use the rusqlite connection that sits beside sqlx's writer connection in the
//!   writer lane (`sqlite_lanes`): taking the lane is what serialises writers, so a write
//!   here never meets a write through sqlx inside SQLite's busy handler.
//!
//! The SQL is the same text sqlx runs (`$N` parameters, bound here by name), and the rows
//! decode into the same row structs, so both paths agree by construction; the store
//! contract tests run against this path for every method that uses it.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use idgate_core::store::StoreError;
use rusqlite::types::{ToSqlOutput, Value};
use rusqlite::{Connection, OpenFlags, ToSql};
use tokio::sync::oneshot;

use crate::sqlite_lanes::Lanes;

/// How long a statement waits for another process's write lock (as the sqlx side).
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements kept per connection: the hot path uses about twenty.
const STATEMENT_CACHE: usize = 64;

/// Parameter names `$1…$32`, so binding allocates nothing.
const NAMES: [&str; 32] = [
    "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15",
    "$16", "$17", "$18", "$19", "$20", "$21", "$22", "$23", "$24", "$25", "$26", "$27", "$28",
    "$29", "$30", "$31", "$32",
];

/// Opens a connection to `path` set up like sqlx's (WAL is a property of the file and is
/// already on; `foreign_keys` and `synchronous` are per connection).
pub(crate) fn open(path: &Path, read_only: bool) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Checkpoints are `sqlite_checkpoint`'s job, never a commit's.
    conn.execute_batch(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;",
    )?;
    if read_only {
        conn.execute_batch("PRAGMA query_only = ON;")?;
    }
    Ok(conn)
}

/// The in-place path of one SQLite store: its read connections and its writer lane.
#[derive(Debug, Clone)]
pub(crate) struct Direct {
    readers: Arc<Readers>,
    writer: Lanes,
    queue: Arc<Mutex<Queue>>,
}

struct Readers {
    /// `None` once the store is closed.
    conns: Box<[Mutex<Option<Connection>>]>,
    next: AtomicUsize,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers")
            .field("connections", &self.conns.len())
            .finish()
    }
}

impl Direct {
    /// `readers` read-only connections to `path`; writes go through `writer`'s lane,
    /// which must have been opened with a direct connection.
    pub(crate) fn open(path: &Path, readers: usize, writer: Lanes) -> rusqlite::Result<Self> {
        let conns = (0..readers.max(1))
            .map(|_| open(path, true).map(|c| Mutex::new(Some(c))))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Self {
            queue: Arc::default(),
            readers: Arc::new(Readers {
                conns: conns.into(),
                next: AtomicUsize::new(0),
            }),
            writer,
        })
    }

    /// Runs `f` on a read-only connection: a free one if any, else waits for the next.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let conns = &self.readers.conns;
        let start = self.readers.next.fetch_add(1, Ordering::Relaxed);
        let free = (0..conns.len()).find_map(|i| conns[(start + i) % conns.len()].try_lock().ok());
        // A poisoned lock only means a panic elsewhere while it was held; SQLite's state
        // is unaffected (a statement is reset when its handle is dropped).
        let conn: MutexGuard<'_, Option<Connection>> = match free {
            Some(conn) => conn,
            None => conns[start % conns.len()]
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        };
        match conn.as_ref() {
            Some(conn) => f(conn),
            None => Err(closed()),
        }
    }

    /// Reads at most one row with `q` and converts it to its domain type (`operation`
    /// names the read in errors).
    pub(crate) fn read_row<R, T>(
        &self,
        operation: &'static str,
        q: &Query,
        decode: fn(&rusqlite::Row<'_>) -> rusqlite::Result<R>,
    ) -> Result<Option<T>, StoreError>
    where
        R: TryInto<T, Error = StoreError>,
    {
        self.read(|c| q.fetch_optional(c, decode))
            .map_err(|e| backend(operation, e))?
            .map(TryInto::try_into)
            .transpose()
    }

    /// Closes the read connections (the writer lane is closed with the store's lanes);
    /// later reads fail.
    pub(crate) fn close(&self) {
        for conn in self.readers.conns.iter() {
            let taken = conn.lock().unwrap_or_else(PoisonError::into_inner).take();
            if let Some(Err((_, e))) = taken.map(Connection::close) {
                tracing::warn!(error = %e, "closing a SQLite connection failed");
            }
        }
    }

    /// Runs `f` as one atomic write and returns its result once it is committed.
    ///
    /// Group commit: writes that arrive while others are being written are run together
    /// in one transaction, each inside a savepoint of its own (a failing write is rolled
    /// back alone; the others still commit). One commit then writes each changed page to
    /// the WAL once for the whole group instead of once per write, which is what bounded
    /// sign-ins: the writer lane's time per write was mostly those page writes. Nobody
    /// hears of success before the commit that holds their write has succeeded.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, WriteError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (done, result) = oneshot::channel();
        let lead = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.jobs.push(Box::new(Pending {
                work: Some(f),
                out: None,
                done,
            }));
            !std::mem::replace(&mut queue.leading, true)
        };
        if lead {
            match self.writer.try_direct() {
                // The writer is free: commit this group right here, without an await (so
                // a cancelled request cannot stop half-way) and without a hand-off.
                Some(conn) => {
                    let jobs = self.take_jobs();
                    commit_group(&conn, jobs);
                    drop(conn);
                    if !self.queue_drained() {
                        tokio::spawn(lead_writes(self.queue.clone(), self.writer.clone()));
                    }
                }
                // A task of its own, so a cancelled request cannot strand the queue.
                None => {
                    tokio::spawn(lead_writes(self.queue.clone(), self.writer.clone()));
                }
            }
        }
        result.await.unwrap_or_else(|_| {
            Err(WriteError::Commit(
                "the write was abandoned before it was committed".into(),
            ))
        })
    }
}

impl Direct {
    fn take_jobs(&self) -> Vec<Box<dyn PendingWrite>> {
        std::mem::take(
            &mut self
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .jobs,
        )
    }

    /// True when no write is queued, and then nobody leads any more; false when writes
    /// arrived meanwhile and the caller must see them written.
    fn queue_drained(&self) -> bool {
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if q.jobs.is_empty() {
            q.leading = false;
        }
        !q.leading
    }
}

/// Writes waiting for the writer lane, and whether a task is writing them.
#[derive(Default)]
struct Queue {
    jobs: Vec<Box<dyn PendingWrite>>,
    leading: bool,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("jobs", &self.jobs.len())
            .field("leading", &self.leading)
            .finish()
    }
}

/// Takes the writer lane and commits the queued writes, group after group, until the
/// queue is empty. The lane is given back between groups, so writes through sqlx (rare:
/// administration, sweeps) wait at most one group.
async fn lead_writes(queue: Arc<Mutex<Queue>>, writer: Lanes) {
    loop {
        let conn = writer.direct().await;
        let jobs = {
            let mut q = queue.lock().unwrap_or_else(PoisonError::into_inner);
            if q.jobs.is_empty() {
                q.leading = false;
                return;
            }
            std::mem::take(&mut q.jobs)
        };
        match conn {
            Ok(conn) => commit_group(&conn, jobs),
            Err(e) => {
                let e = rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISUSE),
                    Some(e.to_string()),
                );
                jobs.into_iter().for_each(|job| job.finish(Err(&e)));
            }
        }
    }
}

/// One transaction for `jobs`, each in a savepoint; then tells each its outcome.
fn commit_group(conn: &Connection, mut jobs: Vec<Box<dyn PendingWrite>>) {
    let outcome = (|| {
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        for job in jobs.iter_mut() {
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(conn)));
            if ran.is_err() {
                return Err(aborted("a write panicked"));
            }
            // Some errors (disk full, I/O) make SQLite roll the whole transaction back;
            // what ran before is gone, so nothing of this group may report success.
            if conn.is_autocommit() {
                return Err(aborted("SQLite rolled the transaction back"));
            }
        }
        conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(())
    })();
    if outcome.is_err()
        && !conn.is_autocommit()
        && let Err(e) = conn.execute_batch("ROLLBACK")
    {
        tracing::warn!(error = %e, "rolling back a failed write group failed");
    }
    for job in jobs {
        job.finish(outcome.as_ref().map(|_| ()));
    }
}

fn aborted(why: &str) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
        Some(why.to_string()),
    )
}

/// A queued write: run inside the group's transaction, then told the group's outcome.
trait PendingWrite: Send {
    fn run(&mut self, conn: &Connection);
    fn finish(self: Box<Self>, commit: Result<(), &rusqlite::Error>);
}

struct Pending<T, F> {
    work: Option<F>,
    out: Option<rusqlite::Result<T>>,
    done: oneshot::Sender<Result<T, WriteError>>,
}

impl<T, F> PendingWrite for Pending<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> rusqlite::Result<T> + Send,
{
    fn run(&mut self, conn: &Connection) {
        if let Some(work) = self.work.take() {
            self.out = Some(in_savepoint(conn, work));
        }
    }

    fn finish(self: Box<Self>, commit: Result<(), &rusqlite::Error>) {
        let result = match (self.out, commit) {
            (Some(Err(e)), _) => Err(WriteError::Sqlite(e)),
            (Some(Ok(v)), Ok(())) => Ok(v),
            (_, Err(e)) => Err(WriteError::Commit(e.to_string())),
            (None, Ok(())) => Err(WriteError::Commit("the write did not run".into())),
        };
        // The caller may have gone (request cancelled); its write stands.
        let _ = self.done.send(result);
    }
}

/// Runs `work` so that its changes are all kept or, on an error, all undone.
fn in_savepoint<T>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached("SAVEPOINT write")?.execute([])?;
    let out = work(conn).and_then(|v| {
        conn.prepare_cached("RELEASE write")?.execute([])?;
        Ok(v)
    });
    if out.is_err()
        && !conn.is_autocommit()
        && let Err(e) = conn.execute_batch("ROLLBACK TO write; RELEASE write")
    {
        tracing::warn!(error = %e, "undoing a failed write failed");
    }
    out
}

/// Why a write failed: the lane (closed store), the statement, or the commit.
#[derive(Debug)]
pub(crate) enum WriteError {
    Sqlite(rusqlite::Error),
    Commit(String),
}

impl From<rusqlite::Error> for WriteError {
    fn from(e: rusqlite::Error) -> Self {
        WriteError::Sqlite(e)
    }
}

/// A statement and its parameters, built with the same `.bind(…)` calls as an sqlx query
/// so the bind lists (`bind_grant!` …) serve both paths.
pub(crate) struct Query {
    sql: &'static str,
    args: Vec<Value>,
    /// The first parameter that could not be converted (reported when run).
    bad: Option<String>,
}

/// Starts a statement.
pub(crate) fn query(sql: &'static str) -> Query {
    Query {
        sql,
        args: Vec::with_capacity(24),
        bad: None,
    }
}

impl Query {
    /// Appends the next parameter (`$1`, `$2`, … in call order).
    pub(crate) fn bind<T: ToSql>(mut self, value: T) -> Self {
        match value.to_sql() {
            Ok(ToSqlOutput::Owned(v)) => self.args.push(v),
            Ok(ToSqlOutput::Borrowed(v)) => match Value::try_from(v) {
                Ok(v) => self.args.push(v),
                Err(e) => {
                    self.bad.get_or_insert_with(|| e.to_string());
                }
            },
            Ok(_) => {
                let index = self.args.len();
                self.bad.get_or_insert_with(|| unsupported(index));
            }
            Err(e) => {
                self.bad.get_or_insert_with(|| e.to_string());
            }
        }
        self
    }

    fn prepare<'c>(&self, conn: &'c Connection) -> rusqlite::Result<rusqlite::CachedStatement<'c>> {
        if let Some(bad) = &self.bad {
            return Err(rusqlite::Error::ToSqlConversionFailure(bad.clone().into()));
        }
        let mut stmt = conn.prepare_cached(self.sql)?;
        for (i, value) in self.args.iter().enumerate() {
            let name = NAMES.get(i).copied().unwrap_or("$?");
            let index = stmt
                .parameter_index(name)?
                .ok_or(rusqlite::Error::InvalidParameterName(name.to_string()))?;
            stmt.raw_bind_parameter(index, value)?;
        }
        Ok(stmt)
    }

    /// Runs a statement that returns no rows; the number of rows it changed.
    pub(crate) fn execute(&self, conn: &Connection) -> rusqlite::Result<usize> {
        self.prepare(conn)?.raw_execute()
    }

    /// Runs a statement and decodes its first row, if any.
    pub(crate) fn fetch_optional<T>(
        &self,
        conn: &Connection,
        decode: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<Option<T>> {
        let mut stmt = self.prepare(conn)?;
        let mut rows = stmt.raw_query();
        match rows.next()? {
            Some(row) => decode(row).map(Some),
            None => Ok(None),
        }
    }
}

fn closed() -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISUSE),
        Some("the store is closed".into()),
    )
}

fn unsupported(index: usize) -> String {
    format!("parameter ${} has a type SQLite cannot store", index + 1)
}

/// Implements `from_direct` (a row from this module's path) for a row struct whose field
/// names are its column names; invoked where the struct's fields are visible.
macro_rules! from_direct_row {
    ($row:ident { $($field:ident),+ $(,)? }) => {
        impl $row {
            pub(crate) fn from_direct(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Ok(Self { $($field: row.get(stringify!($field))?),+ })
            }
        }
    };
}
pub(crate) use from_direct_row;

/// Maps a failed read or a failed write that breaks no uniqueness rule (as
/// `error::backend` does for sqlx).
pub(crate) fn backend(operation: &'static str, err: impl Into<WriteError>) -> StoreError {
    match err.into() {
        WriteError::Commit(e) => StoreError::Backend(format!("{operation}: {e}")),
        WriteError::Sqlite(
            e @ (rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::InvalidColumnName(_)
            | rusqlite::Error::IntegralValueOutOfRange(..)),
        ) => StoreError::Corrupt(format!("{operation}: {e}")),
        WriteError::Sqlite(e) => StoreError::Backend(format!("{operation}: {e}")),
    }
}

/// Maps a failed write: a unique violation becomes `Conflict(what())` (as
/// `error::write` does for sqlx).
pub(crate) fn write(
    operation: &'static str,
    err: impl Into<WriteError>,
    what: impl FnOnce() -> String,
) -> StoreError {
    let err = err.into();
    if let WriteError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) = &err
        && matches!(
            e.extended_code,
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        )
    {
        return StoreError::Conflict(what());
    }
    backend(operation, err)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqliteConnectOptions;

    async fn direct(dir: &tempfile::TempDir) -> Direct {
        let path = dir.path().join("direct.db");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        let writer = Lanes::open_writer(&options).await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER PRIMARY KEY, y TEXT)")
            .execute(&writer)
            .await
            .unwrap();
        Direct::open(&path, 2, writer).unwrap()
    }

    fn insert(x: i64) -> Query {
        query("INSERT INTO t (x, y) VALUES ($1, $2)")
            .bind(x)
            .bind(format!("row {x}"))
    }

    fn rows(d: &Direct) -> Vec<i64> {
        d.read(|c| {
            let mut stmt = c.prepare("SELECT x FROM t ORDER BY x")?;
            stmt.query_map([], |r| r.get(0))?.collect()
        })
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_all_commit_with_their_own_results() {
        let dir = tempfile::tempdir().unwrap();
        let d = direct(&dir).await;
        let writes = (0..200).map(|x| {
            let d = d.clone();
            tokio::spawn(async move {
                let q = insert(x);
                d.write(move |c| q.execute(c)).await
            })
        });
        for w in futures_util::future::join_all(writes).await {
            assert_eq!(w.unwrap().unwrap(), 1, "each insert changed one row");
        }
        assert_eq!(rows(&d), (0..200).collect::<Vec<_>>());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_write_is_undone_alone() {
        let dir = tempfile::tempdir().unwrap();
        let d = direct(&dir).await;
        let q = insert(1);
        d.write(move |c| q.execute(c)).await.unwrap();
        // All queued behind a held lane, so they commit as one group: each inserts two
        // rows, the second of which collides for multiples of 4 (row 1 exists), so those
        // must leave nothing behind while the rest of the group commits.
        let lane = d.writer.acquire().await.unwrap();
        let writes: Vec<_> = (2..100)
            .map(|x| {
                let d = d.clone();
                tokio::spawn(async move {
                    let first = insert(x * 1000);
                    let second = insert(if x % 4 == 0 { 1 } else { x * 1000 + 1 });
                    d.write(move |c| {
                        first.execute(c)?;
                        second.execute(c)
                    })
                    .await
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(lane);
        for (x, w) in (2..100).zip(futures_util::future::join_all(writes).await) {
            let w = w.unwrap();
            if x % 4 == 0 {
                let e = backend("insert", w.unwrap_err());
                assert!(e.to_string().contains("UNIQUE"), "{e}");
            } else {
                assert_eq!(w.unwrap(), 1);
            }
        }
        let mut want = vec![1];
        for x in (2..100).filter(|x| x % 4 != 0) {
            want.extend([x * 1000, x * 1000 + 1]);
        }
        want.sort_unstable();
        assert_eq!(rows(&d), want);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_caller_neither_loses_its_write_nor_stalls_others() {
        let dir = tempfile::tempdir().unwrap();
        let d = direct(&dir).await;
        // Hold the lane so the writes queue, then drop their callers' futures.
        let lane = d.writer.acquire().await.unwrap();
        let pending: Vec<_> = (0..5)
            .map(|x| {
                let d = d.clone();
                tokio::spawn(async move {
                    let q = insert(x);
                    d.write(move |c| q.execute(c)).await
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        pending.iter().for_each(|p| p.abort());
        drop(lane);
        let q = insert(99);
        let later = tokio::time::timeout(Duration::from_secs(5), d.write(move |c| q.execute(c)));
        assert_eq!(later.await.expect("the queue kept moving").unwrap(), 1);
        assert_eq!(rows(&d), vec![0, 1, 2, 3, 4, 99]);
    }

    #[tokio::test]
    async fn a_closed_store_refuses_reads_and_writes() {
        let dir = tempfile::tempdir().unwrap();
        let d = direct(&dir).await;
        d.close();
        d.writer.close().await;
        let e = d.read(|c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)));
        assert!(e.is_err());
        let q = insert(1);
        let w = tokio::time::timeout(Duration::from_secs(5), d.write(move |c| q.execute(c)));
        assert!(w.await.expect("no hang").is_err());
    }
}
