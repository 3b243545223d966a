//! One-time delivery under concurrency and across a crash; the full flow with a
//! real envelope; the secret never in the database or the logs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Barrier};

use common::{Broker, TempDir, agent_key, assert_absent};
use sealpost_core::envelope::{self, ALG_JWE, ALG_LINKAUTH, Credentials};
use sealpost_core::keys::AgentPublicKey;
use serde_json::json;

fn ready_session(b: &Broker, ciphertext: &str) -> serde_json::Value {
    let s = b.create(json!({}));
    let code = s["code"].as_str().unwrap();
    let ct = b.confirm(code);
    let r = b.complete(code, &ct, ciphertext, ALG_LINKAUTH);
    assert_eq!(r.status, 204, "{}", r.body);
    s
}

/// 100 polls at once, each on its own connection; returns how many carried ciphertext
/// and the status codes seen.
fn poll_concurrently(b: &Broker, s: &serde_json::Value) -> (usize, Vec<u16>) {
    let path = format!("/v1/sessions/{}", s["session_id"].as_str().unwrap());
    let auth = format!("Bearer {}", s["poll_token"].as_str().unwrap());
    let barrier = Arc::new(Barrier::new(100));
    let handles: Vec<_> = (0..100)
        .map(|_| {
            let (addr, path, auth, barrier) = (b.addr.clone(), path.clone(), auth.clone(), barrier.clone());
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
            assert_eq!(r.json()["status"], "ready");
            delivered += 1;
        }
    }
    (delivered, statuses)
}

#[test]
fn exactly_once_under_100_concurrent_polls() {
    // 100 connections from one address: above the default per-client
    // connection cap (64, tested in conns.rs), which this test is not about.
    const UNCAPPED: [&str; 2] = ["--max-connections-per-client", "0"];
    // Interval 0: every poll reaches the consume path.
    let dir = TempDir::new("once0");
    let b = Broker::start(&dir.0, &["--poll-interval", "0", UNCAPPED[0], UNCAPPED[1]]);
    let s = ready_session(&b, "b3BhcXVl");
    let (delivered, statuses) = poll_concurrently(&b, &s);
    assert_eq!(delivered, 1, "{statuses:?}");
    // Every poll reaches the consume path: polls that reach the store out of
    // order are not "too fast" at interval 0 (poll_order.rs).
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    // Default interval: the others are told to slow down or see `consumed`.
    let dir = TempDir::new("once5");
    let b = Broker::start(&dir.0, &UNCAPPED);
    let s = ready_session(&b, "b3BhcXVl");
    let (delivered, statuses) = poll_concurrently(&b, &s);
    assert_eq!(delivered, 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 429), "{statuses:?}");
}

