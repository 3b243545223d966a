//! What keeps requests off the writer thread's queue (issue 15, "no stall").
//!
//! - [`Readers`]: a few threads, each with its own connection in
//!   `query_only` mode, answer the reads (a poll's lookup, the consent page's
//!   view). In WAL mode a reader never waits for the writer: it sees the last
//!   committed state (the writer answers only after COMMIT, so whatever a
//!   client was told is visible to its next read).
//! - [`Pace`]: the `slow_down` clock of each session, in memory. A poll that
//!   only reports a status writes nothing, so it never queues behind the
//!   writer's group commit and fsync.
//! - [`Checkpointer`]: the writer's automatic checkpoint is off; a background
//!   thread on its own connection runs PASSIVE checkpoints (they take no lock
//!   that readers or the writer wait for) after commits. Durability is
//!   unchanged: with `synchronous = FULL` every commit is fsynced in the WAL
//!   before the caller is answered, and the checkpoint fsyncs the WAL before
//!   copying it and the database after.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::store::{SessionId, StoreError};

/// Reader threads. Two cores is the smallest target; a third and fourth thread
/// keep reads flowing while one waits on a page fault.
pub(super) const READERS: usize = 4;

type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// Open a connection for the reader or checkpointer threads.
fn open_side(path: &Path, sync: &str) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {sync};
         PRAGMA cache_size = -4096;
         PRAGMA temp_store = MEMORY;
         PRAGMA wal_autocheckpoint = 0;"
    ))?;
    conn.set_prepared_statement_cache_capacity(16);
    Ok(conn)
}

/// Pool of read-only connections, each on its own thread.
pub(super) struct Readers {
    tx: mpsc::Sender<ReadJob>,
}

impl Readers {
    /// Open `READERS` connections to `path` and start their threads. The
    /// threads end when the last [`Readers`] is dropped.
    pub(super) fn start(path: &Path, sync: &str) -> Result<(Self, Vec<JoinHandle<()>>), StoreError> {
        let (tx, rx) = mpsc::channel::<ReadJob>(4096);
        let rx = Arc::new(Mutex::new(rx));
        let mut handles = Vec::with_capacity(READERS);
        for i in 0..READERS {
            let conn = open_side(path, sync)?;
            conn.execute_batch("PRAGMA query_only = ON;")?;
            let rx = rx.clone();
            let h = std::thread::Builder::new()
                .name(format!("sealpost-read-{i}"))
                .spawn(move || {
                    loop {
                        // One thread waits on the channel, the others on the lock.
                        let job = match rx.lock() {
                            Ok(mut guard) => guard.blocking_recv(),
                            Err(_) => None,
                        };
                        let Some(job) = job else { break };
                        job(&conn);
                    }
                    let _ = conn.close();
                })
                .map_err(|_| StoreError::Closed)?;
            handles.push(h);
        }
        Ok((Self { tx }, handles))
    }

    /// Run `f` on a reader connection (autocommit: each statement sees the
    /// last committed state).
    pub(super) async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply_tx, reply_rx) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn| {
            let _ = reply_tx.send(f(conn));
        });
        self.tx.send(job).await.map_err(|_| StoreError::Closed)?;
        reply_rx.await.map_err(|_| StoreError::Closed)?
    }
}

/// Shards of the pace table (less lock contention between reader replies).
const PACE_SHARDS: usize = 16;
/// A shard larger than this drops its stale entries before growing further.
const PACE_PRUNE_AT: usize = 4096;

/// When each session was last polled (a poll that counted: not a `slow_down`,
/// not a refused token), to answer `slow_down` to a client polling faster
/// than its interval. In memory, so a poll that only reads writes nothing.
///
/// A restart (or kill -9) must not let a client poll faster: a session created
/// before this process started, and not polled since, counts as polled at the
/// start, so a poll within its interval after a restart still gets
/// `slow_down`. With several broker processes on one database file each
/// process paces the polls it serves.
///
/// Bounded: an entry is useful only within its session's interval, so entries
/// older than that are dropped by [`Pace::prune`] (from the sweeper) and when a
/// shard grows past `PACE_PRUNE_AT`; at most one entry per open session remains.
pub(super) struct Pace {
    shards: Box<[Mutex<HashMap<SessionId, PaceEntry>>]>,
    /// Unix ms when this process opened the store.
    started_at: i64,
}

