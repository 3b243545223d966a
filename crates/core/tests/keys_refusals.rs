//! Keys that must be refused, each with its stable code. Fixtures made by
//! openssl / Python in `tests/vectors/keys/bad/`.

#[path = "vectors/support.rs"]
mod support;

use sealpost_core::keys::{AgentPrivateKey, AgentPublicKey, KeyError};
use support::read;

#[track_caller]
fn refused(input: &str, code: &str) -> KeyError {
    match AgentPublicKey::parse(input) {
        Ok(pk) => panic!("expected {code}, got a {}-bit key {}", pk.bits(), pk.fingerprint()),
        Err(e) => {
            assert_eq!(e.code(), code, "parse: {e}");
            e
        }
    }
}

#[track_caller]
fn refused_file(rel: &str, code: &str) {
    let text = read(rel);
    refused(&text, code);
    // from_wire must agree for every non-JSON form.
    if !text.trim_start().starts_with('{') {
        let e = AgentPublicKey::from_wire(&text).expect_err(rel);
        assert_eq!(e.code(), code, "from_wire {rel}: {e}");
    }
}

#[test]
fn not_rsa_ec_p256_spki() {
    refused_file("keys/bad/ec_p256.spki.b64", "ERR_KEY_NOT_RSA");
    refused_file("keys/bad/ec_p256.spki.pem", "ERR_KEY_NOT_RSA");
}

#[test]
fn not_rsa_ed25519_spki() {
    refused_file("keys/bad/ed25519.spki.b64", "ERR_KEY_NOT_RSA");
}

#[test]
fn not_rsa_jwk_kty_ec() {
    refused_file("keys/bad/ec_p256.jwk.json", "ERR_KEY_NOT_RSA");
}

#[test]
fn too_small_1024_bits_every_form() {
    for rel in ["keys/bad/rsa1024.spki.b64", "keys/bad/rsa1024.pkcs1.pem", "keys/bad/rsa1024.jwk.json"] {
        refused_file(rel, "ERR_KEY_TOO_SMALL");
    }
    let e = refused(&read("keys/bad/rsa1024.spki.b64"), "ERR_KEY_TOO_SMALL");
    assert!(e.to_string().contains("1024"), "message names the size: {e}");
}

#[test]
fn too_large_8200_bits() {
    refused_file("keys/bad/rsa8200.jwk.json", "ERR_KEY_TOO_LARGE");
    refused_file("keys/bad/rsa8200.spki.b64", "ERR_KEY_TOO_LARGE");
}

#[test]
fn bad_exponent_e3_every_form() {
    for rel in ["keys/bad/rsa2048_e3.spki.b64", "keys/bad/rsa2048_e3.spki.pem", "keys/bad/rsa2048_e3.jwk.json"] {
        refused_file(rel, "ERR_KEY_BAD_EXPONENT");
    }
}

