//! LinkAuth callbacks (issue 14): a real broker process POSTs to a real HTTP
//! receiver on 127.0.0.1 (allowed because the broker runs in development mode:
//! its public URL is on loopback). The receiver checks the signature itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Broker, TempDir};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// What the receiver does with one request.
#[derive(Clone, Debug)]
enum Answer {
    Status(u16),
    Redirect(String),
    /// Read the request, then keep the connection open without answering.
    Hang,
}

#[derive(Clone, Debug)]
struct Seen {
    at: Instant,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A tiny HTTP/1.1 receiver: answers requests in order from a script (the
/// last answer repeats) and records what it saw.
struct Receiver {
    addr: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    _held: Arc<Mutex<Vec<TcpStream>>>,
}

impl Receiver {
    fn start(script: Vec<Answer>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let held = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let (seen2, held2) = (seen.clone(), held.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (seen, held, script) = (seen2.clone(), held2.clone(), script.clone());
                std::thread::spawn(move || serve(stream, &seen, &held, &script));
            }
        });
        Self { addr, seen, _held: held }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Wait until `n` requests arrived (panics after `secs`).
    fn wait_for(&self, n: usize, secs: u64) -> Vec<Seen> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let seen = self.seen();
            if seen.len() >= n {
                return seen;
            }
            assert!(Instant::now() < deadline, "receiver saw {} of {n} requests in {secs} s", seen.len());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<Seen>>, held: &Mutex<Vec<TcpStream>>, script: &Mutex<VecDeque<Answer>>) {
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap();
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).unwrap();
    seen.lock().unwrap().push(Seen { at: Instant::now(), path, headers, body });
    let answer = {
        let mut s = script.lock().unwrap();
        if s.len() > 1 { s.pop_front().unwrap() } else { s.front().cloned().unwrap_or(Answer::Status(200)) }
    };
    let mut stream = stream;
    match answer {
        Answer::Status(code) => {
            let _ = write!(stream, "HTTP/1.1 {code} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
        Answer::Redirect(to) => {
            let _ = write!(
                stream,
                "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
        Answer::Hang => held.lock().unwrap().push(stream),
    }
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit())
        && parts[2].starts_with('4')
}

/// Create a session with a callback, confirm and complete it: `(create response, ciphertext)`.
fn complete_with_callback(b: &Broker, url: &str) -> (serde_json::Value, String) {
    let created = b.create(serde_json::json!({ "callback_url": url }));
    let code = created["code"].as_str().unwrap();
    let token = b.confirm(code);
    let ciphertext = "c2VhbGVkIGJ5IHRoZSBicm93c2Vy";
    let r = b.complete(code, &token, ciphertext, "RSA-OAEP-256+AES-256-GCM");
    assert_eq!(r.status, 204, "{}", r.body);
    (created, ciphertext.to_owned())
}

#[test]
fn delivery_is_signed_and_the_agent_can_still_poll() {
    let dir = TempDir::new("cb-sign");
    let b = Broker::start(&dir.0, &["--poll-interval", "0"]);
    let rx = Receiver::start(vec![Answer::Status(200)]);
    let (created, ciphertext) = complete_with_callback(&b, &rx.url("/hooks/ready?x=1"));
    let secret = created["callback_secret"].as_str().expect("callback_secret in the create response");
    assert!(secret.starts_with("cs_") && secret.len() >= 40, "{secret}");

    let seen = rx.wait_for(1, 10);
    let req = &seen[0];
    assert_eq!(req.path, "/hooks/ready?x=1");
    assert_eq!(req.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "session_id": created["session_id"],
            "status": "ready",
            "ciphertext": ciphertext,
            "algorithm": "RSA-OAEP-256+AES-256-GCM",
        })
    );
    // The receiver recomputes the HMAC over the exact bytes it got.
    let sig = req.header("x-linkauth-signature").expect("signature header");
    assert_eq!(sig, format!("sha256={}", hmac_hex(secret, &req.body)));
    assert_ne!(sig, format!("sha256={}", hmac_hex("cs_wrong", &req.body)));
    assert!(is_uuid(req.header("x-linkauth-delivery-id").unwrap()), "{:?}", req.header("x-linkauth-delivery-id"));

    // Polling still works: the callback did not consume the session.
    let sid = created["session_id"].as_str().unwrap();
    let poll = b.get_auth(&format!("/v1/sessions/{sid}"), created["poll_token"].as_str().unwrap());
    assert_eq!(poll.status, 200, "{}", poll.body);
    assert_eq!(poll.json()["ciphertext"], ciphertext);

    // Delivered once: nothing more arrives.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(rx.seen().len(), 1);
    // The secret never reaches the log.
    assert!(!b.log_text().contains(secret));
}

#[test]
fn retried_after_503_with_the_same_delivery_id() {
    let dir = TempDir::new("cb-503");
    let b = Broker::start(&dir.0, &[]);
    let rx = Receiver::start(vec![Answer::Status(503), Answer::Status(503), Answer::Status(200)]);
    let (created, _) = complete_with_callback(&b, &rx.url("/cb"));
    let seen = rx.wait_for(3, 20);
    let ids: Vec<&str> = seen.iter().map(|s| s.header("x-linkauth-delivery-id").unwrap()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    // About 1 s, then about 4 s between attempts.
    let gap1 = seen[1].at - seen[0].at;
    let gap2 = seen[2].at - seen[1].at;
    assert!(gap1 >= Duration::from_millis(900) && gap1 < Duration::from_secs(4), "{gap1:?}");
    assert!(gap2 >= Duration::from_millis(3900) && gap2 < Duration::from_secs(8), "{gap2:?}");
    // Each attempt is signed over its own exact body with the same secret.
    let secret = created["callback_secret"].as_str().unwrap();
    for s in &seen {
        assert_eq!(s.header("x-linkauth-signature").unwrap(), format!("sha256={}", hmac_hex(secret, &s.body)));
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(rx.seen().len(), 3, "no attempt after the 200");
}

#[test]
fn not_retried_after_400() {
    let dir = TempDir::new("cb-400");
    let b = Broker::start(&dir.0, &[]);
    let rx = Receiver::start(vec![Answer::Status(400)]);
    complete_with_callback(&b, &rx.url("/cb"));
    rx.wait_for(1, 10);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(rx.seen().len(), 1, "a 4xx answer is final");
    assert!(b.log_text().contains("callback refused"), "{}", b.log_text());
}

#[test]
fn redirect_is_not_followed() {
    let dir = TempDir::new("cb-302");
    let b = Broker::start(&dir.0, &[]);
    let elsewhere = Receiver::start(vec![Answer::Status(200)]);
    let rx = Receiver::start(vec![Answer::Redirect(elsewhere.url("/stolen"))]);
    complete_with_callback(&b, &rx.url("/cb"));
    rx.wait_for(1, 10);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(rx.seen().len(), 1, "a 3xx answer is final, not retried");
    assert!(elsewhere.seen().is_empty(), "the redirect target was called");
}

#[test]
fn refused_targets_get_a_clear_error_at_creation() {
    let dir = TempDir::new("cb-ssrf");
    let b = Broker::start(&dir.0, &[]);
    let create = |b: &Broker, url: &str| {
        let body =
            serde_json::json!({"public_key": common::public_key_wire(), "template": "api_key", "callback_url": url});
        b.post_json("/v1/sessions", &body)
    };
    // Private, link-local/metadata, unique-local/metadata, unspecified, multicast,
    // mapped loopback: refused even on a development broker.
    for url in [
        "https://10.1.2.3/cb",
        "https://192.168.0.10/cb",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://0.0.0.0/",
        "https://224.0.0.1/",
        "https://[::ffff:10.0.0.1]/",
        "https://100.100.100.200/",
    ] {
        let v = create(&b, url).problem(400, "ERR_CALLBACK_FORBIDDEN");
        assert!(v["detail"].as_str().unwrap().contains("private"), "{v}");
    }
    for url in ["ftp://example.com/", "https://user:pw@example.com/", "not a url", "https://h:0/"] {
        create(&b, url).problem(400, "ERR_CALLBACK_URL_INVALID");
    }
    create(&b, "https://no-such-host.invalid/cb").problem(400, "ERR_CALLBACK_UNRESOLVABLE");

    // Not in development mode: http refused, loopback refused ...
    let prod = Broker::start(&TempDir::new("cb-prod").0, &["--public-url", "https://broker.example"]);
    create(&prod, "http://127.0.0.1:9/cb").problem(400, "ERR_CALLBACK_URL_INVALID");
    create(&prod, "https://127.0.0.1:9/cb").problem(400, "ERR_CALLBACK_FORBIDDEN");
    create(&prod, "https://localhost:9/cb").problem(400, "ERR_CALLBACK_FORBIDDEN");
    // ... unless the operator allows the network.
    let allowed = Broker::start(
        &TempDir::new("cb-allow").0,
        &["--public-url", "https://broker.example", "--callback-allow", "127.0.0.1/32"],
    );
    let r = create(&allowed, "https://127.0.0.1:9/cb");
    assert_eq!(r.status, 201, "{}", r.body);
    create(&allowed, "https://10.1.2.3/cb").problem(400, "ERR_CALLBACK_FORBIDDEN");
}

#[test]
fn another_process_finishes_a_delivery_after_a_crash() {
    let dir = TempDir::new("cb-crash");
    // The first attempt hangs with the request in flight; then the process dies.
    let rx = Receiver::start(vec![Answer::Hang, Answer::Status(200)]);
    let mut a = Broker::start(&dir.0, &["--callback-lease", "2"]);
    complete_with_callback(&a, &rx.url("/cb"));
    let first = rx.wait_for(1, 10);
    a.kill9();
    // A second process on the same database file takes the row over once the lease ran out.
    let b = Broker::start(&dir.0, &["--callback-lease", "2"]);
    let seen = rx.wait_for(2, 15);
    assert_eq!(seen[1].header("x-linkauth-delivery-id"), first[0].header("x-linkauth-delivery-id"));
    assert_eq!(seen[1].body, first[0].body);
    std::thread::sleep(Duration::from_millis(3000));
    assert_eq!(rx.seen().len(), 2, "delivered once by the second process");
    assert!(b.log_text().contains("callback delivered"), "{}", b.log_text());
}

#[test]
fn https_callbacks_speak_tls_and_a_failed_handshake_is_retried() {
    // A production broker allowed to call 127.0.0.1: an https callback to a
    // listener that is not a TLS server. The broker must open with a TLS
    // ClientHello (record type 0x16), never plaintext, and retry after the
    // handshake fails.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let first_bytes = Arc::new(Mutex::new(Vec::new()));
    let fb = first_bytes.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut byte = [0u8; 1];
            if stream.read_exact(&mut byte).is_ok() {
                fb.lock().unwrap().push(byte[0]);
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let dir = TempDir::new("cb-tls");
    let b = Broker::start(&dir.0, &["--public-url", "https://broker.example", "--callback-allow", "127.0.0.1/32"]);
    complete_with_callback(&b, &format!("https://127.0.0.1:{port}/cb"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while first_bytes.lock().unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "expected a retry after the failed handshake");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(first_bytes.lock().unwrap().iter().all(|b| *b == 0x16), "{:?}", first_bytes.lock().unwrap());
}
