//! Issue 10, item 3: when a key is supplied, anything short of a verified
//! signature over a well-formed token is a critical finding and never "valid".
//!
//! The vectors are `fixtures/jwt/unverified.json` (made by `unverified.gen.mjs`
//! with Node's own HMAC, not this engine): malformed or unknown `alg`, and
//! segments that are not canonical unpadded base64url, each carrying an HS256 MAC
//! that matches over its literal bytes. One test per vector, named after it; the
//! same file drives the CLI (`crates/cli/tests/jwt_cli.rs`) and the WASM bundle
//! (`tests/node/jwt_inspect.test.mjs`).
#![cfg(feature = "jwt")]

use sealpost_core::jwt::{Alg, InspectOptions, KeySet, Report, Severity, VerifyStatus, b64, hmac, inspect};
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/jwt/unverified.json")).unwrap()
}

fn opts_with(keys: KeySet) -> InspectOptions {
    InspectOptions { keys, ..InspectOptions::at(fixture()["now"].as_i64().unwrap()) }
}

fn secret_opts() -> InspectOptions {
    opts_with(KeySet::secret_utf8(fixture()["secret"].as_str().unwrap()))
}

fn status(r: &Report) -> String {
    serde_json::to_value(r.verification.status).unwrap().as_str().unwrap().to_owned()
}

/// The vector's premise: its signature is the HS256 MAC of its literal signing
/// input (the bytes before the last dot, spelled exactly as in the token).
fn mac_matches_literal_bytes(token: &str, secret: &str) -> bool {
    let (input, sig) = if token.starts_with('{') {
        let v: Value = serde_json::from_str(token).unwrap();
        (
            format!("{}.{}", v["protected"].as_str().unwrap(), v["payload"].as_str().unwrap()),
            v["signature"].as_str().unwrap().to_owned(),
        )
    } else {
        let t = token.trim();
        let t = t.strip_prefix("Bearer ").unwrap_or(t);
        let (input, sig) = t.rsplit_once('.').unwrap();
        (input.to_owned(), sig.to_owned())
    };
    let Ok((sig, _quirks)) = b64::decode(sig.as_bytes()) else { return false };
    hmac(Alg::HS256, secret.as_bytes(), input.as_bytes()) == sig
}

fn check(name: &str) {
    let fx = fixture();
    let case = fx["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no vector {name}"));
    let token = case["token"].as_str().unwrap();
    let why = case["why"].as_str().unwrap();
    assert!(
        mac_matches_literal_bytes(token, fx["secret"].as_str().unwrap()),
        "{name}: the vector's MAC does not match its literal bytes"
    );

    let r = inspect(token, &secret_opts());
    let expect = format!(
        "{name} ({why}): expected status {}, not verified, a critical JWT_SIGNATURE_UNVERIFIED and {}",
        case["status"], case["defect"]
    );
    assert_eq!(status(&r), case["status"].as_str().unwrap(), "{expect}; got {:?}", r.verification);
    assert_ne!(r.verification.status, VerifyStatus::Valid, "{expect}");
    assert!(!r.summary.signature_verified, "{expect}");
    let f = r
        .findings
        .iter()
        .find(|f| f.code == "JWT_SIGNATURE_UNVERIFIED")
        .unwrap_or_else(|| panic!("{expect}; findings {:#?}", r.findings));
    assert_eq!(f.severity, Severity::Critical, "{expect}");
    assert!(r.has(case["defect"].as_str().unwrap()), "{expect}; findings {:#?}", r.findings);
    assert_eq!(r.summary.highest, Some(Severity::Critical), "{expect}");
    assert!(r.fails_at(Severity::Critical), "{expect}");
    // The report JSON carries the same verdict.
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["summary"]["signatureVerified"], false, "{expect}");
    assert_eq!(json["verification"]["status"], case["status"], "{expect}");

    // Without a key the rule does not apply: nothing was claimed, nothing is critical for it.
    let plain = inspect(token, &InspectOptions::at(fx["now"].as_i64().unwrap()));
    assert!(!plain.has("JWT_SIGNATURE_UNVERIFIED"), "{name}: decode without a key must not claim a verification");
    assert!(!plain.summary.signature_verified);
}

