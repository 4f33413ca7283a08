//! WAL checkpoints on a thread of their own, off the request path.
//!
//! In WAL mode a commit appends to the `-wal` file; a checkpoint copies those pages back
//! into the database file and syncs both. By default SQLite checkpoints inside whichever
//! commit pushes the WAL past 1,000 pages, so every few hundred sign-ins one request's
//! write took tens of milliseconds of copying and `fsync` — while holding the only writer
//! lane, so every other write waited behind it (measured: sign-ins per second were the
//! same at concurrency 8 and 32, with a third of the CPU idle). The writer connections
//! therefore switch automatic checkpoints off (`wal_autocheckpoint = 0`), and this thread
//! runs a `PASSIVE` checkpoint every [`INTERVAL`]: it never blocks readers or the writer,
//! and once it has caught up SQLite restarts the WAL from its beginning, so the file
//! stays small. `synchronous = NORMAL` is unchanged: commits are durable against a crash
//! of idgate, and the checkpoint's syncs make them durable against power loss.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the WAL is copied back. At the fastest write rate measured (~6,000 commits
/// a second during sign-ins) the WAL grows by well under 100 MB in this time.
pub(crate) const INTERVAL: Duration = Duration::from_millis(500);

/// A WAL left larger than this by a burst is truncated back to it when it restarts.
pub(crate) const JOURNAL_SIZE_LIMIT: &str = "67108864";

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
    /// Starts checkpointing the database at `path` (its own connection).
    pub(crate) fn start(path: &Path) -> rusqlite::Result<Self> {
        let conn = crate::sqlite_direct::open(path, false)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("idgate-sqlite-checkpoint".into())
            .spawn(move || {
                loop {
                    let last = match stopped.recv_timeout(INTERVAL) {
                        Err(RecvTimeoutError::Timeout) => false,
                        // Stopping (or the store is gone): one last checkpoint.
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => true,
                    };
                    if let Err(e) = checkpoint(&conn) {
                        tracing::warn!(error = %e, "SQLite checkpoint failed; will retry");
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
/// a CLI command closes its store).
fn checkpoint(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    // Returns (busy, WAL frames, frames checkpointed); nothing to act on here.
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}
