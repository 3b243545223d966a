//! Attempt limits on connect/resolve/confirm/complete, X-Forwarded-For behind
//! trusted proxies, and the limiter's fixed memory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Broker, TempDir};
use serde_json::json;

#[test]
fn eleventh_confirm_in_a_minute_is_429() {
    let dir = TempDir::new("confirm-limit");
    let b = Broker::start(&dir.0, &[]);
    let s = b.create(json!({}));
    let code = s["code"].as_str().unwrap();
    let path = format!("/v1/connect/{code}/confirm");
    assert_eq!(b.post_empty(&path).status, 200);
    for i in 2..=10 {
        assert_eq!(b.post_empty(&path).status, 409, "attempt {i}");
    }
    let r = b.post_empty(&path);
    r.problem(429, "ERR_RATE_LIMITED");
    assert_eq!(r.header("retry-after"), Some("60"));
    // The same code in another spelling is the same code.
    b.get(&format!("/v1/connect/{}", code.to_lowercase().replace('-', ""))).problem(429, "ERR_RATE_LIMITED");
    // Another code is independent; unknown codes are counted too.
    let other = b.create(json!({}));
    assert_eq!(b.get(&format!("/v1/connect/{}", other["code"].as_str().unwrap())).status, 200);
    for _ in 0..10 {
        b.post_json("/v1/connect/resolve", &json!({"user_code": "QQQQ-1111"})).problem(404, "ERR_SESSION_NOT_FOUND");
    }
    b.post_json("/v1/connect/resolve", &json!({"user_code": "QQQQ-1111"})).problem(429, "ERR_RATE_LIMITED");
}

#[test]
fn eleventh_complete_in_a_minute_is_429() {
    let dir = TempDir::new("complete-limit");
    let b = Broker::start(&dir.0, &[]);
    let s = b.create(json!({}));
    let code = s["code"].as_str().unwrap();
    let ct = b.confirm(code);
    // Ten wrong guesses at the connect token are answered...
    for i in 1..=10 {
        b.complete(code, &format!("ct_guess{i}"), "Y3Q=", "JWE").problem(403, "ERR_TOKEN_INVALID");
    }
    // ...the eleventh attempt is refused before the token is even looked at.
    let r = b.complete(code, &ct, "Y3Q=", "JWE");
    let v = r.problem(429, "ERR_RATE_LIMITED");
    assert_eq!(v["status"], 429);
    assert_eq!(r.header("retry-after"), Some("60"));
    b.complete(&code.to_lowercase().replace('-', ""), &ct, "Y3Q=", "JWE").problem(429, "ERR_RATE_LIMITED");
    // Nothing was stored: the session is still waiting for its ciphertext.
    let poll =
        b.get_auth(&format!("/v1/sessions/{}", s["session_id"].as_str().unwrap()), s["poll_token"].as_str().unwrap());
    assert_eq!(poll.json()["status"], "confirmed", "{}", poll.body);
    // complete has its own budget: look-ups of the code are still answered.
    b.get(&format!("/v1/connect/{code}")).problem(404, "ERR_SESSION_NOT_FOUND");
    // Another code is independent.
    let other = b.create(json!({}));
    let oc = other["code"].as_str().unwrap();
    let ot = b.confirm(oc);
    assert_eq!(b.complete(oc, &ot, "Y3Q=", "JWE").status, 204);
}

#[test]
fn complete_counts_against_the_per_client_budget() {
    let dir = TempDir::new("complete-client");
    let b = Broker::start(&dir.0, &["--connect-rate-client", "5"]);
    for i in 0..5 {
        b.complete(&format!("CCCC{i:04}"), "ct_x", "Y3Q=", "JWE").problem(404, "ERR_SESSION_NOT_FOUND");
    }
    b.complete("CCCC9999", "ct_x", "Y3Q=", "JWE").problem(429, "ERR_RATE_LIMITED");
    b.get("/v1/connect/DDDD0000").problem(429, "ERR_RATE_LIMITED");
}

#[test]
fn per_client_budget_across_codes() {
    let dir = TempDir::new("client-limit");
    let b = Broker::start(&dir.0, &["--connect-rate-client", "20"]);
    for i in 0..20 {
        b.get(&format!("/v1/connect/AAAA{i:04}")).problem(404, "ERR_SESSION_NOT_FOUND");
    }
    b.get("/v1/connect/BBBB0000").problem(429, "ERR_RATE_LIMITED");
}

