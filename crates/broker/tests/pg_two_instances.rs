//! Two broker processes on one PostgreSQL database (a fresh one per test on
//! `SEALPOST_TEST_PG`; skipped loudly when it is not set): what one instance
//! guarantees holds across both.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::sync::{Arc, Barrier};

use common::{Broker, TempDir};
use serde_json::json;

const ALG: &str = "RSA-OAEP-256+A256GCM";

/// Two brokers (`args` each) on one fresh database: `(dir, a, b, url)`.
fn pair(tag: &str, args: &[&str]) -> Option<(TempDir, Broker, Broker, String)> {
    let url = common::pg::fresh_db(tag)?;
    let dir = TempDir::new(tag);
    let a = Broker::start_db(&dir.0, PathBuf::from(&url), &[], args);
    let b = Broker::start_db(&dir.0, PathBuf::from(&url), &[], args);
    Some((dir, a, b, url))
}

fn poll(b: &Broker, s: &serde_json::Value) -> common::Resp {
    b.get_auth(&format!("/v1/sessions/{}", s["session_id"].as_str().unwrap()), s["poll_token"].as_str().unwrap())
}

#[test]
fn created_on_a_confirmed_and_completed_on_b() {
    let Some((_dir, a, b, _url)) = pair("acrossab", &["--poll-interval", "0"]) else { return };
    for i in 0..5 {
        let s = a.create(json!({}));
        let code = s["code"].as_str().unwrap();
        // The page on B shows the session created on A.
        let r = b.get(&format!("/v1/connect/{code}"));
        assert_eq!(r.status, 200, "{}", r.body);
        let token = b.confirm(code);
        // Confirmed once: a second confirm on A is a conflict.
        let again = a.post_empty(&format!("/v1/connect/{code}/confirm"));
        assert_eq!(again.status, 409, "{}", again.body);
        assert_eq!(poll(&a, &s).json()["status"], "confirmed");
        let r = b.complete(code, &token, &format!("Y2lwaGVy{i}"), ALG);
        assert_eq!(r.status, 204, "{}", r.body);
        // Delivered on whichever instance is asked first, once.
        let (first, second) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let r = poll(first, &s);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["ciphertext"], format!("Y2lwaGVy{i}"));
        let r = poll(second, &s);
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.json().get("ciphertext").is_none(), "{}", r.body);
        assert_eq!(r.json()["status"], "consumed");
    }
    // An inbox made on A is managed on B; a request declined on B stays declined on A.
    let (inbox, token) = a.new_inbox();
    let sender = b.add_sender(&inbox, &token, "ci");
    let cred = sender["sender_credential"].as_str().unwrap();
    let s = a.create(json!({"inbox": cred}));
    let code = s["code"].as_str().unwrap();
    let r = b.call_auth("DELETE", &format!("/v1/inboxes/{inbox}/requests/{code}"), &token, None);
    assert_eq!(r.status, 204, "{}", r.body);
    poll(&a, &s).problem(404, "ERR_REQUEST_DECLINED");
    let r = a.post_empty(&format!("/v1/connect/{code}/confirm"));
    assert_eq!(r.status, 404, "{}", r.body);
}

#[test]
fn hundred_concurrent_polls_over_both_instances_yield_one_ciphertext() {
    let args = ["--poll-interval", "0", "--max-connections-per-client", "0"];
    let Some((_dir, a, b, _url)) = pair("hundred", &args) else { return };
    for round in 0..3 {
        let s = a.create(json!({}));
        let code = s["code"].as_str().unwrap();
        let token = b.confirm(code);
        assert_eq!(a.complete(code, &token, "b3BhcXVl", ALG).status, 204);
        let path = format!("/v1/sessions/{}", s["session_id"].as_str().unwrap());
        let auth = format!("Bearer {}", s["poll_token"].as_str().unwrap());
        let barrier = Arc::new(Barrier::new(100));
        let handles: Vec<_> = (0..100)
            .map(|i| {
                let addr = if i % 2 == 0 { a.addr.clone() } else { b.addr.clone() };
                let (path, auth, barrier) = (path.clone(), auth.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    common::http(&addr, "GET", &path, &[("Authorization", &auth)], None)
                })
            })
            .collect();
        let mut delivered = 0;
        let mut statuses = Vec::new();
        for h in handles {
            let r = h.join().unwrap();
            statuses.push(r.status);
            if r.status == 200 && r.json().get("ciphertext").is_some() {
                delivered += 1;
            }
        }
        assert_eq!(delivered, 1, "round {round}: {statuses:?}");
        assert!(statuses.iter().all(|s| *s == 200), "round {round}: {statuses:?}");
    }
}