#[derive(Clone, Copy)]
struct PaceEntry {
    last: i64,
    min_gap_ms: i64,
}

impl Pace {
    pub(super) fn new(started_at: i64) -> Self {
        Self { shards: (0..PACE_SHARDS).map(|_| Mutex::new(HashMap::new())).collect(), started_at }
    }

    fn shard(&self, id: &SessionId) -> Option<std::sync::MutexGuard<'_, HashMap<SessionId, PaceEntry>>> {
        self.shards[usize::from(id[0]) % PACE_SHARDS].lock().ok()
    }

    /// Record a poll at `now` unless it comes too soon after the last one
    /// recorded; `true` when it is too soon (answer `slow_down`). Atomic per
    /// session: of two concurrent polls, one is recorded and the other is too soon.
    ///
    /// `now` is read before the request reaches here, so concurrent polls can
    /// arrive out of order: a poll stamped earlier than the last one recorded
    /// has a gap of 0, not a negative one.
    pub(super) fn too_soon(&self, id: &SessionId, now: i64, interval_s: i64, created_at: i64) -> bool {
        // 10% grace for network jitter between two polls a full interval apart.
        let min_gap_ms = interval_s.saturating_mul(900);
        let Some(mut map) = self.shard(id) else {
            return false;
        };
        let last = match map.get(id) {
            Some(e) => Some(e.last),
            // Maybe polled just before a restart: as if polled at the start.
            None if created_at < self.started_at && now >= self.started_at => Some(self.started_at),
            None => None,
        };
        if let Some(last) = last
            && now.saturating_sub(last).max(0) < min_gap_ms
        {
            return true;
        }
        if map.len() >= PACE_PRUNE_AT && !map.contains_key(id) {
            let before = map.len();
            map.retain(|_, e| now.saturating_sub(e.last) < e.min_gap_ms);
            if map.len() == before {
                // Nothing stale: let the shard grow (bounded by the open sessions).
                map.reserve(before);
            }
        }
        map.insert(*id, PaceEntry { last: now, min_gap_ms });
        false
    }

    /// Drop every entry whose interval has passed.
    pub(super) fn prune(&self, now: i64) {
        for s in self.shards.iter() {
            if let Ok(mut map) = s.lock() {
                map.retain(|_, e| now.saturating_sub(e.last) < e.min_gap_ms);
            }
        }
    }
}

/// Background PASSIVE checkpoints, so that copying the WAL into the database
/// (and its fsync) never happens inside a request's commit.
pub(super) struct Checkpointer {
    commits: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

/// How often the checkpointer looks for new commits.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

impl Checkpointer {
    pub(super) fn start(path: &Path, sync: &str) -> Result<Self, StoreError> {
        let conn = open_side(path, sync)?;
        let commits = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (commits.clone(), stop.clone());
        let handle = std::thread::Builder::new()
            .name("sealpost-checkpoint".into())
            .spawn(move || {
                let mut seen = 0u64;
                while !s.load(Ordering::Acquire) {
                    std::thread::park_timeout(CHECKPOINT_EVERY);
                    let now = c.load(Ordering::Acquire);
                    if now == seen {
                        continue;
                    }
                    seen = now;
                    // PASSIVE: copies what no reader still needs, waits for nobody.
                    let t = std::time::Instant::now();
                    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                    }) {
                        Ok((log, done)) => {
                            tracing::debug!(log, done, ms = t.elapsed().as_millis(), "checkpoint")
                        }
                        Err(e) => tracing::warn!(error = %e, "background checkpoint failed"),
                    }
                }
                let _ = conn.close();
            })
            .map_err(|_| StoreError::Closed)?;
        Ok(Self { commits, stop, handle: Some(handle) })
    }

    /// Count a commit (called by the writer thread after each COMMIT).
    pub(super) fn committed(&self) {
        self.commits.fetch_add(1, Ordering::Release);
    }

    /// Stop the thread and wait for it (before the writer's final checkpoint).
    pub(super) fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}

