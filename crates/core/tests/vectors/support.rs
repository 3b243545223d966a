//! Helpers shared by the keys_*, envelope_* and wycheproof_* integration tests.
//! Included with `#[path = "vectors/support.rs"] mod support;` (not a test target).
#![allow(dead_code)]

use std::path::PathBuf;

use sealpost_core::keys::{AgentPrivateKey, AgentPublicKey};

/// `crates/core/tests/vectors`.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("vectors")
}

/// Text of a fixture file under `tests/vectors/`.
pub fn read(rel: &str) -> String {
    let path = dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// One line of `keys/expected.txt` (written by openssl in gen_keys.sh).
#[derive(Debug, Clone)]
pub struct Expected {
    pub name: String,
    pub bits: usize,
    pub long: String,
    pub short: String,
}

pub fn expected(name: &str) -> Expected {
    let text = read("keys/expected.txt");
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("{name} not in keys/expected.txt"));
    let field = |k: &str| -> String {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{k}=")).map(str::to_owned))
            .unwrap_or_else(|| panic!("{k} missing for {name}"))
    };
    Expected { name: name.to_owned(), bits: field("bits").parse().unwrap(), long: field("long"), short: field("short") }
}

/// The fixture private key `keys/<name>.pkcs8.pem` (e.g. "rsa2048").
pub fn private_key(name: &str) -> AgentPrivateKey {
    AgentPrivateKey::from_pem(&read(&format!("keys/{name}.pkcs8.pem")))
        .unwrap_or_else(|e| panic!("fixture {name}: {e} ({})", e.code()))
}

pub fn public_key(name: &str) -> AgentPublicKey {
    AgentPublicKey::parse(read(&format!("keys/{name}.spki.b64")).trim())
        .unwrap_or_else(|e| panic!("fixture {name}: {e} ({})", e.code()))
}

/// Credentials whose JSON serialization is exactly `target` bytes long.
pub fn credentials_of_size(target: usize) -> sealpost_core::envelope::Credentials {
    let mut c = sealpost_core::envelope::Credentials::new();
    c.insert("username", "agent@example.com");
    // {"password":"<v>","username":"agent@example.com"}
    let overhead = r#"{"password":"","username":"agent@example.com"}"#.len();
    let v: String = (0..target - overhead).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    c.insert("password", v);
    c
}
