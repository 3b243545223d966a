//! Test harness: the real `sealpost-broker` binary on 127.0.0.1:0 and a tiny
//! blocking HTTP/1.1 client (one connection per request, `Connection: close`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sealpost_core::keys::{AgentPrivateKey, KeyBits};

#[cfg(feature = "postgres")]
pub mod pg;

/// Whether brokers started by [`Broker::start`] use PostgreSQL
/// (`SEALPOST_TEST_BACKEND=postgres`, with `SEALPOST_TEST_PG` naming the server).
pub fn on_postgres() -> bool {
    std::env::var("SEALPOST_TEST_BACKEND").is_ok_and(|v| v == "postgres")
}

pub const CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
/// A 1024-bit RSA key (too small).
pub const RSA_1024: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDlDlvCz1plBTJ5rkQoGL6oj8GtqIZiZub5uKcNzAuxONqQXbwJ1R26/wEi0VwAe+pOjLvxZTu7gcJB0QhVgBA/777Gmy3ukYwfiZVpsOWCBYZn0sGL6JeS0fah9k2ThfcEqBlgRBbtATZWy1QUEQbrHFBupkybOiT9BsOHnEuLSQIDAQAB";
/// A P-256 key (not RSA).
pub const EC_P256: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEBP3CLVF51HcjuDvaNwrX8Wax4I3fEqN9cOZImG8yH51pjAtfujUDiH6XXQypF5O/FspWK7KOR0mImXdUW8p7rQ==";

/// One agent key per test binary (RSA keygen is slow).
pub fn agent_key() -> &'static AgentPrivateKey {
    static KEY: OnceLock<AgentPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| AgentPrivateKey::generate(KeyBits::B2048).expect("keygen"))
}

