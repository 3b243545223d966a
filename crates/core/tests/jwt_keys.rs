//! EC public keys: the uncompressed SEC1 form parses and verifies; compressed
//! points are refused with a stable code (not supported, to keep the square-root
//! code out of the WASM bundle); off-curve and malformed points are refused.
#![cfg(feature = "jwt")]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sealpost_core::jwt::{
    Alg, InspectOptions, KeySet, SignKey, SignRequest, VerifyStatus, inspect, parse_object, sign,
};

const EC_KEY: &str = include_str!("fixtures/jwt/ecp256.key");
const EC_PUB: &str = include_str!("fixtures/jwt/ecp256.pub");
const EC_PUB_COMPRESSED: &str = include_str!("fixtures/jwt/ecp256_compressed.pub");
const NOW: i64 = 1_800_000_000;

fn der(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(b64).unwrap()
}

fn pem(der: &[u8]) -> String {
    format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", STANDARD.encode(der))
}

fn code(text: &str) -> &'static str {
    KeySet::parse(text).err().map_or("ok", |e| e.code())
}

#[test]
fn uncompressed_point_parses_and_verifies() {
    let k = SignKey::parse(EC_KEY).unwrap();
    let token = sign(SignRequest {
        header: parse_object(r#"{"typ":"JWT"}"#, "header").unwrap(),
        claims: parse_object(r#"{"sub":"x","exp":"+1h"}"#, "claims").unwrap(),
        alg: Some(Alg::ES256),
        key: Some(&k),
        now: NOW,
        broken: None,
    })
    .unwrap();
    let opts = InspectOptions { keys: KeySet::parse(EC_PUB).unwrap(), ..InspectOptions::at(NOW) };
    assert_eq!(inspect(&token, &opts).verification.status, VerifyStatus::Valid);
}

#[test]
fn compressed_point_is_refused_with_a_stable_code() {
    assert_eq!(der(EC_PUB_COMPRESSED).len(), 59, "fixture: SPKI with a 33-byte compressed point");
    let err = KeySet::parse(EC_PUB_COMPRESSED).unwrap_err();
    assert_eq!(err.code(), "ERR_JWT_KEY_UNSUPPORTED");
    assert!(err.to_string().contains("compressed"), "{err}");
}

#[test]
fn off_curve_and_malformed_points_are_refused() {
    let good = der(EC_PUB);
    assert_eq!(code(&pem(&good)), "ok");
    // The point is the last 65 bytes: 04 || X || Y.
    let at = good.len() - 65;
    assert_eq!(good[at], 4);
    let mut off_curve = good.clone();
    *off_curve.last_mut().unwrap() ^= 1;
    assert_eq!(code(&pem(&off_curve)), "ERR_JWT_KEY_MALFORMED");
    let mut bad_prefix = good.clone();
    bad_prefix[at] = 5;
    assert_eq!(code(&pem(&bad_prefix)), "ERR_JWT_KEY_MALFORMED");
    // The identity / all-zero coordinates are not on the curve either.
    let mut zeros = good;
    zeros[at + 1..].fill(0);
    assert_eq!(code(&pem(&zeros)), "ERR_JWT_KEY_MALFORMED");
}