/// The exact recount of open sessions after a sweep, off the writer thread.
///
/// Counting a large table takes long; on the writer it stalled every request
/// queued behind it. Here the writer thread, between two batches (so right
/// after its last COMMIT), opens a read transaction on a side connection —
/// a snapshot of exactly what it committed — and notes its counter; another
/// thread counts in that snapshot. When the count arrives, the writer sets
/// `open = count + (open now - open at the snapshot)`: the changes it made
/// since then, which the snapshot cannot see. Same exactness as a count on
/// the writer, without the wait.
pub(super) struct Recounter {
    /// `now` of the latest sweep asking for a recount (0: none asked).
    pub(super) asked: Arc<std::sync::atomic::AtomicI64>,
    conn: Option<Connection>,
    inflight: Option<Inflight>,
}

struct Inflight {
    rx: std::sync::mpsc::Receiver<(Connection, Result<i64, StoreError>)>,
    open_at_snapshot: i64,
    stale: bool,
}

impl Recounter {
    pub(super) fn new(path: &Path, sync: &str) -> Result<Self, StoreError> {
        let conn = open_side(path, sync)?;
        conn.execute_batch("PRAGMA query_only = ON;")?;
        Ok(Self { asked: Arc::new(std::sync::atomic::AtomicI64::new(0)), conn: Some(conn), inflight: None })
    }

    /// Between two batches: apply a finished count, start an asked one.
    pub(super) fn tick(&mut self, open: &mut i64) {
        if let Some(f) = &self.inflight {
            match f.rx.try_recv() {
                Ok((conn, result)) => {
                    if !f.stale {
                        match result {
                            Ok(count) => *open = count + (*open - f.open_at_snapshot),
                            Err(e) => tracing::warn!(error = %e, "recount of open sessions failed"),
                        }
                    }
                    self.conn = Some(conn);
                    self.inflight = None;
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => return,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    // The counting thread is gone with the connection: no more recounts.
                    self.inflight = None;
                    return;
                }
            }
        }
        let now = self.asked.swap(0, Ordering::AcqRel);
        if now == 0 {
            return;
        }
        let Some(conn) = self.conn.take() else { return };
        // The snapshot is taken by the first read of the transaction, here, on
        // the writer thread and after its last COMMIT.
        let begun = conn.execute_batch("BEGIN").and_then(|()| {
            conn.query_row("SELECT count(*) FROM (SELECT 1 FROM sessions LIMIT 1)", [], |r| r.get::<_, i64>(0))
        });
        if let Err(e) = begun {
            tracing::warn!(error = %e, "recount of open sessions could not start");
            let _ = conn.execute_batch("ROLLBACK");
            self.conn = Some(conn);
            return;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new().name("sealpost-recount".into()).spawn(move || {
            let result = super::count_open(&conn, now);
            let _ = conn.execute_batch("COMMIT");
            let _ = tx.send((conn, result));
        });
        match spawned {
            Ok(_) => self.inflight = Some(Inflight { rx, open_at_snapshot: *open, stale: false }),
            Err(_) => tracing::warn!("recount thread could not start"),
        }
    }

    /// The writer recounted by itself (after a failed commit): a count in
    /// flight would now be applied to the wrong base, so drop it.
    pub(super) fn invalidate(&mut self) {
        if let Some(f) = &mut self.inflight {
            f.stale = true;
        }
    }

    /// Wait for a count in flight (at shutdown).
    pub(super) fn finish(mut self) {
        if let Some(f) = self.inflight.take() {
            let _ = f.rx.recv();
        }
    }
}
