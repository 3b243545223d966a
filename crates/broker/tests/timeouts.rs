//! Slow clients (slowloris): a connection that trickles its request head or its
//! body, or sends nothing at all, is closed within a bounded time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{Broker, TempDir};

/// Generous: the bound under test is 1 s; this only has to tell "closed" from "held open".
const CLOSED_WITHIN: Duration = Duration::from_secs(8);

/// Write `chunk` every `every` until the server closes the socket or `stop` is set.
fn trickle(mut s: TcpStream, chunk: &'static [u8], every: Duration, stop: Arc<AtomicBool>) -> JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut sent = 0;
        let started = Instant::now();
        while !stop.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(30) {
            if s.write_all(chunk).is_err() {
                break;
            }
            sent += chunk.len();
            std::thread::sleep(every);
        }
        sent
    })
}

/// Read until the server closes the connection; the bytes and how long it took.
/// Panics if the connection is still open after [`CLOSED_WITHIN`].
fn read_until_closed(s: &mut TcpStream) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    s.set_read_timeout(Some(CLOSED_WITHIN)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            // Reset by the server: closed too.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("connection still open after {:?} ({e})", started.elapsed()),
        }
    }
    (got, started.elapsed())
}

fn start(dir: &TempDir) -> Broker {
    Broker::start(&dir.0, &["--header-read-timeout", "1", "--body-read-timeout", "1"])
}

#[test]
fn a_trickled_request_head_is_cut_off() {
    let dir = TempDir::new("slow-head");
    let b = start(&dir);
    let mut s = TcpStream::connect(&b.addr).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    // One header line every 200 ms: each byte arrives well within any per-read
    // timeout, the head as a whole never completes.
    let writer = trickle(s.try_clone().unwrap(), b"X-Slow: 1\r\n", Duration::from_millis(200), stop.clone());
    let (got, took) = read_until_closed(&mut s);
    stop.store(true, Ordering::SeqCst);
    let sent = writer.join().unwrap();
    assert!(took < CLOSED_WITHIN, "closed after {took:?}");
    // Never answered as a request: at most an error status, never a 200.
    assert!(!String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"), "{got:?}");
    eprintln!("slow head: closed after {took:?}, {sent} header bytes sent");
    // The broker still serves others.
    assert_eq!(b.get("/healthz").status, 200);
}

#[test]
fn a_silent_connection_is_closed() {
    let dir = TempDir::new("silent");
    let b = start(&dir);
    let mut s = TcpStream::connect(&b.addr).unwrap();
    let (got, took) = read_until_closed(&mut s);
    assert!(took < CLOSED_WITHIN, "closed after {took:?}");
    assert!(!String::from_utf8_lossy(&got).contains("200 OK"));
    // Idle between keep-alive requests: closed as well.
    let mut s = TcpStream::connect(&b.addr).unwrap();
    s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", b.addr).as_bytes()).unwrap();
    let (got, took) = read_until_closed(&mut s);
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"), "{got:?}");
    assert!(took < CLOSED_WITHIN, "idle keep-alive connection closed after {took:?}");
}

#[test]
fn a_trickled_body_gets_408_and_the_connection_is_closed() {
    let dir = TempDir::new("slow-body");
    let b = start(&dir);
    let mut s = TcpStream::connect(&b.addr).unwrap();
    let head = format!(
        "POST /v1/connect/resolve HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{{\"user_code\":",
        b.addr
    );
    s.write_all(head.as_bytes()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = trickle(s.try_clone().unwrap(), b" ", Duration::from_millis(100), stop.clone());
    let (got, took) = read_until_closed(&mut s);
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    assert!(took < CLOSED_WITHIN, "closed after {took:?}");
    let r = common::parse_response(&got);
    r.problem(408, "ERR_BODY_TIMEOUT");
    assert_eq!(r.header("connection"), Some("close"));
    assert_eq!(r.header("content-security-policy"), Some(common::CSP));
    // Same for a chunked body that never ends.
    let mut s = TcpStream::connect(&b.addr).unwrap();
    let head = format!(
        "POST /v1/sessions HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        b.addr
    );
    s.write_all(head.as_bytes()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = trickle(s.try_clone().unwrap(), b"1\r\n \r\n", Duration::from_millis(100), stop.clone());
    let (got, took) = read_until_closed(&mut s);
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    assert!(took < CLOSED_WITHIN, "closed after {took:?}");
    common::parse_response(&got).problem(408, "ERR_BODY_TIMEOUT");
}

#[test]
fn ordinary_requests_are_unaffected_by_short_timeouts() {
    let dir = TempDir::new("fast");
    let b = start(&dir);
    let s = b.create(serde_json::json!({}));
    let code = s["code"].as_str().unwrap();
    assert_eq!(b.get(&format!("/v1/connect/{code}")).status, 200);
    let ct = b.confirm(code);
    assert_eq!(b.complete(code, &ct, "Y3Q=", "JWE").status, 204);
    // Bodies over the limit are still 413, before the deadline.
    let big = vec![b'x'; 70 * 1024];
    let r = common::http(&b.addr, "POST", "/v1/sessions", &[("Content-Type", "application/json")], Some(&big));
    r.problem(413, "ERR_BODY_TOO_LARGE");
    // A flag value outside 1..=3600 is refused at start.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sealpost-broker"))
        .args(["--listen", "127.0.0.1:0", "--header-read-timeout", "0"])
        .arg("--db")
        .arg(dir.0.join("other.db"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--header-read-timeout"));
}
