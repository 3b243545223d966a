//! Group commit of creations on PostgreSQL (`pg::create`): one statement per
//! group, each creation's outcome its own, every answer after the commit.
//! Needs `SEALPOST_TEST_PG` (skipped loudly without it; `cargo xtask test`
//! sets it): `cargo xtask with-pg -- cargo test -p sealpost-broker --test pg_batch`.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use sealpost_broker::pg::PgStore;
use sealpost_broker::pg::create::Creation;
use sealpost_broker::store::{Caps, NewSession, PollOutcome, SessionExtras, Store, StoreError};
use sealpost_broker::util::hash_token;
use sealpost_core::protocol::{EnvelopeKind, SessionStatus};

use common::pg::{CAPS, T0};

fn sid(n: u32) -> [u8; 32] {
    common::pg::sid(n, 0xb7)
}

fn pt(n: u32) -> [u8; 32] {
    hash_token(&format!("pt_{n}"))
}

fn session(n: u32) -> NewSession {
    NewSession {
        id: sid(n),
        code: format!("CODE{n:04}"),
        public_key: "AAAA".to_owned(),
        display_name: format!("Session {n}"),
        fields: Vec::new(),
        envelope: EnvelopeKind::default(),
        agent_name: Some("agent".to_owned()),
        reason: None,
        sender: None,
        poll_hash: pt(n),
        created_at: T0,
        expires_at: T0 + 600_000,
        interval: 0,
    }
}

fn creation(s: NewSession, caps: Caps) -> Creation {
    Creation { session: s, fields: "[]".to_owned(), caps, extras: SessionExtras::default() }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap()
}

fn hex(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

async fn pending<S: Store>(s: &S, n: u32) -> bool {
    matches!(s.poll(sid(n), pt(n), T0 + 1).await.unwrap(), PollOutcome::Status { status: SessionStatus::Pending, .. })
}

/// A creation PostgreSQL refuses (a NUL byte in a text column) in the middle of
/// a group fails alone: the others of its group are created and counted.
#[test]
fn pg_a_failing_creation_does_not_fail_or_lose_the_others_of_its_group() {
    let Some(url) = common::pg::fresh_db("batchfail") else { return };
    rt().block_on(async {
        let store = PgStore::connect(&url, 8).await.unwrap();
        let mut group: Vec<Creation> = (1..=6).map(|n| creation(session(n), CAPS)).collect();
        group[2].session.display_name = "bad\0name".to_owned();
        let results = store.create_batch(&group).await;
        assert_eq!(results.len(), 6);
        for (i, r) in results.iter().enumerate() {
            if i == 2 {
                assert!(matches!(r, Err(StoreError::Backend(_))), "the bad one fails: {r:?}");
            } else {
                assert!(r.is_ok(), "creation {i}: {r:?}");
            }
        }
        for n in [1, 2, 4, 5, 6] {
            assert!(pending(&store, n).await, "session {n} was created");
        }
        assert_eq!(store.poll(sid(3), pt(3), T0 + 1).await.unwrap(), PollOutcome::NotFound);
        assert_eq!(store.open_count().await.unwrap(), 5, "the counter moved by the rows inserted");
    });
    assert_eq!(common::pg::query_i64(&url, "SELECT count(*) FROM sessions"), 5);
}

/// Each row's outcome is its own: an id already taken, or twice in the group,
/// is a duplicate (the handler draws a new code); rows past the open-session
/// cap are refused as full; the rest are created.
#[test]
fn pg_duplicates_and_the_open_cap_are_decided_per_creation_in_a_group() {
    let Some(url) = common::pg::fresh_db("batchrows") else { return };
    rt().block_on(async {
        let store = PgStore::connect(&url, 8).await.unwrap();
        store.create_session(session(1), CAPS).await.unwrap();
        let group: Vec<Creation> = [1, 2, 2, 3].iter().map(|&n| creation(session(n), CAPS)).collect();
        let results = store.create_batch(&group).await;
        assert!(matches!(results[0], Err(StoreError::Duplicate)), "{:?}", results[0]);
        assert!(results[1].is_ok(), "{:?}", results[1]);
        assert!(matches!(results[2], Err(StoreError::Duplicate)), "{:?}", results[2]);
        assert!(results[3].is_ok(), "{:?}", results[3]);
        assert_eq!(store.open_count().await.unwrap(), 3);

        // Cap 5 with 3 open: the first two of the group fit, the rest are full.
        let caps = Caps { max_open: 5, ..CAPS };
        let group: Vec<Creation> = (10..14).map(|n| creation(session(n), caps)).collect();
        let results = store.create_batch(&group).await;
        assert!(results[0].is_ok() && results[1].is_ok(), "{results:?}");
        assert!(matches!(results[2], Err(StoreError::Full)), "{:?}", results[2]);
        assert!(matches!(results[3], Err(StoreError::Full)), "{:?}", results[3]);
        assert_eq!(store.open_count().await.unwrap(), 5);
        assert!(pending(&store, 11).await);
        assert_eq!(store.poll(sid(12), pt(12), T0 + 1).await.unwrap(), PollOutcome::NotFound);
        assert!(matches!(store.create_session(session(20), caps).await, Err(StoreError::Full)));
    });
}

/// Concurrent creations through the store share statements, and none is
/// answered before its group committed: while another transaction holds every
/// counter row, no creation answers and none is visible to another connection;
/// once it lets go, every one answers, and each is visible to a fresh
/// connection the moment it is answered.
#[test]
fn pg_concurrent_creations_are_grouped_and_answered_only_after_their_commit() {
    let Some(url) = common::pg::fresh_db("batchcommit") else { return };
    rt().block_on(async {
        let store = Arc::new(PgStore::connect(&url, 8).await.unwrap());
        let (locker, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        let locker_task = tokio::spawn(conn);
        let (observer, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        let observer_task = tokio::spawn(conn);
        let observer = Arc::new(observer);
        locker.batch_execute("BEGIN; SELECT shard FROM open_counts FOR UPDATE;").await.unwrap();

        const N: u32 = 48;
        let mut tasks = Vec::new();
        for n in 100..100 + N {
            let store = store.clone();
            let observer = observer.clone();
            tasks.push(tokio::spawn(async move {
                store.create_session(session(n), CAPS).await.unwrap();
                // Answered: committed, so visible to any other connection now.
                let seen: i64 = observer
                    .query_one(
                        &format!("SELECT count(*) FROM sessions WHERE id = decode('{}', 'hex')", hex(&sid(n))),
                        &[],
                    )
                    .await
                    .unwrap()
                    .get(0);
                assert_eq!(seen, 1, "session {n} answered before it was visible");
            }));
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(tasks.iter().all(|t| !t.is_finished()), "a creation answered while its commit could not happen");
        let visible: i64 = observer.query_one("SELECT count(*) FROM sessions", &[]).await.unwrap().get(0);
        assert_eq!(visible, 0, "nothing is committed yet");

        locker.batch_execute("ROLLBACK").await.unwrap();
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(10), t).await.expect("answered once the rows are free").unwrap();
        }
        assert_eq!(store.open_count().await.unwrap(), i64::from(N));
        let (batches, creations) = store.creation_stats();
        assert_eq!(creations, u64::from(N));
        assert!(batches < u64::from(N) / 2, "queued creations share statements: {batches} statements for {creations}");
        drop(locker);
        let _ = locker_task.await;
        drop(observer);
        let _ = observer_task.await;
    });
}
