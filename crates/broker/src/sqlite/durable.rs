//! The fsync of `--db-sync full`, off the writer thread (issue 15: creation latency).
//!
//! With `synchronous = FULL` SQLite fsyncs the WAL inside COMMIT, on the writer
//! thread, while it holds the write lock: nothing else is written during the
//! fsync, and requests arriving meanwhile wait for it, then for their own
//! batch, then for its fsync. Measured on the busy 2-core machine, that fsync
//! took 0.2 ms to 150+ ms depending on what else wrote to the disk.
//!
//! Here the writer connection runs `synchronous = NORMAL` (COMMIT writes the
//! WAL frames, no fsync: survives a process crash, not a power loss) and the
//! [`Syncer`] thread makes each commit durable before anyone hears of it: the
//! writer hands it the batch's replies right after COMMIT; it `fdatasync`s the
//! WAL file (one call for every commit handed over since the last one: group
//! commit across batches) and only then answers. Meanwhile the writer already
//! runs the next batch. So a 201 / 200 is still sent only after its
//! transaction is in the WAL on disk, exactly as with `synchronous = FULL`.
//!
//! Reads: in between COMMIT and the fsync, the reader connections can see a
//! transaction nobody was told about yet. A reader that found something other
//! than a state a client could only have caused itself (a `confirmed` or
//! `declined` session) waits with [`Durable::covered`] until every commit it
//! may have seen is durable, so no answer ever reports a state a power loss
//! could undo. (A `ready` session always goes through the writer, whose answer
//! waits for the fsync that covers the `complete` too: one WAL, fsynced whole.)
//!
//! fdatasync rather than fsync: the bundled SQLite calls `fsync` (it is built
//! without `HAVE_FDATASYNC`), which also writes the inode (mtime) and so waits
//! for an ext4 journal commit shared with every other writer on the disk. The
//! WAL is overwritten in place once it reached its size (`journal_size_limit`),
//! and fdatasync still writes the size when it changed, which is all a
//! recovery reads.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use tokio::sync::watch;

use crate::store::StoreError;

use super::Reply;

/// One committed (or failed) batch handed to the syncer.
pub(super) struct Handed {
    pub(super) seq: u64,
    pub(super) committed: bool,
    pub(super) replies: Vec<Reply>,
}

/// Which commits are durable: shared by the writer, the syncer and the readers.
#[derive(Clone)]
pub(super) struct Durable {
    /// Sequence number of the latest batch the writer started (before its BEGIN).
    started: Arc<AtomicU64>,
    /// Highest batch sequence number known durable (or failed).
    synced: watch::Receiver<u64>,
    /// The same number, for the writer thread to block on.
    gate: Arc<(Mutex<u64>, Condvar)>,
}

