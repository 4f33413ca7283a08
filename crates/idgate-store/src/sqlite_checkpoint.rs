//! WAL checkpoints on a thread of their own, off the request path.
//!
//! In WAL mode a commit appends to the `-wal` file; a checkpoint copies those pages back
//! into the database file and syncs both. By default SQLite checkpoints inside whichever
//! commit pushes the WAL past 1,000 pages, so every few hundred sign-ins one request's
//! write took tens of milliseconds of copying and `fsync` — while holding the only writer
//! lane, so every other write waited behind it (measured: sign-ins per second were the
//! same at concurrency 8 and 32, with a third of the CPU idle). The writer connections
//! therefore switch automatic checkpoints off (`wal_autocheckpoint = 0`), and this thread
//! runs a `PASSIVE` checkpoint every [`INTERVAL`]: it never blocks readers or the writer.
//!
//! A passive checkpoint alone does not keep the file small under steady load. SQLite
//! reuses the WAL from its beginning only when a writer finds every frame copied back and
//! no reader still in the WAL; with commits arriving continuously the copy is always a
//! few frames behind, so the WAL grew without end (measured: 4 GB after ten minutes of
//! sign-ins). So once the WAL passes [`RESTART_FRAMES`], the thread holds the store's
//! writer lane — this process's writes queue for a moment instead of appending — and runs
//! a `RESTART` checkpoint, which copies the last frames and waits (at most
//! [`RESTART_WAIT`]) for readers to leave the WAL; the next commit then writes the WAL
//! from its beginning. The passive checkpoint just before it has copied most frames, so
//! the pause is short (measured at ~2,000 sign-ins a second: 8–23 ms per restart, about
//! one a second, most of it the checkpoint's sync); a reader that stays longer (an
//! online backup) postpones restarts with a backoff.
//!
//! `synchronous = NORMAL` is unchanged: commits are durable against a crash of idgate,
//! and the checkpoint's syncs make them durable against power loss.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::sqlite_lanes::Lanes;

/// How often the WAL is copied back. At the fastest write rate measured (~6,000 commits
/// a second during sign-ins) the WAL grows by well under 100 MB in this time.
pub(crate) const INTERVAL: Duration = Duration::from_millis(500);

/// A WAL left larger than this by a burst is truncated back to it when it restarts:
/// 256 MiB, above the size it reaches between restarts under steady load
/// ([`RESTART_FRAMES`] plus one interval's writes), so it is not cut and regrown each time.
pub(crate) const JOURNAL_SIZE_LIMIT: &str = "268435456";

/// WAL frames (pages) past which the WAL is made to start over: 128 MiB of 4 KiB pages.
/// Each restart holds writes for 8–23 ms (measured); at ~2,000 sign-ins a second (about
/// 100 MB of WAL a second) this is one restart a second or so.
const RESTART_FRAMES: i64 = 32_768;

/// How long a WAL restart waits for readers (writes are held meanwhile) before giving up
/// until a later interval. Readers on the sign-in path take microseconds.
const RESTART_WAIT: Duration = Duration::from_millis(20);

/// The checkpointing thread of one SQLite store; stopped by [`Checkpointer::stop`].
#[derive(Debug, Clone)]
pub(crate) struct Checkpointer {
    inner: Arc<Mutex<Option<Running>>>,
}

