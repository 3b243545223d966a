//! Store-level ordering: the handler reads the clock before its call is queued
//! for the writer, so concurrent polls reach the store out of order. A poll
//! stamped earlier than the last recorded one must not count as "too fast" when
//! the interval is 0 (it once answered `slow_down`, one 429 in 100 polls).

use sealpost_broker::config::SyncMode;
use sealpost_broker::sqlite::SqliteStore;
use sealpost_broker::store::{Caps, NewSession, PollOutcome, Store};
use sealpost_broker::util::hash_token;
use sealpost_core::protocol::{EnvelopeKind, SessionStatus};

fn session(interval: u64) -> NewSession {
    NewSession {
        id: [7u8; 32],
        code: String::new(),
        public_key: "AAAA".to_owned(),
        display_name: "Order".to_owned(),
        fields: Vec::new(),
        envelope: EnvelopeKind::default(),
        agent_name: None,
        reason: None,
        sender: None,
        poll_hash: hash_token("pt_order"),
        created_at: 1_000,
        expires_at: 600_000,
        interval,
    }
}

const CAPS: Caps = Caps { max_open: 100, max_per_inbox: 100, max_per_sender: 100 };

fn run(interval: u64, stamps: &[i64]) -> Vec<PollOutcome> {
    let dir = std::env::temp_dir().join(format!("sealpost-poll-order-{}-{interval}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let out = rt.block_on(async {
        let (store, _writer) = SqliteStore::open(&dir.join("db.sqlite"), SyncMode::Normal).unwrap();
        store.create_session(session(interval), CAPS).await.unwrap();
        let mut out = Vec::new();
        for &t in stamps {
            out.push(store.poll([7u8; 32], hash_token("pt_order"), t).await.unwrap());
        }
        out
    });
    let _ = std::fs::remove_dir_all(&dir);
    out
}

fn pending(o: &PollOutcome) -> bool {
    matches!(o, PollOutcome::Status { status: SessionStatus::Pending, .. })
}

#[test]
fn an_out_of_order_poll_at_interval_0_is_answered() {
    let out = run(0, &[2_000, 1_999, 1_500, 2_000]);
    assert!(out.iter().all(pending), "{out:?}");
}

#[test]
fn polls_inside_the_interval_still_slow_down() {
    // Interval 5 s: a second poll 1 ms later, or stamped earlier, is too fast.
    let out = run(5, &[2_000, 2_001, 1_999]);
    assert!(pending(&out[0]), "{out:?}");
    assert!(matches!(out[1], PollOutcome::SlowDown(10)), "{out:?}");
    assert!(matches!(out[2], PollOutcome::SlowDown(10)), "{out:?}");
}
