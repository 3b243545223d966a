//! The store suite, run against both backends: SQLite (a temp file) and
//! PostgreSQL (a fresh database on `SEALPOST_TEST_PG`; skipped loudly when it
//! is not set; `cargo xtask test` always sets it). Each check drives the
//! `Store` trait directly, with explicit clocks.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use sealpost_broker::config::SyncMode;
use sealpost_broker::pg::PgStore;
use sealpost_broker::sqlite::SqliteStore;
use sealpost_broker::store::{Caps, InboxAccess, NewSender, NewSession, PollOutcome, Store, StoreError, Transition};
use sealpost_broker::util::hash_token;
use sealpost_core::protocol::{EnvelopeKind, FieldSpec, SessionStatus};

use common::pg::{CAPS, T0};

fn sid(n: u32) -> [u8; 32] {
    common::pg::sid(n, 0x5a)
}

fn session(n: u32, interval: u64, sender: Option<&str>) -> NewSession {
    let fields: Vec<FieldSpec> =
        serde_json::from_value(serde_json::json!([{"name": "api_key", "label": "API key", "type": "password"}]))
            .unwrap();
    NewSession {
        id: sid(n),
        code: format!("CODE{n:04}"),
        public_key: "AAAA".to_owned(),
        display_name: format!("Session {n}"),
        fields,
        envelope: EnvelopeKind::default(),
        agent_name: Some("agent".to_owned()),
        reason: None,
        sender: sender.map(hash_token),
        poll_hash: hash_token(&format!("pt_{n}")),
        created_at: T0,
        expires_at: T0 + 600_000,
        interval,
    }
}

fn pt(n: u32) -> [u8; 32] {
    hash_token(&format!("pt_{n}"))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap()
}

/// Run an async suite (generic over the store) on each backend.
macro_rules! on_both_backends {
    ($name:ident, $suite:ident) => {
        #[test]
        fn $name() {
            let rt = rt();
            {
                let dir = common::TempDir::new(stringify!($name));
                let (store, _writer) = SqliteStore::open(&dir.0.join("db.sqlite"), SyncMode::Normal).unwrap();
                eprintln!("-- {} on SQLite", stringify!($name));
                rt.block_on($suite(Arc::new(store)));
            }
            let Some(url) = common::pg::fresh_db(stringify!($name)) else { return };
            eprintln!("-- {} on PostgreSQL", stringify!($name));
            rt.block_on(async {
                let store = PgStore::connect(&url, 8).await.unwrap();
                $suite(Arc::new(store)).await;
            });
        }
    };
}