#[derive(Debug)]
struct Running {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path` (its own connection); `writer` is the
    /// store's writer lane, held while the WAL is made to start over.
    pub(crate) fn start(path: &Path, writer: Lanes) -> rusqlite::Result<Self> {
        Self::start_with(path, writer, INTERVAL, RESTART_FRAMES)
    }

    fn start_with(
        path: &Path,
        writer: Lanes,
        interval: Duration,
        restart_frames: i64,
    ) -> rusqlite::Result<Self> {
        let conn = crate::sqlite_direct::open(path, false)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("idgate-sqlite-checkpoint".into())
            .spawn(move || {
                let mut restarts = Backoff::default();
                loop {
                    let last = match stopped.recv_timeout(interval) {
                        Err(RecvTimeoutError::Timeout) => false,
                        // Stopping (or the store is gone): one last checkpoint.
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => true,
                    };
                    let restart = restarts.due().then_some(restart_frames);
                    match checkpoint(&conn, &writer, restart) {
                        Ok(Some(busy)) => restarts.record(busy),
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "SQLite checkpoint failed; will retry");
                        }
                    }
                    if last {
                        break;
                    }
                }
            })
            .map_err(|e| {
                rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                    Some(format!("cannot start the checkpoint thread: {e}")),
                )
            })?;
        Ok(Self {
            inner: Arc::new(Mutex::new(Some(Running { stop, thread }))),
        })
    }

    /// Runs a final checkpoint and ends the thread (waits for it). Safe to call twice.
    pub(crate) fn stop(&self) {
        let running = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(Running { stop, thread }) = running {
            let _ = stop.send(());
            if thread.join().is_err() {
                tracing::warn!("the SQLite checkpoint thread panicked");
            }
        }
    }
}

/// One `PASSIVE` checkpoint: copies what no reader still needs, waits for nobody (a
/// stronger mode would wait for other processes' readers, e.g. a running server's when
/// a CLI command closes its store). Then, if the WAL has grown past [`RESTART_FRAMES`],
/// a `RESTART` checkpoint with this store's writes held (see the module comment):
/// `Some(busy)` when one was tried. (`TRUNCATE` also works but cutting the file costs
/// tens of milliseconds more, with writes held.)
fn checkpoint(
    conn: &rusqlite::Connection,
    writer: &Lanes,
    restart_frames: Option<i64>,
) -> rusqlite::Result<Option<bool>> {
    let frames = wal_checkpoint(conn, "PASSIVE")?.wal_frames;
    if restart_frames.is_none_or(|limit| frames < limit) {
        return Ok(None);
    }
    // `None`: the store is closing; its last checkpoint is passive.
    let Some(writes_held) = writer.hold_blocking() else {
        return Ok(None);
    };
    let held = std::time::Instant::now();
    conn.busy_handler(Some(wait_briefly))?;
    let restarted = wal_checkpoint(conn, "RESTART");
    drop(writes_held);
    conn.busy_timeout(crate::sqlite_direct::BUSY_TIMEOUT)?;
    let busy = restarted?.busy;
    let held_us = held.elapsed().as_micros() as u64;
    if busy {
        tracing::debug!(
            frames,
            held_us,
            "WAL restart postponed: a reader stayed in the WAL"
        );
    } else {
        tracing::debug!(frames, held_us, "WAL restarted");
    }
    Ok(Some(busy))
}

/// Spacing of WAL restarts after one found a reader it could not wait out (a long
/// report, or an online backup, which reads for as long as it copies): each such failure
/// doubles the number of intervals skipped, up to [`Backoff::MAX_SKIP`], so writes are not
/// held [`RESTART_WAIT`] every interval while it lasts.
#[derive(Debug, Default)]
struct Backoff {
    skip: u32,
    remaining: u32,
}

impl Backoff {
    /// 64 intervals: half a minute.
    const MAX_SKIP: u32 = 64;

    fn due(&mut self) -> bool {
        if self.remaining == 0 {
            return true;
        }
        self.remaining -= 1;
        false
    }

    fn record(&mut self, busy: bool) {
        self.skip = if busy {
            (self.skip * 2).clamp(1, Self::MAX_SKIP)
        } else {
            0
        };
        self.remaining = self.skip;
    }
}

/// The busy handler during a restart: readers on the sign-in path leave the WAL within
/// microseconds, so it polls every 50 µs, up to [`RESTART_WAIT`] in all, where SQLite's
/// own handler sleeps 1, 2, 5, 10 … ms between tries — with writes held meanwhile.
fn wait_briefly(tries: i32) -> bool {
    const POLL: Duration = Duration::from_micros(50);
    let tries = u32::try_from(tries).unwrap_or(u32::MAX);
    if POLL * tries >= RESTART_WAIT {
        return false;
    }
    std::thread::sleep(POLL);
    true
}

/// What `PRAGMA wal_checkpoint` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Checkpointed {
    /// The checkpoint could not finish (a lock or reader it would have waited for).
    busy: bool,
    /// Frames in the WAL.
    wal_frames: i64,
}

fn wal_checkpoint(conn: &rusqlite::Connection, mode: &str) -> rusqlite::Result<Checkpointed> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        Ok(Checkpointed {
            busy: row.get::<_, i64>(0)? != 0,
            wal_frames: row.get(1)?,
        })
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::sqlite_direct::{Direct, query};
    use sqlx::sqlite::SqliteConnectOptions;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;

    /// Writes without pause while readers keep reading: the situation in which passive
    /// checkpoints alone never let the WAL start over.
    #[test]
    fn restarts_back_off_while_a_reader_stays_and_resume_after() {
        let mut b = Backoff::default();
        assert!(b.due() && b.due(), "due every interval at first");
        let skipped = |b: &mut Backoff| (0..100).take_while(|_| !b.due()).count();
        b.record(true);
        assert_eq!(skipped(&mut b), 1);
        b.record(true);
        assert_eq!(skipped(&mut b), 2);
        for _ in 0..10 {
            b.record(true);
        }
        assert_eq!(skipped(&mut b), Backoff::MAX_SKIP as usize);
        b.record(false);
        assert_eq!(skipped(&mut b), 0, "a restart that worked ends the backoff");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_stays_bounded_under_continuous_writes_and_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .pragma("journal_size_limit", "0");
        let writer = Lanes::open_writer(&options).await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER PRIMARY KEY, y TEXT)")
            .execute(&writer)
            .await
            .unwrap();
        let direct = Direct::open(&path, 2, writer.clone()).unwrap();
        // 64 frames = 256 KiB of WAL before a restart is due.
        let checkpointer =
            Checkpointer::start_with(&path, writer.clone(), Duration::from_millis(20), 64).unwrap();
        let reading = Arc::new(AtomicBool::new(true));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (direct, reading) = (direct.clone(), reading.clone());
                std::thread::spawn(move || {
                    // Point reads, as on the sign-in path.
                    let mut n = 0i64;
                    while reading.load(Ordering::Relaxed) {
                        n += 1;
                        direct
                            .read(|c| {
                                c.query_row(
                                    "SELECT count(*) FROM t WHERE x = ?1",
                                    [n % 1000],
                                    |r| r.get::<_, i64>(0),
                                )
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        let wal = dir.path().join("wal.db-wal");
        let mut largest = 0u64;
        let started = Instant::now();
        let mut x = 0i64;
        // 8,192 rows of 2 KiB: 16 MiB that every WAL without restarts would hold.
        // Bounded in time too (a write takes well under a millisecond).
        while x < 8192 && started.elapsed() < Duration::from_secs(20) {
            x += 1;
            let q = query("INSERT INTO t (x, y) VALUES ($1, $2)")
                .bind(x)
                .bind("w".repeat(2048));
            direct.write(move |c| q.execute(c)).await.unwrap();
            largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        }
        reading.store(false, Ordering::Relaxed);
        readers.into_iter().for_each(|r| r.join().unwrap());
        checkpointer.stop();
        // Without restarts the WAL holds every page written: more than the 16 MiB of row
        // data (each commit rewrites the half-filled last page; measured ~40 MB). With them
        // it stays near the 64-frame threshold plus one interval's writes (measured ≤ 6 MB,
        // the interval being irregular on a busy machine).
        assert_eq!(x, 8192, "the load did not finish in time");
        assert!(
            largest < 16 * 1024 * 1024,
            "the WAL reached {largest} bytes for 16 MiB written: it never started over"
        );
        let count: i64 = direct
            .read(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(count, x, "every committed row is there");
    }
}