#[test]
fn kill_9_of_a_mid_flow_loses_nothing_and_b_finishes() {
    let Some((_dir, mut a, b, url)) = pair("kill9", &["--poll-interval", "0"]) else { return };
    // Ten sessions in each state on A, then A dies without any cleanup.
    let mut pending = Vec::new();
    let mut confirmed = Vec::new();
    let mut ready = Vec::new();
    for i in 0..10 {
        pending.push(a.create(json!({})));
        let s = a.create(json!({}));
        let t = a.confirm(s["code"].as_str().unwrap());
        confirmed.push((s, t));
        let s = a.create(json!({}));
        let code = s["code"].as_str().unwrap();
        let t = a.confirm(code);
        assert_eq!(a.complete(code, &t, &format!("cmVhZHk{i}"), ALG).status, 204);
        ready.push(s);
    }
    a.kill9();
    assert!(a.child.try_wait().unwrap().is_some());
    for s in &pending {
        let code = s["code"].as_str().unwrap();
        let t = b.confirm(code);
        assert_eq!(b.complete(code, &t, "cGVuZGluZw", ALG).status, 204);
        assert_eq!(poll(&b, s).json()["ciphertext"], "cGVuZGluZw");
    }
    for (s, t) in &confirmed {
        let code = s["code"].as_str().unwrap();
        assert_eq!(b.complete(code, t, "Y29uZmlybWVk", ALG).status, 204);
        assert_eq!(poll(&b, s).json()["ciphertext"], "Y29uZmlybWVk");
    }
    for (i, s) in ready.iter().enumerate() {
        let r = poll(&b, s);
        assert_eq!(r.json()["ciphertext"], format!("cmVhZHk{i}"), "{}", r.body);
    }
    // Everything delivered: no ciphertext left, the counter of open sessions back to 0.
    assert_eq!(common::pg::query_i64(&url, "SELECT count(*) FROM envelopes"), 0);
    assert_eq!(common::pg::query_i64(&url, "SELECT coalesce(sum(n), 0)::BIGINT FROM open_counts"), 0);
    // A restarted A carries on with the same data.
    let dir2 = TempDir::new("kill9b");
    let a2 = Broker::start_db(&dir2.0, PathBuf::from(&url), &[], &["--poll-interval", "0"]);
    assert_eq!(poll(&a2, &ready[0]).json()["status"], "consumed");
}

#[test]
fn the_per_client_attempt_budget_is_not_doubled_by_alternating_instances() {
    // 10 attempts per client per minute across codes; unknown codes cost one each.
    let args = ["--connect-rate-client", "10", "--connect-rate", "100"];
    let Some((_dir, a, b, _url)) = pair("budget", &args) else { return };
    let mut allowed = 0;
    let mut limited = 0;
    for i in 0..30 {
        let broker = if i % 2 == 0 { &a } else { &b };
        let r = broker.get(&format!("/v1/connect/ZZZZ-{:04}", 1000 + i));
        match r.status {
            404 => allowed += 1,
            429 => limited += 1,
            s => panic!("unexpected {s}: {}", r.body),
        }
    }
    assert_eq!((allowed, limited), (10, 20), "one budget of 10 for both instances, not 10 each");

    // The per-code budget too: --connect-rate 3 on one code, attempts alternating.
    let Some((_dir, a, b, _url)) = pair("percode", &["--connect-rate", "3", "--connect-rate-client", "100"]) else {
        return;
    };
    let s = a.create(json!({}));
    let code = s["code"].as_str().unwrap();
    let statuses: Vec<u16> =
        (0..8).map(|i| if i % 2 == 0 { &a } else { &b }.get(&format!("/v1/connect/{code}")).status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 3, "{statuses:?}");
    assert!(statuses[3..].iter().all(|s| *s == 429), "{statuses:?}");

    // Session creations per client (--create-rate) are shared the same way.
    let Some((_dir, a, b, _url)) = pair("create", &["--create-rate", "4"]) else { return };
    let body = json!({"public_key": common::public_key_wire(), "template": "api_key"});
    let statuses: Vec<u16> =
        (0..8).map(|i| if i % 2 == 0 { &a } else { &b }.post_json("/v1/sessions", &body).status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 4, "{statuses:?}");
}

#[test]
fn wrong_webhook_tokens_draw_on_one_budget_across_instances() {
    // A wrong webhook token is a miss like an unknown code: 10 per client per minute in all.
    let args = ["--connect-rate-client", "10", "--connect-rate", "100"];
    let Some((_dir, a, b, _url)) = pair("whbudget", &args) else { return };
    let created = a.create(json!({"enable_webhook": true}));
    let url = created["webhook_url"].as_str().expect("webhook_url");
    let path = url.strip_prefix(&a.url).expect("webhook_url on the broker's base URL");
    let (base, _token) = path.split_once("?token=").expect("a token in the webhook_url");
    let statuses: Vec<u16> = (0..30)
        .map(|i| {
            let broker = if i % 2 == 0 { &a } else { &b };
            common::http(&broker.addr, "POST", &format!("{base}?token=wt_wrong{i}"), &[], Some(b"{}")).status
        })
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == 403).count(), 10, "one budget for both instances: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == 403 || *s == 429), "{statuses:?}");
}
