//! Known-answer tests for agent key parsing and fingerprints.
//!
//! Every expected value comes from `tests/vectors/keys/` as written by
//! `gen_keys.sh` with openssl and Python `cryptography` (never by sealpost code):
//! the SPKI base64, PEM SPKI, PEM PKCS#1 and JWK forms of three keys, and the
//! fingerprints openssl computed over the DER SPKI.

#[path = "vectors/support.rs"]
mod support;

use sealpost_core::keys::{AgentPrivateKey, AgentPublicKey};
use support::{expected, read};

const KEYS: [&str; 3] = ["rsa2048", "rsa3072", "rsa4096"];

fn forms(name: &str) -> [(&'static str, String); 4] {
    [
        ("spki base64", read(&format!("keys/{name}.spki.b64"))),
        ("PEM SPKI", read(&format!("keys/{name}.spki.pem"))),
        ("PEM PKCS#1", read(&format!("keys/{name}.pkcs1.pem"))),
        ("JWK", read(&format!("keys/{name}.jwk.json"))),
    ]
}

fn assert_matches(name: &str, form: &str, pk: &AgentPublicKey) {
    let exp = expected(name);
    let wire = read(&format!("keys/{name}.spki.b64"));
    assert_eq!(pk.bits(), exp.bits, "{name} {form}: bits");
    assert_eq!(pk.to_wire(), wire.trim(), "{name} {form}: wire form must be the openssl SPKI base64");
    assert_eq!(
        pk.spki_der().len() * 4,
        wire.trim().len() * 3 - wire.trim().matches('=').count() * 4,
        "{name} {form}: DER length"
    );
    let fp = pk.fingerprint();
    assert_eq!(fp.long(), exp.long, "{name} {form}: long fingerprint");
    assert_eq!(fp.short(), exp.short, "{name} {form}: short fingerprint");
}

#[test]
fn every_form_of_every_key_parses_to_the_known_key_and_fingerprint() {
    for name in KEYS {
        let mut seen = Vec::new();
        for (form, text) in forms(name) {
            let pk = AgentPublicKey::parse(&text).unwrap_or_else(|e| panic!("{name} {form}: {e} ({})", e.code()));
            assert_matches(name, form, &pk);
            seen.push(pk);
        }
        assert!(seen.windows(2).all(|w| w[0] == w[1]), "{name}: all four forms give equal keys");
    }
}

#[test]
fn fingerprint_formats() {
    for name in KEYS {
        let fp = support::public_key(name).fingerprint();
        let long = fp.long();
        let b64 = long.strip_prefix("SHA256:").expect("SHA256: prefix");
        assert_eq!(b64.len(), 43, "unpadded base64 of 32 bytes");
        assert!(!b64.contains('='), "no padding");
        assert!(b64.chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/'), "standard alphabet: {b64}");
        let short = fp.short();
        assert_eq!(short.len(), 14);
        let groups: Vec<&str> = short.split('-').collect();
        assert_eq!(groups.len(), 3);
        assert!(
            groups.iter().all(|g| g.len() == 4 && g.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))),
            "{short}"
        );
        assert_eq!(fp.to_string(), long, "Display is the long form");
    }
}

#[test]
fn from_wire_accepts_base64_and_pem_but_not_json() {
    for name in KEYS {
        for (form, text) in forms(name) {
            let r = AgentPublicKey::from_wire(&text);
            if form == "JWK" {
                let e = r.expect_err("from_wire has no JSON parser");
                assert_eq!(e.code(), "ERR_KEY_MALFORMED", "{name} JWK via from_wire");
            } else {
                let pk = r.unwrap_or_else(|e| panic!("{name} {form}: {e}"));
                assert_matches(name, form, &pk);
            }
        }
    }
}

#[test]
fn from_spki_der_and_round_trip_through_wire() {
    use base64::Engine;
    for name in KEYS {
        let wire = read(&format!("keys/{name}.spki.b64"));
        let der = base64::engine::general_purpose::STANDARD.decode(wire.trim()).unwrap();
        let pk = AgentPublicKey::from_spki_der(&der).unwrap();
        assert_eq!(pk.spki_der(), &der[..], "canonical DER is kept byte for byte");
        assert_matches(name, "DER", &pk);
        let again = AgentPublicKey::parse(&pk.to_wire()).unwrap();
        assert_eq!(again, pk);
    }
}