#[test]
fn limiter_memory_stays_bounded_under_random_codes() {
    let dir = TempDir::new("flood");
    let b = Broker::start(&dir.0, &["--connect-rate-client", "0", "--limiter-capacity", "2048", "--log", "warn"]);
    let health = || b.get("/healthz").json();
    let cap = health()["limiters"]["connect"]["capacity"].as_u64().unwrap();
    assert!(cap <= 2048 && cap > 0);
    // One flood of distinct random codes from 4 threads, as many as there are keys below.
    let flood = |seed: u64| {
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let addr = b.addr.clone();
                std::thread::spawn(move || {
                    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ seed ^ t;
                    for _ in 0..3000 {
                        // xorshift: random 8-character codes from A-Z0-9.
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let code: String = (0..8)
                            .map(|i| {
                                char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[((x >> (i * 5)) % 36) as usize])
                            })
                            .collect();
                        let r = common::http(&addr, "GET", &format!("/v1/connect/{code}"), &[], None);
                        assert_eq!(r.status, 404);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    };
    // Warm up with a first flood: the worker threads, the reader connections' caches and
    // the allocator reach their working size, and the table fills. The baseline is taken
    // after it, so what is measured is the growth caused by 12,000 more distinct keys.
    flood(0x5EED_0001);
    let before = b.rss_kib();
    flood(0x5EED_0002);
    let stats = health();
    let entries = stats["limiters"]["connect"]["entries"].as_u64().unwrap();
    assert!(entries <= cap, "{stats}");
    assert!(entries > cap / 2, "the flood should fill the table: {stats}");
    let after = b.rss_kib();
    // 12,000 distinct keys into a 2,048-slot table: RSS must not follow the key count.
    assert!(after < before + 4096, "RSS grew from {before} KiB to {after} KiB");
}

/// GET a fresh unknown code with these `X-Forwarded-For` lines; returns the status.
fn lookup_as(b: &Broker, n: &mut u32, xff: &[&str]) -> u16 {
    *n += 1;
    let headers: Vec<(&str, &str)> = xff.iter().map(|v| ("X-Forwarded-For", *v)).collect();
    common::http(&b.addr, "GET", &format!("/v1/connect/XFF{n:05}"), &headers, None).status
}

#[test]
fn forwarded_for_names_the_client_behind_a_trusted_proxy() {
    let dir = TempDir::new("xff-trusted");
    // The test client (127.0.0.1) plays the reverse proxy.
    let b = Broker::start(&dir.0, &["--trust-proxy", "127.0.0.1, 10.0.0.0/8", "--connect-rate-client", "3"]);
    let n = &mut 0;
    for _ in 0..3 {
        assert_eq!(lookup_as(&b, n, &["203.0.113.1"]), 404);
    }
    assert_eq!(lookup_as(&b, n, &["203.0.113.1"]), 429);
    // Another client behind the same proxy has its own budget.
    assert_eq!(lookup_as(&b, n, &["203.0.113.2"]), 404);
    // Entries the client wrote itself (left of what the proxy appended) change nothing.
    for i in 0..3 {
        assert_eq!(lookup_as(&b, n, &[&format!("198.51.100.{i}, 203.0.113.1")]), 429);
        assert_eq!(lookup_as(&b, n, &[&format!("198.51.100.{i}"), "203.0.113.1"]), 429);
    }
    // Two trusted hops: the address before them.
    assert_eq!(lookup_as(&b, n, &["203.0.113.1, 10.1.2.3"]), 429);
    assert_eq!(lookup_as(&b, n, &["203.0.113.3, 10.1.2.3"]), 404);
    // No header: the proxy itself is the client.
    assert_eq!(lookup_as(&b, n, &[]), 404);
    let r = common::http(&b.addr, "GET", "/v1/connect/XFF99999", &[("X-Forwarded-For", "203.0.113.1")], None);
    r.problem(429, "ERR_RATE_LIMITED");
}

#[test]
fn ipv6_clients_share_a_budget_per_64() {
    let dir = TempDir::new("xff-v6");
    let b = Broker::start(&dir.0, &["--trust-proxy", "127.0.0.1", "--connect-rate-client", "3"]);
    let n = &mut 0;
    // Three different addresses of one /64: one budget between them.
    for host in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff"] {
        assert_eq!(lookup_as(&b, n, &[host]), 404);
    }
    assert_eq!(lookup_as(&b, n, &["2001:db8:1:2:abcd::9"]), 429);
    // The next /64 is another client.
    assert_eq!(lookup_as(&b, n, &["2001:db8:1:3::1"]), 404);
}

#[test]
fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    for args in
        [&["--connect-rate-client", "3"][..], &["--connect-rate-client", "3", "--trust-proxy", "10.0.0.0/8,::1"][..]]
    {
        let dir = TempDir::new("xff-untrusted");
        let b = Broker::start(&dir.0, args);
        let n = &mut 0;
        for i in 0..3 {
            assert_eq!(lookup_as(&b, n, &[&format!("203.0.113.{i}")]), 404, "{args:?}");
        }
        // A new forged address each time does not buy a new budget.
        for i in 3..6 {
            assert_eq!(lookup_as(&b, n, &[&format!("203.0.113.{i}")]), 429, "{args:?}");
        }
    }
}

