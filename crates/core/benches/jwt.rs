//! Native JWT benchmarks: full decode + inspect of a typical ~800-byte RS256
//! access token (no key, and with the key so verification is included), and
//! bare RS256 / ES256 signature verification.
//!
//! `cargo bench -p sealpost-core --bench jwt`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sealpost_core::jwt::{
    Alg, InspectOptions, KeySet, SignKey, SignRequest, inspect, parse_object, sign, verify_signature,
};

const RSA_KEY: &str = include_str!("../tests/fixtures/jwt/rsa2048.key");
const RSA_PUB: &str = include_str!("../tests/fixtures/jwt/rsa2048.pub");
const EC_KEY: &str = include_str!("../tests/fixtures/jwt/ecp256.key");
const EC_PUB: &str = include_str!("../tests/fixtures/jwt/ecp256.pub");
const NOW: i64 = 1_800_000_000;

/// The typical access token used by both the native and the Node benchmark.
pub const CLAIMS: &str = r#"{"iss":"https://login.example.com/tenant-7f3a","sub":"248289761001","aud":"https://api.example.com","client_id":"s6BhdRkqt3","scope":"openid profile orders:read orders:write","iat":"now","nbf":"now","exp":"+1h","jti":"c9f2a4e1-7b3d-4f0e-9a61-2d8e5b7c3f10","auth_time":"-5m","acr":"urn:mace:incommon:iap:silver","amr":["pwd","otp"]}"#;

fn token(key: &str, alg: Alg) -> String {
    let k = SignKey::parse(key).unwrap();
    let header = parse_object(r#"{"typ":"at+jwt","kid":"2024-11-rsa-1"}"#, "header").unwrap();
    sign(SignRequest {
        header,
        claims: parse_object(CLAIMS, "claims").unwrap(),
        alg: Some(alg),
        key: Some(&k),
        now: NOW,
        broken: None,
    })
    .unwrap()
}

fn benches(c: &mut Criterion) {
    let rs = token(RSA_KEY, Alg::RS256);
    let es = token(EC_KEY, Alg::ES256);
    println!("RS256 token: {} bytes", rs.len());
    let bare = InspectOptions::at(NOW);
    c.bench_function("inspect RS256 ~800B (decode+explain+rules, no key)", |b| {
        b.iter(|| inspect(black_box(&rs), &bare))
    });
    let keyed = InspectOptions { keys: KeySet::parse(RSA_PUB).unwrap(), ..InspectOptions::at(NOW) };
    c.bench_function("inspect RS256 ~800B with verification", |b| b.iter(|| inspect(black_box(&rs), &keyed)));

    let split = |t: &str| {
        let i = t.rfind('.').unwrap();
        (t.as_bytes()[..i].to_vec(), sealpost_core::jwt::b64::decode(&t.as_bytes()[i + 1..]).unwrap().0)
    };
    let (rs_in, rs_sig) = split(&rs);
    let rsa = KeySet::parse(RSA_PUB).unwrap().keys.remove(0).material;
    c.bench_function("verify RS256 (2048)", |b| {
        b.iter(|| verify_signature(Alg::RS256, &rsa, black_box(&rs_in), &rs_sig).unwrap())
    });
    let (es_in, es_sig) = split(&es);
    let ec = KeySet::parse(EC_PUB).unwrap().keys.remove(0).material;
    c.bench_function("verify ES256", |b| {
        b.iter(|| verify_signature(Alg::ES256, &ec, black_box(&es_in), &es_sig).unwrap())
    });
}

criterion_group!(jwt_benches, benches);
criterion_main!(jwt_benches);