#[test]
fn crash_safety_kill_9_and_restart() {
    let dir = TempDir::new("crash");
    let mut b = Broker::start(&dir.0, &["--poll-interval", "2"]);
    let mut ready = Vec::new();
    let mut consumed = Vec::new();
    let mut confirmed = Vec::new();
    let mut pending = Vec::new();
    for i in 0..12 {
        let ciphertext = format!("Y2lwaGVy{i:04}");
        let s = b.create(json!({}));
        let code = s["code"].as_str().unwrap().to_owned();
        match i % 4 {
            0 => pending.push(s),
            1 => {
                let ct = b.confirm(&code);
                confirmed.push((s, ct));
            }
            _ => {
                let ct = b.confirm(&code);
                assert_eq!(b.complete(&code, &ct, &ciphertext, ALG_LINKAUTH).status, 204);
                if i % 4 == 3 {
                    let v = b
                        .get_auth(
                            &format!("/v1/sessions/{}", s["session_id"].as_str().unwrap()),
                            s["poll_token"].as_str().unwrap(),
                        )
                        .json();
                    assert_eq!(v["ciphertext"], ciphertext.as_str());
                    consumed.push(s);
                } else {
                    ready.push((s, ciphertext));
                }
            }
        }
    }
    // Past the interval of the polls above.
    std::thread::sleep(std::time::Duration::from_millis(2000));
    // Writers in flight while the process dies: nothing may be half-written.
    let addr = b.addr.clone();
    let flood = std::thread::spawn(move || {
        let body = json!({"public_key": common::public_key_wire(), "template": "api_key"}).to_string();
        for _ in 0..200 {
            let r = std::panic::catch_unwind(|| {
                common::http(
                    &addr,
                    "POST",
                    "/v1/sessions",
                    &[("Content-Type", "application/json")],
                    Some(body.as_bytes()),
                )
            });
            if r.is_err() {
                break;
            }
        }
    });
    std::thread::sleep(std::time::Duration::from_millis(150));
    // Poll one consumed session right before the crash (accepted: it is past its interval).
    let c0 = consumed[0].clone();
    let r =
        b.get_auth(&format!("/v1/sessions/{}", c0["session_id"].as_str().unwrap()), c0["poll_token"].as_str().unwrap());
    assert_eq!(r.status, 200, "{}", r.body);
    b.kill9();
    let _ = flood.join();

    // The database is consistent: every ready session has its ciphertext, nothing else does.
    {
        let conn = rusqlite::Connection::open(&b.db).unwrap();
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
        let orphans: i64 = conn
            .query_row(
                "SELECT count(*) FROM envelopes e LEFT JOIN sessions s ON s.id = e.session_id WHERE s.state IS NOT 'ready'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(orphans, 0);
        let missing: i64 = conn
            .query_row(
                "SELECT count(*) FROM sessions s WHERE s.state = 'ready' AND NOT EXISTS (SELECT 1 FROM envelopes e WHERE e.session_id = s.id)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(missing, 0);
    }

    let b = Broker::start(&dir.0, &["--poll-interval", "2"]);
    // Poll pacing is kept in memory, and a restart counts as a poll of every
    // session created before it: one polled just before the crash is still too
    // fast right after the restart.
    let c0 = &consumed[0];
    let path = |s: &serde_json::Value| format!("/v1/sessions/{}", s["session_id"].as_str().unwrap());
    let tok = |s: &serde_json::Value| s["poll_token"].as_str().unwrap().to_owned();
    b.get_auth(&path(c0), &tok(c0)).problem(429, "ERR_SLOW_DOWN");
    std::thread::sleep(std::time::Duration::from_millis(2100));

    for (s, ciphertext) in &ready {
        let v = b.get_auth(&path(s), &tok(s)).json();
        assert_eq!(v["status"], "ready");
        assert_eq!(v["ciphertext"], ciphertext.as_str());
    }
    for s in &consumed {
        let v = b.get_auth(&path(s), &tok(s)).json();
        assert_eq!(v["status"], "consumed");
        assert!(v.get("ciphertext").is_none());
    }
    for s in &pending {
        assert_eq!(b.get_auth(&path(s), &tok(s)).json()["status"], "pending");
    }
    // Connect tokens issued before the crash still complete their session.
    for (s, ct) in &confirmed {
        let code = s["code"].as_str().unwrap();
        assert_eq!(b.complete(code, ct, "YWZ0ZXI=", ALG_LINKAUTH).status, 204);
    }
    std::thread::sleep(std::time::Duration::from_millis(2100));
    for (s, _) in &ready {
        let v = b.get_auth(&path(s), &tok(s)).json();
        assert_eq!(v["status"], "consumed", "delivered twice");
        assert!(v.get("ciphertext").is_none());
    }
    for (s, _) in &confirmed {
        let v = b.get_auth(&path(s), &tok(s)).json();
        assert_eq!(v["ciphertext"], "YWZ0ZXI=");
    }
}

#[test]
fn full_flow_with_real_envelopes_and_no_secret_at_rest_or_in_logs() {
    const SECRET: &str = "sk-live-SEALPOST-TEST-7f3a9c1e5b";
    let dir = TempDir::new("flow");
    let mut b = Broker::start(&dir.0, &["--poll-interval", "0", "--log", "debug"]);
    let sk = agent_key();
    let mut needles: Vec<(String, String)> = vec![("secret".into(), SECRET.into())];

    for jwe in [false, true] {
        let s = b.create(if jwe { json!({"envelope": "jwe"}) } else { json!({}) });
        let code = s["code"].as_str().unwrap();
        let sid = s["session_id"].as_str().unwrap();
        // The browser side: key from the connect response, sealed locally.
        let page = b.get(&format!("/v1/connect/{code}")).json();
        let pk = AgentPublicKey::from_wire(page["public_key"].as_str().unwrap()).unwrap();
        assert_eq!(pk.fingerprint().long(), sk.public_key().fingerprint().long());
        let mut creds = Credentials::new();
        creds.insert("api_key", SECRET);
        let (ciphertext, alg) = if jwe {
            (envelope::seal_jwe(&pk, &creds, sid).unwrap(), ALG_JWE)
        } else {
            (envelope::seal(&pk, &creds).unwrap(), ALG_LINKAUTH)
        };
        let ct = b.confirm(code);
        assert_eq!(b.complete(code, &ct, &ciphertext, alg).status, 204);
        // The agent side.
        let v = b.get_auth(&format!("/v1/sessions/{sid}"), s["poll_token"].as_str().unwrap()).json();
        assert_eq!(v["algorithm"], alg);
        let got = v["ciphertext"].as_str().unwrap();
        assert_eq!(got, ciphertext);
        let kind = envelope::envelope_kind(alg).unwrap();
        let opened = envelope::open_any(sk, kind, got, Some(sid)).unwrap();
        assert_eq!(opened.get("api_key"), Some(SECRET));
        needles.push(("poll token".into(), s["poll_token"].as_str().unwrap().into()));
        needles.push(("connect token".into(), ct));
        needles.push(("code".into(), code.into()));
        needles.push(("code (compact)".into(), code.replace('-', "")));
        needles.push(("ciphertext".into(), ciphertext));
    }
    // An inbox decline in the same run.
    let (inbox, itok, cred) = b.inbox_with_sender("flow");
    let (inbox, itok) = (inbox.as_str(), itok.as_str());
    let s = b.create(json!({"inbox": cred}));
    let code = s["code"].as_str().unwrap();
    let r = common::http(
        &b.addr,
        "DELETE",
        &format!("/v1/inboxes/{inbox}/requests/{code}"),
        &[("Authorization", &format!("Bearer {itok}"))],
        None,
    );
    assert_eq!(r.status, 204);
    let p = b
        .get_auth(&format!("/v1/sessions/{}", s["session_id"].as_str().unwrap()), s["poll_token"].as_str().unwrap())
        .problem(404, "ERR_REQUEST_DECLINED");
    assert_eq!(p["title"], "Request Declined");
    needles.push(("inbox token".into(), itok.into()));
    needles.push(("sender credential".into(), cred.clone()));
    needles.push(("poll token".into(), s["poll_token"].as_str().unwrap().into()));

    // At rest: the database, its WAL and shared memory, while running and after stop.
    let db_path = b.db.clone();
    let check_db = |when: &str| {
        let at_rest: Vec<(&str, &str)> = needles
            .iter()
            .filter(|(n, _)| !n.starts_with("code") && n != "ciphertext")
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        for suffix in ["", "-wal", "-shm"] {
            let path = format!("{}{suffix}", db_path.display());
            if let Ok(bytes) = std::fs::read(&path) {
                assert_absent(&bytes, &at_rest, &format!("{path} ({when})"));
            }
        }
    };
    check_db("running");
    assert!(b.terminate());
    check_db("stopped");
    // After a clean stop the WAL is checkpointed: consumed ciphertext was overwritten.
    let main_db = std::fs::read(&b.db).unwrap();
    for (name, v) in needles.iter().filter(|(n, _)| n == "ciphertext") {
        assert_absent(&main_db, &[(name.as_str(), v.as_str())], "database after stop");
    }
    // Logs (debug level): nothing sensitive at all.
    let log = b.log_text();
    assert!(log.contains("/v1/connect/{code}"), "request log missing: {log}");
    let all: Vec<(&str, &str)> = needles.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert_absent(log.as_bytes(), &all, "broker log");
    let pk_wire = common::public_key_wire();
    assert_absent(log.as_bytes(), &[("public key", &pk_wire[40..80])], "broker log");
}