async fn lifecycle<S: Store>(s: Arc<S>) {
    s.create_session(session(1, 0, None), CAPS).await.unwrap();
    // Same id again: a code collision.
    assert!(matches!(s.create_session(session(1, 0, None), CAPS).await, Err(StoreError::Duplicate)));
    let v = s.view(sid(1), T0 + 1).await.unwrap().unwrap();
    assert_eq!(v.status, SessionStatus::Pending);
    assert_eq!(v.display_name, "Session 1");
    assert_eq!(v.fields.len(), 1);
    assert_eq!(v.code, None, "codes are kept for inbox sessions only");
    assert!(s.view(sid(2), T0 + 1).await.unwrap().is_none());

    assert_eq!(s.poll(sid(1), pt(9), T0 + 2).await.unwrap(), PollOutcome::Forbidden);
    assert!(matches!(
        s.poll(sid(1), pt(1), T0 + 2).await.unwrap(),
        PollOutcome::Status { status: SessionStatus::Pending, .. }
    ));
    assert_eq!(s.poll(sid(2), pt(2), T0 + 2).await.unwrap(), PollOutcome::NotFound);

    let ct = hash_token("ct_1");
    assert_eq!(s.complete(sid(1), ct, "x".into(), "a".into(), T0 + 3).await.unwrap(), Transition::Forbidden);
    assert_eq!(s.confirm(sid(1), ct, T0 + 3).await.unwrap(), Transition::Done);
    assert_eq!(s.confirm(sid(1), hash_token("other"), T0 + 3).await.unwrap(), Transition::Conflict, "confirmed once");
    assert_eq!(s.confirm(sid(2), ct, T0 + 3).await.unwrap(), Transition::NotFound);
    assert_eq!(s.view(sid(1), T0 + 4).await.unwrap().unwrap().status, SessionStatus::Confirmed);
    assert_eq!(
        s.complete(sid(1), hash_token("other"), "x".into(), "a".into(), T0 + 4).await.unwrap(),
        Transition::Forbidden
    );
    assert_eq!(s.complete(sid(1), ct, "CIPHERTEXT".into(), "ALG".into(), T0 + 4).await.unwrap(), Transition::Done);
    assert_eq!(s.complete(sid(1), ct, "AGAIN".into(), "ALG".into(), T0 + 4).await.unwrap(), Transition::Conflict);

    match s.poll(sid(1), pt(1), T0 + 5).await.unwrap() {
        PollOutcome::Delivered { ciphertext, algorithm, expires_at, interval } => {
            assert_eq!(
                (ciphertext.as_str(), algorithm.as_str(), expires_at, interval),
                ("CIPHERTEXT", "ALG", T0 + 600_000, 0)
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        s.poll(sid(1), pt(1), T0 + 6).await.unwrap(),
        PollOutcome::Status { status: SessionStatus::Consumed, .. }
    ));
    // Expired: gone for everyone.
    assert_eq!(s.poll(sid(1), pt(1), T0 + 600_000).await.unwrap(), PollOutcome::NotFound);
    assert!(s.view(sid(1), T0 + 600_000).await.unwrap().is_none());
}
on_both_backends!(lifecycle_on_each_backend, lifecycle);

async fn slow_down<S: Store>(s: Arc<S>) {
    s.create_session(session(3, 5, None), CAPS).await.unwrap();
    assert!(matches!(s.poll(sid(3), pt(3), T0 + 1_000).await.unwrap(), PollOutcome::Status { .. }));
    assert_eq!(s.poll(sid(3), pt(3), T0 + 1_001).await.unwrap(), PollOutcome::SlowDown(10));
    assert_eq!(
        s.poll(sid(3), pt(3), T0 + 999).await.unwrap(),
        PollOutcome::SlowDown(10),
        "stamped before the last poll"
    );
    assert!(
        matches!(s.poll(sid(3), pt(3), T0 + 5_500).await.unwrap(), PollOutcome::Status { .. }),
        "90% of the interval is enough"
    );
}
on_both_backends!(slow_down_on_each_backend, slow_down);

async fn open_cap<S: Store>(s: Arc<S>) {
    let caps = Caps { max_open: 3, ..CAPS };
    for n in 10..13 {
        s.create_session(session(n, 0, None), caps).await.unwrap();
    }
    assert!(matches!(s.create_session(session(13, 0, None), caps).await, Err(StoreError::Full)));
    // Delivering one frees a place.
    let ct = hash_token("ct");
    assert_eq!(s.confirm(sid(10), ct, T0).await.unwrap(), Transition::Done);
    assert_eq!(s.complete(sid(10), ct, "c".into(), "a".into(), T0).await.unwrap(), Transition::Done);
    assert!(matches!(s.poll(sid(10), pt(10), T0).await.unwrap(), PollOutcome::Delivered { .. }));
    s.create_session(session(13, 0, None), caps).await.unwrap();
    assert!(matches!(s.create_session(session(14, 0, None), caps).await, Err(StoreError::Full)));
    // Expired sessions leave the count at the next sweep.
    let later = T0 + 600_000;
    let removed = s.sweep(later, i64::MAX / 2).await.unwrap();
    assert_eq!(removed, 4, "every session of this test expired");
    let mut fresh = session(14, 0, None);
    fresh.created_at = later;
    fresh.expires_at = later + 600_000;
    // The SQLite store recounts in the background after a sweep: allow it a moment.
    let mut tries = 0;
    loop {
        match s.create_session(fresh.clone(), caps).await {
            Ok(()) => break,
            Err(StoreError::Full) if tries < 40 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!("after the sweep: {e}"),
        }
    }
    assert_eq!(s.poll(sid(11), pt(11), later).await.unwrap(), PollOutcome::NotFound);
}
on_both_backends!(open_session_cap_and_sweep_on_each_backend, open_cap);

async fn inboxes<S: Store>(s: Arc<S>) {
    let it = hash_token("it_1");
    s.create_inbox("ib_one".into(), it, 2, T0).await.unwrap();
    assert!(matches!(s.create_inbox("ib_one".into(), it, 2, T0).await, Err(StoreError::Duplicate)));
    s.create_inbox("ib_two".into(), it, 2, T0).await.unwrap();
    assert!(matches!(s.create_inbox("ib_three".into(), it, 2, T0).await, Err(StoreError::TooManyInboxes)));

    let sender = |id: &str, cred: &str| NewSender {
        id: id.into(),
        name: format!("name {id}"),
        credential_hash: hash_token(cred),
        created_at: T0,
    };
    assert_eq!(
        s.create_sender("ib_one".into(), hash_token("wrong"), sender("sd_x", "is_x"), 2).await.unwrap(),
        InboxAccess::Forbidden
    );
    assert_eq!(s.create_sender("ib_nope".into(), it, sender("sd_x", "is_x"), 2).await.unwrap(), InboxAccess::NotFound);
    assert_eq!(
        s.create_sender("ib_one".into(), it, sender("sd_a", "is_a"), 2).await.unwrap(),
        InboxAccess::Granted(())
    );
    assert_eq!(
        s.create_sender("ib_one".into(), it, sender("sd_b", "is_b"), 2).await.unwrap(),
        InboxAccess::Granted(())
    );
    assert!(matches!(
        s.create_sender("ib_one".into(), it, sender("sd_c", "is_c"), 2).await,
        Err(StoreError::TooManySenders)
    ));

    let caps = Caps { max_open: 1000, max_per_inbox: 3, max_per_sender: 2 };
    assert!(matches!(s.create_session(session(20, 0, Some("is_unknown")), caps).await, Err(StoreError::SenderInvalid)));
    s.create_session(session(20, 0, Some("is_a")), caps).await.unwrap();
    s.create_session(session(21, 0, Some("is_a")), caps).await.unwrap();
    assert!(matches!(s.create_session(session(22, 0, Some("is_a")), caps).await, Err(StoreError::SenderQuota)));
    s.create_session(session(22, 0, Some("is_b")), caps).await.unwrap();
    assert!(matches!(s.create_session(session(23, 0, Some("is_b")), caps).await, Err(StoreError::InboxFull)));

    let InboxAccess::Granted(list) = s.inbox_requests("ib_one".into(), it, T0 + 1).await.unwrap() else { panic!() };
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].code.as_deref(), Some("CODE0020"));
    assert_eq!(list[0].sender.as_ref().map(|(id, name)| (id.as_str(), name.as_str())), Some(("sd_a", "name sd_a")));
    assert_eq!(s.inbox_requests("ib_one".into(), hash_token("wrong"), T0).await.unwrap().map_len(), None);

    // Decline: the session ends, for good.
    assert_eq!(
        s.decline("ib_two".into(), it, sid(20), T0 + 2).await.unwrap(),
        InboxAccess::Granted(Transition::NotFound),
        "other inbox"
    );
    assert_eq!(s.decline("ib_one".into(), it, sid(20), T0 + 2).await.unwrap(), InboxAccess::Granted(Transition::Done));
    assert_eq!(
        s.decline("ib_one".into(), it, sid(20), T0 + 2).await.unwrap(),
        InboxAccess::Granted(Transition::NotFound)
    );
    assert_eq!(s.poll(sid(20), pt(20), T0 + 3).await.unwrap(), PollOutcome::Declined);
    assert_eq!(s.confirm(sid(20), hash_token("ct"), T0 + 3).await.unwrap(), Transition::NotFound);
    assert!(s.view(sid(20), T0 + 3).await.unwrap().is_none());

    let InboxAccess::Granted(senders) = s.list_senders("ib_one".into(), it, T0 + 4).await.unwrap() else { panic!() };
    let a = senders.iter().find(|v| v.id == "sd_a").unwrap();
    assert_eq!((a.sent, a.pending), (2, 1));
    // Removing a sender declines what it still has waiting.
    assert_eq!(s.delete_sender("ib_one".into(), it, "sd_a".into(), T0 + 5).await.unwrap(), InboxAccess::Granted(true));
    assert_eq!(s.delete_sender("ib_one".into(), it, "sd_a".into(), T0 + 5).await.unwrap(), InboxAccess::Granted(false));
    assert_eq!(s.poll(sid(21), pt(21), T0 + 6).await.unwrap(), PollOutcome::Declined);
    assert!(matches!(s.create_session(session(24, 0, Some("is_a")), caps).await, Err(StoreError::SenderInvalid)));
    // Deleting the inbox declines the rest.
    assert_eq!(s.delete_inbox("ib_one".into(), it, T0 + 7).await.unwrap(), InboxAccess::Granted(()));
    assert_eq!(s.poll(sid(22), pt(22), T0 + 8).await.unwrap(), PollOutcome::Declined);
    assert_eq!(s.inbox_requests("ib_one".into(), it, T0 + 8).await.unwrap().map_len(), None);
}
on_both_backends!(inboxes_senders_and_decline_on_each_backend, inboxes);