include!("fixtures/jwt/unverified_vectors.rs");

#[test]
fn control_token_verifies() {
    let fx = fixture();
    let good = fx["good"].as_str().unwrap();
    assert!(mac_matches_literal_bytes(good, fx["secret"].as_str().unwrap()));
    let r = inspect(good, &secret_opts());
    assert_eq!(r.verification.status, VerifyStatus::Valid, "{:?}", r.verification);
    assert!(r.summary.signature_verified);
    assert!(!r.fails_at(Severity::High), "{:#?}", r.findings);
    assert!(!r.has("JWT_SIGNATURE_UNVERIFIED"));
}

#[test]
fn wrong_secret_is_invalid_and_critical() {
    let good = fixture()["good"].as_str().unwrap().to_owned();
    let r = inspect(&good, &opts_with(KeySet::secret_utf8("another-secret-of-enough-length-0123456789")));
    assert_eq!(r.verification.status, VerifyStatus::Invalid);
    assert!(!r.summary.signature_verified);
    assert_eq!(r.summary.highest, Some(Severity::Critical));
    assert!(r.has("JWT_SIGNATURE_INVALID"));
}

#[test]
fn no_key_with_the_tokens_kid_is_critical() {
    let good = fixture()["good"].as_str().unwrap().to_owned();
    let jwks =
        r#"{"keys":[{"kty":"oct","kid":"other","k":"c2VhbHBvc3QtaXRlbTMtaHMyNTYtc2VjcmV0LThmMmM0MWQwN2JlOTVhNjM"}]}"#;
    let r = inspect(&good, &opts_with(KeySet::parse(jwks).unwrap()));
    assert_eq!(r.verification.status, VerifyStatus::NoMatchingKey);
    assert!(!r.summary.signature_verified);
    assert!(
        r.findings.iter().any(|f| f.code == "JWT_SIGNATURE_UNVERIFIED" && f.severity == Severity::Critical),
        "{:#?}",
        r.findings
    );
}

#[test]
fn key_of_another_family_is_critical() {
    let good = fixture()["good"].as_str().unwrap().to_owned();
    let r = inspect(&good, &opts_with(KeySet::parse(include_str!("fixtures/jwt/ecp256.pub")).unwrap()));
    assert_ne!(r.verification.status, VerifyStatus::Valid);
    assert!(!r.summary.signature_verified);
    assert!(
        r.findings.iter().any(|f| f.code == "JWT_SIGNATURE_UNVERIFIED" && f.severity == Severity::Critical),
        "{:#?}",
        r.findings
    );
}

#[test]
fn a_jwks_of_only_unusable_keys_is_a_key_source_and_critical() {
    let good = fixture()["good"].as_str().unwrap().to_owned();
    let set = KeySet::parse(r#"{"keys":[{"kty":"RSA","n":"AQAB"}]}"#).unwrap();
    assert!(set.keys.is_empty() && !set.skipped.is_empty());
    let r = inspect(&good, &opts_with(set));
    assert_ne!(r.verification.status, VerifyStatus::Valid);
    assert!(!r.summary.signature_verified);
    assert!(
        r.findings.iter().any(|f| f.code == "JWT_SIGNATURE_UNVERIFIED" && f.severity == Severity::Critical),
        "{:#?}",
        r.findings
    );
    assert!(!r.has("JWT_NOT_VERIFIED"), "a key source was given: not the informational no-key finding");
}

#[test]
fn an_encrypted_token_with_a_key_is_not_verified_and_critical() {
    let jwe = format!("{}.a2V5.aXY.Y2lwaGVy.dGFn", b64::encode(br#"{"alg":"RSA-OAEP-256","enc":"A256GCM"}"#));
    let r = inspect(&jwe, &secret_opts());
    assert_eq!(r.verification.status, VerifyStatus::Unsupported);
    assert!(
        r.findings.iter().any(|f| f.code == "JWT_SIGNATURE_UNVERIFIED" && f.severity == Severity::Critical),
        "{:#?}",
        r.findings
    );
}