impl Durable {
    /// Number the next batch (called by the writer before BEGIN).
    pub(super) fn next_seq(&self) -> u64 {
        self.started.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Called by the writer before it collects its next batch: wait while more
    /// than one committed batch waits for its fsync. One batch runs while the
    /// previous one is fsynced; a third would only add a commit (and its WAL
    /// pages) that the same next fsync covers, so the writer lets the requests
    /// queue into one larger batch instead.
    pub(super) fn pace_writer(&self) {
        let want = self.started.load(Ordering::Acquire).saturating_sub(1);
        let (lock, cv) = &*self.gate;
        let Ok(mut synced) = lock.lock() else { return };
        while *synced < want {
            synced = match cv.wait(synced) {
                Ok(g) => g,
                Err(_) => return,
            };
        }
    }

    /// Wait until every commit a read that just finished may have seen is
    /// durable. Call after the read: anything it saw was committed by a batch
    /// numbered before the read began.
    pub(super) async fn covered(&self) -> Result<(), StoreError> {
        let target = self.started.load(Ordering::Acquire);
        if *self.synced.borrow() >= target {
            return Ok(());
        }
        let mut rx = self.synced.clone();
        rx.wait_for(|&s| s >= target).await.map(|_| ()).map_err(|_| StoreError::Closed)
    }
}

/// The syncer thread and the writer's end of its queue.
pub(super) struct Syncer {
    tx: Option<std::sync::mpsc::Sender<Handed>>,
    handle: Option<JoinHandle<()>>,
}

impl Syncer {
    /// Open the WAL file of the database at `path` (it exists once the schema
    /// is written) and start the thread.
    pub(super) fn start(path: &Path) -> Result<(Self, Durable), StoreError> {
        let mut p = path.as_os_str().to_owned();
        p.push("-wal");
        // Read-only is enough for fdatasync; the file is SQLite's to write.
        let wal = File::open(Path::new(&p)).map_err(|_| StoreError::Closed)?;
        let (synced_tx, synced_rx) = watch::channel(0u64);
        let gate: Arc<(Mutex<u64>, Condvar)> = Arc::default();
        let writer_gate = gate.clone();
        let (tx, rx) = std::sync::mpsc::channel::<Handed>();
        let handle = std::thread::Builder::new()
            .name("sealpost-fsync".into())
            .spawn(move || {
                let mut handed: Vec<Handed> = Vec::new();
                while let Ok(first) = rx.recv() {
                    handed.push(first);
                    while let Ok(more) = rx.try_recv() {
                        handed.push(more);
                    }
                    // Every batch in `handed` returned from COMMIT before this
                    // call started, so its frames are in the file's page cache.
                    let mut durable = true;
                    if handed.iter().any(|h| h.committed) {
                        let t = std::time::Instant::now();
                        if let Err(e) = wal.sync_data() {
                            tracing::error!(error = %e, "fsync of the WAL failed");
                            durable = false;
                        }
                        let took = t.elapsed();
                        if took > std::time::Duration::from_millis(20) {
                            tracing::debug!(commits = handed.len(), ms = took.as_millis(), "slow WAL fsync");
                        }
                    }
                    let top = handed.iter().map(|h| h.seq).max().unwrap_or(0);
                    for h in handed.drain(..) {
                        let ok = h.committed && durable;
                        for reply in h.replies {
                            reply(ok);
                        }
                    }
                    synced_tx.send_if_modified(|s| {
                        let moved = top > *s;
                        *s = (*s).max(top);
                        moved
                    });
                    let (lock, cv) = &*writer_gate;
                    if let Ok(mut g) = lock.lock() {
                        *g = (*g).max(top);
                        cv.notify_all();
                    }
                }
            })
            .map_err(|_| StoreError::Closed)?;
        Ok((
            Self { tx: Some(tx), handle: Some(handle) },
            Durable { started: Arc::new(AtomicU64::new(0)), synced: synced_rx, gate },
        ))
    }

    /// Hand a batch over (after its COMMIT, or after it failed).
    pub(super) fn hand(&self, batch: Handed) {
        if let Some(tx) = &self.tx
            && let Err(std::sync::mpsc::SendError(batch)) = tx.send(batch)
        {
            // The thread is gone (it cannot be while the writer runs): no
            // fsync, so nobody is told "done".
            for reply in batch.replies {
                reply(false);
            }
        }
    }

    /// Answer everything handed over and stop (before the final checkpoint).
    pub(super) fn stop(mut self) {
        self.tx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Nobody is answered, and no read is released, before the batch was
    /// handed over after its COMMIT and the WAL fsynced.
    #[test]
    fn answers_and_reads_wait_for_the_handed_batch() {
        let dir = std::env::temp_dir().join(format!("sealpost-durable-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("t.db");
        std::fs::write(dir.join("t.db-wal"), b"").unwrap();
        let (syncer, durable) = Syncer::start(&db).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();

        // Nothing started yet: a read is covered at once.
        rt.block_on(durable.covered()).unwrap();

        let seq = durable.next_seq();
        assert_eq!(seq, 1);
        let answers: Arc<Mutex<Vec<bool>>> = Arc::default();
        let replies: Vec<Reply> = (0..2)
            .map(|_| {
                let a = answers.clone();
                Box::new(move |ok| a.lock().unwrap().push(ok)) as Reply
            })
            .collect();
        // Batch 1 is running: a read that may have seen it waits.
        let waiting = rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_millis(50), durable.covered()).await.is_err()
        });
        assert!(waiting, "a read went through before the batch it may have seen was durable");
        assert!(answers.lock().unwrap().is_empty());

        syncer.hand(Handed { seq, committed: true, replies });
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(10), durable.covered()).await.unwrap().unwrap()
        });
        assert_eq!(*answers.lock().unwrap(), vec![true, true]);

        // A batch that did not commit is answered "failed" and releases reads too.
        let seq = durable.next_seq();
        let a = answers.clone();
        syncer.hand(Handed { seq, committed: false, replies: vec![Box::new(move |ok| a.lock().unwrap().push(ok))] });
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(10), durable.covered()).await.unwrap().unwrap()
        });
        syncer.stop();
        assert_eq!(*answers.lock().unwrap(), vec![true, true, false]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