#[test]
fn wire_form_tolerates_surrounding_and_line_wrapping_whitespace() {
    let wire = read("keys/rsa2048.spki.b64");
    let wire = wire.trim();
    let wrapped: String =
        wire.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("\n");
    for input in [format!("  {wire}\n"), format!("{wrapped}\n"), format!("\r\n{wrapped}\r\n")] {
        let pk = AgentPublicKey::parse(&input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(pk.fingerprint().long(), expected("rsa2048").long);
    }
}

#[test]
fn private_keys_from_fixtures_match_their_public_fingerprints() {
    for name in KEYS {
        let sk = support::private_key(name);
        assert_eq!(sk.public_key().fingerprint().long(), expected(name).long, "{name} PKCS#8");
        assert_eq!(sk.public_key().to_wire(), read(&format!("keys/{name}.spki.b64")).trim());
    }
    // The same 2048-bit key as PKCS#1 `RSA PRIVATE KEY`.
    let sk = AgentPrivateKey::from_pem(&read("keys/rsa2048.pkcs1.key.pem")).unwrap();
    assert_eq!(sk.public_key().fingerprint().long(), expected("rsa2048").long, "PKCS#1 private");
}

#[test]
fn debug_output_never_shows_private_material() {
    let sk = support::private_key("rsa2048");
    let dbg = format!("{sk:?}");
    let pem = sk.to_pkcs8_pem().unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    // No 16-character run of the private key's base64 may appear in Debug output.
    for i in (0..body.len() - 16).step_by(16) {
        assert!(!dbg.contains(&body[i..i + 16]), "Debug leaks private key text");
    }
    assert!(!dbg.to_lowercase().contains("prime"), "{dbg}");
}

/// PEM as other tools write it: CRLF line ends (Windows), 76-character lines
/// (MIME encoders, e.g. Java's), the whole body on one line, no final newline.
#[test]
fn pem_variants_from_other_tools() {
    let exp = expected("rsa2048");
    let mut refused = Vec::new();
    for (label, file) in [("PUBLIC KEY", "keys/rsa2048.spki.pem"), ("RSA PUBLIC KEY", "keys/rsa2048.pkcs1.pem")] {
        let pem = read(file);
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let wrap = |w: usize, eol: &str| -> String {
            let lines: Vec<&str> = body.as_bytes().chunks(w).map(|c| std::str::from_utf8(c).unwrap()).collect();
            format!("-----BEGIN {label}-----{eol}{}{eol}-----END {label}-----{eol}", lines.join(eol))
        };
        let variants = [
            ("CRLF", pem.replace('\n', "\r\n")),
            ("76 columns", wrap(76, "\n")),
            ("one line", wrap(body.len(), "\n")),
            ("no final newline", pem.trim_end().to_owned()),
            ("surrounding blank lines", format!("\n\n{pem}\n\n")),
        ];
        for (what, text) in variants {
            match AgentPublicKey::parse(&text) {
                Ok(pk) => assert_eq!(pk.fingerprint().long(), exp.long, "{label} {what}"),
                Err(e) => refused.push(format!("{label} PEM with {what}: {e} ({})", e.code())),
            }
        }
    }
    assert!(refused.is_empty(), "valid PEM refused (openssl and Python accept these):\n{}", refused.join("\n"));
}

/// The agent's own private key file, as other tools write it (one-line body, CRLF).
#[test]
fn private_pem_variants() {
    let exp = expected("rsa2048");
    for file in ["keys/rsa2048.pkcs8.pem", "keys/rsa2048.pkcs1.key.pem"] {
        let pem = read(file);
        let lines: Vec<&str> = pem.lines().collect();
        let body: String = lines[1..lines.len() - 1].concat();
        let one_line = format!("{}\n{body}\n{}\n", lines[0], lines[lines.len() - 1]);
        for (what, text) in [("one line", one_line), ("CRLF", pem.replace('\n', "\r\n"))] {
            let sk = AgentPrivateKey::from_pem(&text).unwrap_or_else(|e| panic!("{file} {what}: {e}"));
            assert_eq!(sk.public_key().fingerprint().long(), exp.long, "{file} {what}");
        }
    }
}