#[test]
fn bad_exponent_in_jwk_variants() {
    let jwk: serde_json::Value = serde_json::from_str(&read("keys/rsa2048.jwk.json")).unwrap();
    let n = jwk["n"].as_str().unwrap();
    for e in ["Aw", "AQAAAQ", "AQ"] {
        // 3, 2^24 + 1, 1
        refused(&format!(r#"{{"kty":"RSA","n":"{n}","e":"{e}"}}"#), "ERR_KEY_BAD_EXPONENT");
    }
}

#[test]
fn even_modulus_is_malformed() {
    refused_file("keys/bad/rsa2048_even_modulus.jwk.json", "ERR_KEY_MALFORMED");
}

#[test]
fn truncated_base64() {
    let wire = read("keys/rsa2048.spki.b64");
    let wire = wire.trim();
    for cut in [1, 2, 3, 4, 5, 100, wire.len() - 4] {
        refused(&wire[..wire.len() - cut], "ERR_KEY_MALFORMED");
    }
}

#[test]
fn not_base64_at_all() {
    refused("this is not a key", "ERR_KEY_MALFORMED");
    refused("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA$$$$", "ERR_KEY_MALFORMED");
    refused("", "ERR_KEY_MALFORMED");
    refused("   \n", "ERR_KEY_MALFORMED");
}

#[test]
fn garbage_der() {
    use base64::Engine;
    let std = base64::engine::general_purpose::STANDARD;
    for der in [
        vec![0u8; 300],
        vec![0x30, 0x82, 0x01, 0x22, 0x30], // SEQUENCE header promising 290 bytes
        b"\x30\x03\x02\x01\x00".to_vec(),   // a SEQUENCE holding INTEGER 0
        (0..=255u8).cycle().take(294).collect::<Vec<_>>(), // noise
    ] {
        refused(&std.encode(&der), "ERR_KEY_MALFORMED");
        let e = AgentPublicKey::from_spki_der(&der).expect_err("garbage DER");
        assert_eq!(e.code(), "ERR_KEY_MALFORMED");
    }
    // A valid PKCS#1 RSAPublicKey is not an SPKI.
    let pkcs1_pem = read("keys/rsa2048.pkcs1.pem");
    let body: String = pkcs1_pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let pkcs1_der = std.decode(body).unwrap();
    assert_eq!(AgentPublicKey::from_spki_der(&pkcs1_der).unwrap_err().code(), "ERR_KEY_MALFORMED");
}

#[test]
fn spki_with_trailing_bytes_is_malformed() {
    refused_file("keys/bad/rsa2048_spki_trailing_bytes.b64", "ERR_KEY_MALFORMED");
}

#[test]
fn spki_without_null_parameters_is_refused_or_is_the_same_key() {
    // RFC 3279 wants NULL parameters; openssl accepts their absence. Either refuse
    // the key, or treat it as the very key (and fingerprint) of the canonical form.
    match AgentPublicKey::parse(&read("keys/bad/rsa2048_spki_no_null_params.b64")) {
        Err(e) => assert_eq!(e.code(), "ERR_KEY_MALFORMED", "{e}"),
        Ok(pk) => assert_eq!(pk.fingerprint().long(), support::expected("rsa2048").long),
    }
}

#[test]
fn pem_with_wrong_label() {
    refused_file("keys/bad/rsa2048_wrong_label.pem", "ERR_KEY_MALFORMED");
    // A private key where a public key is expected.
    refused_file("keys/rsa2048.pkcs8.pem", "ERR_KEY_MALFORMED");
}

#[test]
fn pem_with_broken_body() {
    let pem = read("keys/rsa2048.spki.pem");
    let lines: Vec<&str> = pem.lines().collect();
    let mut cut = lines.clone();
    cut.remove(2);
    refused(&cut.join("\n"), "ERR_KEY_MALFORMED");
    let no_footer = lines[..lines.len() - 1].join("\n");
    refused(&no_footer, "ERR_KEY_MALFORMED");
}

#[test]
fn jwk_refusals() {
    let jwk: serde_json::Value = serde_json::from_str(&read("keys/rsa2048.jwk.json")).unwrap();
    let n = jwk["n"].as_str().unwrap();
    refused(r#"{"kty":"oct","k":"AAAA"}"#, "ERR_KEY_NOT_RSA");
    refused(r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#, "ERR_KEY_NOT_RSA");
    refused(&format!(r#"{{"n":"{n}","e":"AQAB"}}"#), "ERR_KEY_MALFORMED"); // no kty
    refused(r#"{"kty":"RSA","e":"AQAB"}"#, "ERR_KEY_MALFORMED"); // no n
    refused(&format!(r#"{{"kty":"RSA","n":"{n}"}}"#), "ERR_KEY_MALFORMED"); // no e
    refused(&format!(r#"{{"kty":"RSA","n":"{n}!!","e":"AQAB"}}"#), "ERR_KEY_MALFORMED");
    refused(&format!(r#"{{"kty":"RSA","n":"{n}","e":"AQAB""#), "ERR_KEY_MALFORMED"); // truncated JSON
    refused(r#"{"kty":"RSA","n":12,"e":"AQAB"}"#, "ERR_KEY_MALFORMED");
    refused("{}", "ERR_KEY_MALFORMED");
}

#[test]
fn oversize_input() {
    let wire = read("keys/rsa2048.spki.b64");
    for size in [64 * 1024, 1024 * 1024] {
        let mut big = " ".repeat(size);
        big.push_str(wire.trim());
        refused(&big, "ERR_INPUT_TOO_LARGE");
        assert_eq!(AgentPublicKey::from_wire(&big).unwrap_err().code(), "ERR_INPUT_TOO_LARGE");
        let json = format!(r#"{{"kty":"RSA","pad":"{}","n":"AA","e":"AQAB"}}"#, "A".repeat(size));
        refused(&json, "ERR_INPUT_TOO_LARGE");
        let pem = format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", "A".repeat(size));
        refused(&pem, "ERR_INPUT_TOO_LARGE");
        assert_eq!(AgentPrivateKey::from_pem(&pem).unwrap_err().code(), "ERR_INPUT_TOO_LARGE");
        let der = vec![0x30u8; size];
        assert_eq!(AgentPublicKey::from_spki_der(&der).unwrap_err().code(), "ERR_INPUT_TOO_LARGE");
    }
}

#[test]
fn private_key_refusals() {
    let e = AgentPrivateKey::from_pem(&read("keys/rsa2048.spki.pem")).unwrap_err();
    assert_eq!(e.code(), "ERR_KEY_MALFORMED", "public PEM as private: {e}");
    let e = AgentPrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").unwrap_err();
    assert_eq!(e.code(), "ERR_KEY_MALFORMED", "{e}");
    let e = AgentPrivateKey::from_pem("").unwrap_err();
    assert_eq!(e.code(), "ERR_KEY_MALFORMED", "{e}");
}

#[test]
fn error_messages_never_echo_the_input() {
    let wire = read("keys/bad/rsa1024.spki.b64");
    let inputs = [
        wire.trim().to_owned(),
        read("keys/bad/ec_p256.jwk.json"),
        read("keys/bad/rsa2048_e3.spki.pem"),
        "secret-looking-token-abcdef0123456789".to_owned(),
    ];
    for input in inputs {
        let e = AgentPublicKey::parse(&input).unwrap_err();
        let msg = format!("{e} {e:?}");
        for chunk in input.as_bytes().chunks(12).filter(|c| c.len() == 12) {
            let chunk = std::str::from_utf8(chunk).unwrap();
            assert!(!msg.contains(chunk), "error {msg:?} echoes input {chunk:?}");
        }
    }
}

/// `AgentPrivateKey::public_key()` hands out an `AgentPublicKey`, whose type
/// promises a validated key (2048..=8192 bits, e = 65537). A private key that
/// breaks those rules must therefore be refused when loaded, with the same codes.
#[test]
fn private_keys_with_weak_parameters_are_refused() {
    for (rel, code) in
        [("keys/bad/rsa1024.pkcs8.pem", "ERR_KEY_TOO_SMALL"), ("keys/bad/rsa2048_e3.pkcs8.pem", "ERR_KEY_BAD_EXPONENT")]
    {
        match AgentPrivateKey::from_pem(&read(rel)) {
            Ok(sk) => panic!(
                "{rel}: loaded; its public key ({} bits) would pass as a validated AgentPublicKey, expected {code}",
                sk.public_key().bits()
            ),
            Err(e) => assert_eq!(e.code(), code, "{rel}: {e}"),
        }
    }
}

/// The PEM reader is lax about line width, not about structure.
#[test]
fn pem_structure_refusals() {
    let pem = read("keys/rsa2048.spki.pem");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect::<Vec<_>>().join("\n");
    let cases = [
        ("mismatched END label", format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END RSA PUBLIC KEY-----\n")),
        ("missing END", format!("-----BEGIN PUBLIC KEY-----\n{body}\n")),
        ("missing BEGIN", format!("{body}\n-----END PUBLIC KEY-----\n")),
        (
            "encapsulated headers",
            format!("-----BEGIN PUBLIC KEY-----\nProc-Type: 4,ENCRYPTED\n\n{body}\n-----END PUBLIC KEY-----\n"),
        ),
        ("two blocks", format!("{pem}{pem}")),
        ("empty body", "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n".to_owned()),
        ("body not base64", "-----BEGIN PUBLIC KEY-----\nnot*base64!\n-----END PUBLIC KEY-----\n".to_owned()),
        ("text before BEGIN", format!("Public key of the agent:\n{pem}")),
    ];
    for (what, text) in cases {
        let e = AgentPublicKey::parse(&text).expect_err(what);
        assert_eq!(e.code(), "ERR_KEY_MALFORMED", "{what}: {e}");
    }
    // Encrypted private keys are not supported (no passphrase input): malformed, not a crash.
    let enc = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n";
    assert_eq!(AgentPrivateKey::from_pem(enc).unwrap_err().code(), "ERR_KEY_MALFORMED");
}
