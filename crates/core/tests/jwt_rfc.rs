//! RFC 7515 Appendix A and RFC 8037 A.4 examples verify through `inspect`; a
//! flipped bit anywhere in any segment makes verification fail. Also: the same
//! private JWKs sign fresh tokens that verify (sign → inspect round trip).

use sealpost_core::jwt::{Alg, InspectOptions, KeySet, SignKey, SignRequest, VerifyStatus, inspect, sign};
use serde_json::Value;

const NOW: i64 = 1_300_000_000; // before the RFC examples' exp

fn vectors() -> Vec<(String, String, String)> {
    let v: Value = serde_json::from_str(include_str!("fixtures/jwt/rfc.json")).unwrap();
    v.as_object()
        .unwrap()
        .iter()
        .map(|(name, e)| (name.clone(), e["jws"].as_str().unwrap().to_owned(), e["jwk"].to_string()))
        .collect()
}

fn opts(jwk: &str) -> InspectOptions {
    InspectOptions { keys: KeySet::parse(jwk).unwrap(), ..InspectOptions::at(NOW) }
}

#[test]
fn rfc_examples_verify() {
    for (name, jws, jwk) in vectors() {
        let r = inspect(&jws, &opts(&jwk));
        assert_eq!(r.verification.status, VerifyStatus::Valid, "{name}: {:?}", r.verification);
        assert!(!r.has("JWT_SIGNATURE_INVALID"), "{name}");
    }
}

#[test]
fn any_flipped_bit_fails() {
    let mut flips = 0;
    for (name, jws, jwk) in vectors() {
        let o = opts(&jwk);
        let bytes = jws.as_bytes();
        for i in 0..bytes.len() {
            if bytes[i] == b'.' {
                continue;
            }
            for bit in [0x01u8, 0x02, 0x04, 0x08, 0x10, 0x20] {
                let mut m = bytes.to_vec();
                m[i] ^= bit;
                let Ok(s) = String::from_utf8(m) else { continue };
                let r = inspect(&s, &o);
                // A flip may land on the unused low bits of a segment's last character; that
                // decodes to the same bytes, and must then be reported as non-canonical.
                if r.verification.status == VerifyStatus::Valid {
                    assert!(r.has("JWT_B64_NONCANONICAL"), "{name}: flip at {i} bit {bit:#x} still verifies silently");
                } else {
                    flips += 1;
                }
            }
        }
    }
    assert!(flips > 5_000, "only {flips} flips checked");
}

/// A JWT is compact (RFC 7519 section 7.2): the JSON serialization of a JWS is
/// decoded and reported, and its signature is checked, but with a key it is
/// never accepted (issue 10, item 3).
#[test]
fn rfc_json_serialization_flattened_is_reported_but_not_accepted() {
    let (_, jws, jwk) = vectors().into_iter().find(|(n, ..)| n == "rfc7515_a3_es256").unwrap();
    let p: Vec<&str> = jws.split('.').collect();
    let flat = serde_json::json!({"protected": p[0], "payload": p[1], "header": {"kid": "e9bc097a-ce51-4036-9562-d2ade882db0d"}, "signature": p[2]}).to_string();
    let r = inspect(&flat, &opts(&jwk));
    assert_eq!(r.verification.status, VerifyStatus::Malformed);
    assert!(r.verification.detail.contains("signature matches its literal bytes"), "{}", r.verification.detail);
    assert!(!r.summary.signature_verified);
    assert!(r.has("JWT_JSON_SERIALIZATION") && r.has("JWT_SIGNATURE_UNVERIFIED"));
    assert!(r.payload.is_some());
}

#[test]
fn private_jwks_sign_fresh_tokens_that_verify() {
    for (name, _, jwk) in vectors() {
        let key = SignKey::parse(&jwk).unwrap();
        let algs: &[Alg] = match name.as_str() {
            "rfc7515_a1_hs256" => &[Alg::HS256, Alg::HS384, Alg::HS512],
            "rfc7515_a2_rs256" => &[Alg::RS256, Alg::RS384, Alg::RS512, Alg::PS256, Alg::PS384, Alg::PS512],
            "rfc7515_a3_es256" => &[Alg::ES256],
            "rfc7515_a4_es512" => &[Alg::ES512],
            _ => &[Alg::EdDSA, Alg::Ed25519],
        };
        for &alg in algs {
            let claims = sealpost_core::jwt::parse_object(r#"{"sub":"s","exp":"+1h","iat":"now"}"#, "claims").unwrap();
            let t = sign(SignRequest { claims, alg: Some(alg), key: Some(&key), now: NOW, ..SignRequest::default() })
                .unwrap();
            let r = inspect(&t, &opts(&jwk));
            assert_eq!(r.verification.status, VerifyStatus::Valid, "{name} {alg:?}");
            assert_eq!(r.payload.as_ref().unwrap()["exp"], NOW + 3600);
            assert_eq!(r.payload.as_ref().unwrap()["iat"], NOW);
        }
    }
}
