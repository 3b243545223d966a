//! The SQLite store's read path and sweep do not wait for the writer
//! (issue 15): polls and the consent page's view are answered while another
//! process holds the database's write lock, and the open-session count is
//! recounted off the writer thread after a sweep, exactly.

use std::time::Duration;

use sealpost_broker::config::SyncMode;
use sealpost_broker::sqlite::SqliteStore;
use sealpost_broker::store::{Caps, NewSession, PollOutcome, Store, StoreError};
use sealpost_broker::util::hash_token;
use sealpost_core::protocol::{EnvelopeKind, SessionStatus};

fn session(n: u8, created_at: i64, expires_at: i64) -> NewSession {
    NewSession {
        id: [n; 32],
        code: String::new(),
        public_key: "AAAA".to_owned(),
        display_name: "Stall".to_owned(),
        fields: Vec::new(),
        envelope: EnvelopeKind::default(),
        agent_name: None,
        reason: None,
        sender: None,
        poll_hash: hash_token(&format!("pt_{n}")),
        created_at,
        expires_at,
        interval: 0,
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sealpost-stall-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn polls_and_views_are_answered_while_the_write_lock_is_held() {
    let dir = scratch("lock");
    let db = dir.join("db.sqlite");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let (store, writer) = SqliteStore::open(&db, SyncMode::Full).unwrap();
        let now = sealpost_broker::util::now_ms();
        let caps = Caps { max_open: 100, max_per_inbox: 100, max_per_sender: 100 };
        store.create_session(session(1, now, now + 600_000), caps).await.unwrap();

        // Another process (here: another connection) takes the write lock and keeps it.
        let other = rusqlite::Connection::open(&db).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();

        // A write now waits for the lock...
        let store = std::sync::Arc::new(store);
        let s2 = store.clone();
        let create = tokio::spawn(async move { s2.create_session(session(2, now, now + 600_000), caps).await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!create.is_finished(), "a write went through while another connection held the write lock");

        // ...while reads are answered: a poll reporting a status and the consent page's view.
        let poll = tokio::time::timeout(Duration::from_secs(3), store.poll([1; 32], hash_token("pt_1"), now + 1)).await;
        let poll = poll.expect("a poll waited for the writer").unwrap();
        assert!(matches!(poll, PollOutcome::Status { status: SessionStatus::Pending, .. }), "{poll:?}");
        let view = tokio::time::timeout(Duration::from_secs(3), store.view([1; 32], now + 1)).await;
        assert!(view.expect("a view waited for the writer").unwrap().is_some());
        // Refusals are read-only too.
        let wrong =
            tokio::time::timeout(Duration::from_secs(3), store.poll([1; 32], hash_token("pt_x"), now + 1)).await;
        assert_eq!(wrong.expect("a refused poll waited for the writer").unwrap(), PollOutcome::Forbidden);
        assert!(!create.is_finished());

        other.execute_batch("COMMIT").unwrap();
        create.await.unwrap().unwrap();
        // The write committed before it was acknowledged: a read sees it.
        let p2 = store.poll([2; 32], hash_token("pt_2"), now + 2).await.unwrap();
        assert!(matches!(p2, PollOutcome::Status { status: SessionStatus::Pending, .. }), "{p2:?}");
        drop(other);
        drop(store);
        writer.join();
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_open_count_is_exact_after_a_sweep() {
    let dir = scratch("recount");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (store, writer) = SqliteStore::open(&dir.join("db.sqlite"), SyncMode::Normal).unwrap();
        let caps = Caps { max_open: 3, max_per_inbox: 100, max_per_sender: 100 };
        // Three sessions expiring at 2_000 and the cap is reached.
        for n in 1..=3 {
            store.create_session(session(n, 1_000, 2_000), caps).await.unwrap();
        }
        assert!(matches!(store.create_session(session(9, 1_500, 600_000), caps).await, Err(StoreError::Full)));
        // After they expire, a sweep removes them; the recount (in a snapshot, off the
        // writer) lands between two later write batches: the cap frees up, exactly.
        assert_eq!(store.sweep(3_000, i64::MAX).await.unwrap(), 3);
        let mut created = 0u8;
        let mut full = 0u32;
        let mut n = 10u8;
        loop {
            n += 1;
            match store.create_session(session(n, 3_000, 600_000), caps).await {
                Ok(()) => created += 1,
                Err(StoreError::Full) if created == 3 => break,
                Err(StoreError::Full) => {
                    // The count in flight is not applied yet.
                    full += 1;
                    assert!(full < 200, "the recount never landed");
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!(created, 3, "exactly the cap, no more and no less");
        assert!(matches!(store.create_session(session(99, 3_000, 600_000), caps).await, Err(StoreError::Full)));
        drop(store);
        writer.join();
    });
    let _ = std::fs::remove_dir_all(&dir);
}
