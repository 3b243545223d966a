//! Hidden helpers for the cross-implementation tests (tests/node/interop_*.test.mjs,
//! tests/python): the native sealpost-core opens what WebCrypto, `jose` and Python
//! sealed, and seals for them to open.
//!
//! ```text
//! cargo xtask interop-open --key agent.pem --envelope ct.txt [--algorithm JWE --session-id SID]
//!     prints the opened credentials as a JSON object on stdout
//! cargo xtask interop-seal --public-key pub.txt --credentials creds.json [--jwe SID]
//!     prints the wire ciphertext on stdout
//! ```
//! On failure: exit status 1 and `error: <ERR_CODE>: <message>` on stderr.

use crate::{Args, Result};
use sealpost_core::envelope::{self, Credentials, EnvelopeKind};
use sealpost_core::keys::{AgentPrivateKey, AgentPublicKey};
use std::fs;

fn read(path: &str) -> Result<String> {
    fs::read_to_string(path).map_err(|e| format!("read {path}: {e}"))
}

fn coded(code: &str, msg: impl std::fmt::Display) -> String {
    format!("{code}: {msg}")
}

pub fn cmd_open(args: &[String]) -> Result<()> {
    let mut a = Args::new(args);
    let key = a.required("--key")?;
    let env_path = a.required("--envelope")?;
    let algorithm = a.value("--algorithm")?;
    let sid = a.value("--session-id")?;
    a.finish()?;
    let sk = AgentPrivateKey::from_pem(&read(&key)?).map_err(|e| coded(e.code(), e))?;
    let ciphertext = read(&env_path)?;
    let kind = match algorithm.as_deref() {
        None => EnvelopeKind::Linkauth,
        Some(alg) => EnvelopeKind::from_algorithm(alg).ok_or_else(|| format!("unknown --algorithm `{alg}`"))?,
    };
    if kind == EnvelopeKind::Jwe && sid.is_none() {
        return Err("--session-id is required for JWE".into());
    }
    let creds = envelope::open_any(&sk, kind, ciphertext.trim(), sid.as_deref()).map_err(|e| coded(e.code(), e))?;
    let json = serde_json::to_string(&creds).map_err(|e| format!("serialize: {e}"))?;
    println!("{json}");
    Ok(())
}

pub fn cmd_seal(args: &[String]) -> Result<()> {
    let mut a = Args::new(args);
    let pk_path = a.required("--public-key")?;
    let creds_path = a.required("--credentials")?;
    let jwe_sid = a.value("--jwe")?;
    a.finish()?;
    let pk = AgentPublicKey::from_wire(read(&pk_path)?.trim()).map_err(|e| coded(e.code(), e))?;
    let creds = Credentials::from_json(read(&creds_path)?.as_bytes()).map_err(|e| coded(e.code(), e))?;
    let ct = match jwe_sid {
        Some(sid) => envelope::seal_jwe(&pk, &creds, &sid),
        None => envelope::seal(&pk, &creds),
    }
    .map_err(|e| coded(e.code(), e))?;
    println!("{ct}");
    Ok(())
}