trait MapLen {
    fn map_len(&self) -> Option<usize>;
}
impl<T> MapLen for InboxAccess<Vec<T>> {
    fn map_len(&self) -> Option<usize> {
        match self {
            InboxAccess::Granted(v) => Some(v.len()),
            _ => None,
        }
    }
}

async fn concurrent<S: Store>(s: Arc<S>) {
    // 64 concurrent polls of a ready session: one delivery.
    s.create_session(session(30, 0, None), CAPS).await.unwrap();
    let ct = hash_token("ct");
    // Confirm raced too: one winner.
    let mut confirms = Vec::new();
    for i in 0..16 {
        let s = s.clone();
        confirms.push(tokio::spawn(async move {
            s.confirm(sid(30), hash_token(if i == 0 { "ct" } else { "zz" }), T0).await.unwrap()
        }));
    }
    let mut done = 0;
    for c in confirms {
        if c.await.unwrap() == Transition::Done {
            done += 1;
        }
    }
    assert_eq!(done, 1, "a code is confirmed once");
    // Whoever confirmed, complete with the right token is all that can succeed.
    if s.complete(sid(30), ct, "C".into(), "A".into(), T0).await.unwrap() != Transition::Done {
        // The winner was a "zz" confirm: complete with that token.
        assert_eq!(s.complete(sid(30), hash_token("zz"), "C".into(), "A".into(), T0).await.unwrap(), Transition::Done);
    }
    let mut polls = Vec::new();
    for _ in 0..64 {
        let s = s.clone();
        polls.push(tokio::spawn(async move { s.poll(sid(30), pt(30), T0 + 1).await.unwrap() }));
    }
    let mut delivered = 0;
    for p in polls {
        match p.await.unwrap() {
            PollOutcome::Delivered { ciphertext, .. } => {
                assert_eq!(ciphertext, "C");
                delivered += 1;
            }
            PollOutcome::Status { status: SessionStatus::Consumed | SessionStatus::Ready, .. } => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(delivered, 1, "a ciphertext is delivered once");
}
on_both_backends!(concurrent_confirms_and_polls_on_each_backend, concurrent);

async fn shared_limits<S: Store>(s: Arc<S>) {
    let key = [7u8; 16];
    match s.shared_limit(key, 3, 60, 1_000).await.unwrap() {
        None => eprintln!("(not a shared store: the in-memory limiter decides)"),
        Some(first) => {
            assert!(first);
            assert_eq!(s.shared_limit(key, 3, 60, 1_010).await.unwrap(), Some(true));
            assert_eq!(s.shared_limit(key, 3, 60, 1_020).await.unwrap(), Some(true));
            assert_eq!(s.shared_limit(key, 3, 60, 1_030).await.unwrap(), Some(false));
            assert_eq!(s.shared_limit([8u8; 16], 3, 60, 1_030).await.unwrap(), Some(true), "other keys apart");
            assert_eq!(s.shared_limit(key, 3, 60, 1_059).await.unwrap(), Some(false));
            assert_eq!(
                s.shared_limit(key, 3, 60, 1_060).await.unwrap(),
                Some(true),
                "a new window 60 s after the first attempt"
            );
            // Concurrent attempts: exactly `limit` pass.
            let mut tasks = Vec::new();
            for _ in 0..40 {
                let s = s.clone();
                tasks.push(tokio::spawn(async move { s.shared_limit([9u8; 16], 10, 60, 5_000).await.unwrap() }));
            }
            let mut passed = 0;
            for t in tasks {
                if t.await.unwrap() == Some(true) {
                    passed += 1;
                }
            }
            assert_eq!(passed, 10);
        }
    }
}
on_both_backends!(shared_rate_limits_on_each_backend, shared_limits);

#[test]
fn pg_migrations_are_idempotent_and_safe_when_instances_start_at_once() {
    let Some(url) = common::pg::fresh_db("migrate") else { return };
    rt().block_on(async {
        let mut starts = Vec::new();
        for _ in 0..6 {
            let url = url.clone();
            starts.push(tokio::spawn(async move { PgStore::connect(&url, 2).await.map(|_| ()) }));
        }
        for s in starts {
            s.await.unwrap().unwrap();
        }
        PgStore::connect(&url, 2).await.unwrap();
    });
    let versions = common::pg::query_i64(&url, "SELECT count(*) FROM sealpost_migrations");
    assert_eq!(versions, i64::from(sealpost_broker::pg::SCHEMA_VERSION), "each migration applied once");
    assert_eq!(common::pg::query_i64(&url, "SELECT count(*) FROM open_counts"), i64::from(sealpost_broker::pg::SHARDS));
    // A database written by a newer broker is refused.
    common::pg::with_client(&url, async |c| {
        c.execute("INSERT INTO sealpost_migrations VALUES (9999, 0)", &[]).await.unwrap();
    });
    let err = rt().block_on(PgStore::connect(&url, 2)).err().expect("refused");
    assert!(matches!(err, StoreError::SchemaTooNew(9999)), "{err}");
}

/// A transaction holding counter rows or a session row (another instance's
/// creation or transition waiting for its fsync) stalls neither a creation nor
/// a poll: creations take a free counter row (`SKIP LOCKED`), and the poll-pace
/// stamp skips a held session row. The count stays exact.
#[test]
fn pg_held_counter_rows_and_session_rows_stall_neither_creations_nor_polls() {
    let Some(url) = common::pg::fresh_db("heldrows") else { return };
    rt().block_on(async {
        let store = PgStore::connect(&url, 8).await.unwrap();
        store.create_session(session(1, 5, None), CAPS).await.unwrap();
        let (other, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        let task = tokio::spawn(conn);
        other
            .batch_execute(&format!(
                "BEGIN; SELECT shard FROM open_counts WHERE shard <> {} FOR UPDATE;
                 SELECT 1 FROM sessions WHERE id = decode('{}', 'hex') FOR UPDATE;",
                sealpost_broker::pg::SHARDS - 1,
                sid(1).iter().map(|b| format!("{b:02x}")).collect::<String>()
            ))
            .await
            .unwrap();
        let within = std::time::Duration::from_secs(3);
        tokio::time::timeout(within, store.create_session(session(2, 5, None), CAPS))
            .await
            .expect("a creation does not wait for held counter rows")
            .unwrap();
        let polled = tokio::time::timeout(within, store.poll(sid(1), pt(1), T0 + 1_000))
            .await
            .expect("a poll does not wait for a held session row")
            .unwrap();
        assert!(matches!(polled, PollOutcome::Status { status: SessionStatus::Pending, .. }), "{polled:?}");
        other.batch_execute("ROLLBACK").await.unwrap();
        // Pacing still holds once the row is free.
        assert!(matches!(store.poll(sid(1), pt(1), T0 + 2_000).await.unwrap(), PollOutcome::Status { .. }));
        assert_eq!(store.poll(sid(1), pt(1), T0 + 2_001).await.unwrap(), PollOutcome::SlowDown(10));
        assert_eq!(store.open_count().await.unwrap(), 2);
        drop(other);
        let _ = task.await;
    });
}