pub fn public_key_wire() -> String {
    agent_key().public_key().to_wire()
}

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let p = std::env::temp_dir().join(format!(
            "sealpost-broker-test-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running broker process.
pub struct Broker {
    pub child: Child,
    pub url: String,
    pub addr: String,
    pub db: PathBuf,
    pub log: PathBuf,
}

impl Broker {
    /// Start on `dir/sealpost.db` with stderr captured to `dir/broker-N.log`.
    pub fn start(dir: &Path, args: &[&str]) -> Self {
        Self::start_wrapped(dir, &[], args)
    }

    /// Like [`Self::start`], run through `wrapper` (e.g. `["prlimit", "--nofile=256:256", "--"]`).
    pub fn start_wrapped(dir: &Path, wrapper: &[&str], args: &[&str]) -> Self {
        #[allow(unused_mut)]
        let mut db = dir.join("data").join("sealpost.db");
        #[cfg(feature = "postgres")]
        if on_postgres() {
            db = PathBuf::from(pg::database_for_dir(dir));
        }
        Self::start_db(dir, db, wrapper, args)
    }

    /// Start on database `db` (a SQLite path or a PostgreSQL URL), logging to `dir`.
    pub fn start_db(dir: &Path, db: PathBuf, wrapper: &[&str], args: &[&str]) -> Self {
        static RUN: AtomicU32 = AtomicU32::new(0);
        let log = dir.join(format!("broker-{}.log", RUN.fetch_add(1, Ordering::SeqCst)));
        let log_file = std::fs::File::create(&log).unwrap();
        let bin = env!("CARGO_BIN_EXE_sealpost-broker");
        let mut cmd = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let mut child = cmd
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--db")
            .arg(&db)
            .args(args)
            .env_remove("SEALPOST_API_KEY")
            .env_remove("SEALPOST_PUBLIC_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("spawn broker");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        let url = first
            .trim()
            .strip_prefix("sealpost-broker listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        let addr = url.trim_start_matches("http://").to_owned();
        Self { child, url, addr, db, log }
    }

    pub fn get(&self, path: &str) -> Resp {
        http(&self.addr, "GET", path, &[], None)
    }

    pub fn get_auth(&self, path: &str, bearer: &str) -> Resp {
        http(&self.addr, "GET", path, &[("Authorization", &format!("Bearer {bearer}"))], None)
    }

    pub fn post_json(&self, path: &str, body: &serde_json::Value) -> Resp {
        http(&self.addr, "POST", path, &[("Content-Type", "application/json")], Some(body.to_string().as_bytes()))
    }

    /// A POST without a body (but with `Content-Type: application/json`, as
    /// browser-facing endpoints require it).
    pub fn post_empty(&self, path: &str) -> Resp {
        http(&self.addr, "POST", path, &[("Content-Type", "application/json")], None)
    }

    /// Create a session with `extra` merged into a minimal api_key request.
    pub fn create(&self, extra: serde_json::Value) -> serde_json::Value {
        let mut body = serde_json::json!({"public_key": public_key_wire(), "template": "api_key"});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        let r = self.post_json("/v1/sessions", &body);
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()
    }

    /// `POST /v1/inboxes`: `(inbox_id, inbox_token)`.
    pub fn new_inbox(&self) -> (String, String) {
        let r = self.post_json("/v1/inboxes", &serde_json::json!({}));
        assert_eq!(r.status, 201, "{}", r.body);
        let v = r.json();
        (v["inbox_id"].as_str().unwrap().to_owned(), v["inbox_token"].as_str().unwrap().to_owned())
    }

    /// Request with `Authorization: Bearer` and an optional JSON body.
    pub fn call_auth(&self, method: &str, path: &str, bearer: &str, body: Option<&serde_json::Value>) -> Resp {
        let auth = format!("Bearer {bearer}");
        let text = body.map(ToString::to_string);
        let mut headers = vec![("Authorization", auth.as_str())];
        if text.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        http(&self.addr, method, path, &headers, text.as_deref().map(str::as_bytes))
    }

    /// Add a sender named `name` to an inbox: the 201 body.
    pub fn add_sender(&self, inbox: &str, token: &str, name: &str) -> serde_json::Value {
        let r = self.call_auth(
            "POST",
            &format!("/v1/inboxes/{inbox}/senders"),
            token,
            Some(&serde_json::json!({"name": name})),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()
    }

    /// An inbox with one sender: `(inbox_id, inbox_token, sender_credential)`.
    pub fn inbox_with_sender(&self, name: &str) -> (String, String, String) {
        let (inbox, token) = self.new_inbox();
        let s = self.add_sender(&inbox, &token, name);
        (inbox, token, s["sender_credential"].as_str().unwrap().to_owned())
    }

    /// Confirm a code and return the connect token.
    pub fn confirm(&self, code: &str) -> String {
        let r = self.post_empty(&format!("/v1/connect/{code}/confirm"));
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["connect_token"].as_str().unwrap().to_owned()
    }

    pub fn complete(&self, code: &str, token: &str, ciphertext: &str, algorithm: &str) -> Resp {
        self.post_json(
            &format!("/v1/connect/{code}/complete"),
            &serde_json::json!({"ciphertext": ciphertext, "algorithm": algorithm, "connect_token": token}),
        )
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for exit; returns whether it exited successfully within 10 s.
    pub fn terminate(&mut self) -> bool {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// VmRSS of the broker in KiB.
    pub fn rss_kib(&self) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        s.lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy).
    pub body: String,
    /// The body as sent (still content-coded).
    pub raw: Vec<u8>,
    /// Bytes on the wire: status line, headers and body.
    pub wire_len: usize,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Assert an RFC 9457 problem with Sealpost's `code`; returns the body.
    pub fn problem(&self, status: u16, code: &str) -> serde_json::Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "{}", self.body);
        let v = self.json();
        assert!(v["type"].is_string(), "{v}");
        assert!(v["title"].as_str().is_some_and(|t| !t.is_empty()), "{v}");
        assert_eq!(v["status"], status, "{v}");
        assert!(v["detail"].is_string(), "{v}");
        assert_eq!(v["code"], code, "{v}");
        v
    }
}

/// One request on a fresh connection.
/// The body of `r` decoded by its `Content-Encoding` (none, gzip or br).
pub fn decode(r: &Resp) -> Vec<u8> {
    let mut out = Vec::new();
    match r.header("content-encoding") {
        None => out.clone_from(&r.raw),
        Some("gzip") => {
            flate2::read::GzDecoder::new(&r.raw[..]).read_to_end(&mut out).unwrap();
        }
        Some("br") => {
            brotli::Decompressor::new(&r.raw[..], 4096).read_to_end(&mut out).unwrap();
        }
        Some(other) => panic!("unexpected content-encoding {other}"),
    }
    out
}

pub fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or(b"");
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(req.as_bytes()).unwrap();
    // A server may answer (413) before reading a large body: ignore write errors.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse_response(&raw)
}

/// Split a complete HTTP/1.1 response (as read until the server closed).
pub fn parse_response(raw: &[u8]) -> Resp {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let body = raw[end + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).unwrap();
    let headers =
        lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))).collect();
    Resp { status, headers, body: String::from_utf8_lossy(&body).into_owned(), raw: body, wire_len: raw.len() }
}

/// Every `needle` absent from `haystack` (bytes).
pub fn assert_absent(haystack: &[u8], needles: &[(&str, &str)], what: &str) {
    for (name, needle) in needles {
        assert!(!needle.is_empty());
        let found = haystack.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(!found, "{name} found in {what}");
    }
}