#[test]
fn trust_proxy_refuses_what_is_not_an_address() {
    let dir = TempDir::new("xff-bad");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sealpost-broker"))
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(dir.0.join("x.db"))
        .args(["--trust-proxy", "proxy.example"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--trust-proxy") && err.contains("CIDR"), "{err}");
    assert!(out.stdout.is_empty());
}

fn guess_path(i: u32) -> String {
    // Session ids are public (SHA-256 of the code): a guesser computes them.
    sealpost_core::protocol::session_id_for_code(&format!("GUES{i:04}")).map(|id| format!("/v1/sessions/{id}")).unwrap()
}

#[test]
fn a_poll_guesser_hits_429_within_the_client_budget() {
    let dir = TempDir::new("poll-guess");
    let b = Broker::start(&dir.0, &["--connect-rate-client", "20", "--poll-interval", "0"]);
    let s = b.create(json!({}));
    let sid = s["session_id"].as_str().unwrap();
    let pt = s["poll_token"].as_str().unwrap();
    // A LinkAuth agent with a wrong token on its session still gets 403.
    b.get_auth(&format!("/v1/sessions/{sid}"), "pt_wrong").problem(403, "ERR_TOKEN_INVALID");
    let mut answered = 1;
    for i in 0..100 {
        let r = b.get_auth(&guess_path(i), "pt_guess");
        if r.status == 429 {
            r.problem(429, "ERR_RATE_LIMITED");
            break;
        }
        r.problem(404, "ERR_SESSION_NOT_FOUND");
        answered += 1;
    }
    assert_eq!(answered, 20, "failed look-ups answered before 429");
    // Spent: a live session with a wrong token now looks like any other guess...
    b.get_auth(&format!("/v1/sessions/{sid}"), "pt_wrong").problem(429, "ERR_RATE_LIMITED");
    // ...the budget is the one of connect/resolve...
    b.get(&format!("/v1/connect/{}", s["code"].as_str().unwrap())).problem(429, "ERR_RATE_LIMITED");
    // ...and the agent with the right token is not throttled.
    for _ in 0..3 {
        let r = b.get_auth(&format!("/v1/sessions/{sid}"), pt);
        assert_eq!(r.status, 200, "{}", r.body);
    }
}

#[test]
fn the_global_ceiling_on_failed_lookups_trips_across_many_clients() {
    let dir = TempDir::new("poll-global");
    let b = Broker::start(&dir.0, &["--trust-proxy", "127.0.0.1", "--poll-miss-global", "30", "--poll-interval", "0"]);
    let s = b.create(json!({}));
    let sid = s["session_id"].as_str().unwrap();
    let as_client = |path: &str, token: &str, n: u32| {
        let xff = format!("198.51.{}.{}", n / 250, n % 250 + 1);
        common::http(
            &b.addr,
            "GET",
            path,
            &[("Authorization", &format!("Bearer {token}")), ("X-Forwarded-For", &xff)],
            None,
        )
    };
    let mut answered = 0;
    for n in 0..60 {
        // One guess per client address: no per-client budget is ever close.
        let r = as_client(&guess_path(n), "pt_guess", n);
        if r.status == 429 {
            break;
        }
        r.problem(404, "ERR_SESSION_NOT_FOUND");
        answered += 1;
    }
    assert_eq!(answered, 30);
    as_client(&guess_path(999), "pt_guess", 1000).problem(429, "ERR_RATE_LIMITED");
    as_client(&format!("/v1/sessions/{sid}"), "pt_wrong", 1001).problem(429, "ERR_RATE_LIMITED");
    // The right token is still served.
    let r = as_client(&format!("/v1/sessions/{sid}"), s["poll_token"].as_str().unwrap(), 1002);
    assert_eq!(r.status, 200, "{}", r.body);
    for n in 1003..1010 {
        as_client(&guess_path(n), "pt_guess", n).problem(429, "ERR_RATE_LIMITED");
    }
    let log = b.log_text();
    assert_eq!(log.matches("global ceiling on failed session look-ups reached").count(), 1, "{log}");
}

#[test]
fn cross_site_form_posts_are_refused() {
    let dir = TempDir::new("cross-site");
    let b = Broker::start(&dir.0, &[]);
    let s = b.create(json!({}));
    let code = s["code"].as_str().unwrap();
    let (inbox, token) = b.new_inbox();
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let evil = ("Origin", "https://evil.example");
    let json_ct = ("Content-Type", "application/json");
    let auth = format!("Bearer {token}");
    let posts: Vec<(String, Vec<u8>)> = vec![
        (format!("/v1/connect/{code}/confirm"), b"".to_vec()),
        (
            format!("/v1/connect/{code}/complete"),
            br#"{"ciphertext":"Y3Q=","algorithm":"JWE","connect_token":"ct_x"}"#.to_vec(),
        ),
        ("/v1/connect/resolve".to_owned(), format!(r#"{{"user_code":"{code}"}}"#).into_bytes()),
        ("/v1/inboxes".to_owned(), b"{}".to_vec()),
        (format!("/v1/inboxes/{inbox}/senders"), br#"{"name":"x"}"#.to_vec()),
    ];
    for (path, body) in &posts {
        let with = |h: &[(&str, &str)]| {
            let mut h = h.to_vec();
            h.push(("Authorization", &auth));
            common::http(&b.addr, "POST", path, &h, Some(body))
        };
        // The attack: a form on another site (no preflight needed).
        with(&[form, evil]).problem(403, "ERR_ORIGIN_FORBIDDEN");
        with(&[json_ct, evil]).problem(403, "ERR_ORIGIN_FORBIDDEN");
        with(&[json_ct, ("Origin", "null")]).problem(403, "ERR_ORIGIN_FORBIDDEN");
        with(&[json_ct, ("Origin", "http://127.0.0.1.evil.example")]).problem(403, "ERR_ORIGIN_FORBIDDEN");
        // A form content type from no origin at all, or from the broker's own page.
        with(&[form]).problem(415, "ERR_UNSUPPORTED_MEDIA_TYPE");
        with(&[("Content-Type", "text/plain"), ("Origin", b.url.as_str())]).problem(415, "ERR_UNSUPPORTED_MEDIA_TYPE");
        with(&[("Origin", b.url.as_str())]).problem(415, "ERR_UNSUPPORTED_MEDIA_TYPE");
    }
    // Nothing happened to the session.
    assert_eq!(b.get(&format!("/v1/connect/{code}")).json()["status"], "pending");
    // The broker's own page, a loopback alias of it, and extensions pass.
    let port = b.addr.rsplit(':').next().unwrap();
    let localhost = format!("http://localhost:{port}");
    for origin in
        [b.url.as_str(), localhost.as_str(), "chrome-extension://abcdefghijklmnop", "moz-extension://0b1e-uuid"]
    {
        let r = common::http(
            &b.addr,
            "POST",
            "/v1/connect/resolve",
            &[json_ct, ("Origin", origin)],
            Some(format!(r#"{{"user_code":"{code}"}}"#).as_bytes()),
        );
        assert_eq!(r.status, 200, "{origin}: {}", r.body);
    }
    // Another port on loopback is another site.
    let other_port = format!("http://localhost:{}", port.parse::<u16>().unwrap().wrapping_add(1));
    common::http(&b.addr, "POST", "/v1/connect/resolve", &[json_ct, ("Origin", &other_port)], Some(b"{}"))
        .problem(403, "ERR_ORIGIN_FORBIDDEN");
    // Confirm from the page itself works (empty body, JSON content type).
    let r = common::http(
        &b.addr,
        "POST",
        &format!("/v1/connect/{code}/confirm"),
        &[json_ct, ("Origin", b.url.as_str())],
        Some(b"{}"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // The agent-facing create is not browser-facing: an Origin does not matter there.
    let r = common::http(
        &b.addr,
        "POST",
        "/v1/sessions",
        &[json_ct, evil],
        Some(json!({"public_key": common::public_key_wire(), "template": "api_key"}).to_string().as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.body);
}
