//! Named envelope vectors, one test per file in `tests/vectors/envelope/`, in the
//! style of age's testkit. Each file was written by `gen_envelopes.py` with
//! Python `cryptography` (never by sealpost code) and states its expected
//! result: success (with the credentials), malformed, decrypt_failed,
//! credentials_invalid, session_mismatch or unsupported. A change of our wire
//! format or of an error code makes one of these fail.

#[path = "vectors/support.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};

use sealpost_core::envelope::{self, ALG_JWE, ALG_LINKAUTH, Credentials, EnvelopeError};

struct Vector {
    expect: String,
    key: String,
    algorithm: String,
    session: Option<String>,
    credentials: Option<BTreeMap<String, String>>,
    wire: String,
}

fn load(name: &str) -> Vector {
    let text = support::read(&format!("envelope/{name}"));
    let (header, body) = text.split_once("\n\n").unwrap_or_else(|| panic!("{name}: no blank line"));
    let mut fields = BTreeMap::new();
    for line in header.lines() {
        let (k, v) = line.split_once(": ").unwrap_or_else(|| panic!("{name}: bad header line {line:?}"));
        fields.insert(k.to_owned(), v.to_owned());
    }
    let get = |k: &str| fields.get(k).cloned();
    Vector {
        expect: get("expect").expect("expect"),
        key: get("key").expect("key"),
        algorithm: get("algorithm").expect("algorithm"),
        session: get("session"),
        credentials: get("credentials").map(|j| serde_json::from_str(&j).expect("credentials JSON")),
        // The file ends with one newline after the wire text.
        wire: body.strip_suffix('\n').unwrap_or(body).to_owned(),
    }
}

fn code_for(expect: &str) -> &'static str {
    match expect {
        "malformed" => "ERR_ENVELOPE_MALFORMED",
        "decrypt_failed" => "ERR_DECRYPT_FAILED",
        "credentials_invalid" => "ERR_CREDENTIALS_INVALID",
        "session_mismatch" => "ERR_JWE_SESSION_MISMATCH",
        "unsupported" => "ERR_ENVELOPE_UNSUPPORTED",
        other => panic!("unknown expectation {other}"),
    }
}

fn run(name: &str) {
    let v = load(name);
    let sk = support::private_key(&v.key);
    let session = v.session.clone().unwrap_or_default();
    let result: Result<Credentials, EnvelopeError> = match v.algorithm.as_str() {
        ALG_LINKAUTH => envelope::open(&sk, &v.wire),
        ALG_JWE => envelope::open_jwe(&sk, &v.wire, &session),
        other => panic!("{name}: unknown algorithm {other}"),
    };
    // open_any must give the very same answer.
    let via_any = envelope::envelope_kind(&v.algorithm)
        .and_then(|kind| envelope::open_any(&sk, kind, &v.wire, v.session.as_deref()));
    assert_eq!(result, via_any, "{name}: open_any disagrees");

    match (v.expect.as_str(), result) {
        ("success", Ok(creds)) => {
            let want = Credentials::from(v.credentials.expect("success vectors carry credentials"));
            assert_eq!(creds, want, "{name}");
        }
        ("success", Err(e)) => panic!("{name}: expected success, got {} ({e})", e.code()),
        (expect, Ok(creds)) => panic!("{name}: expected {expect}, but it opened ({} fields)", creds.len()),
        (expect, Err(e)) => {
            assert_eq!(e.code(), code_for(expect), "{name}: {e}");
            if expect == "decrypt_failed" {
                assert_eq!(e, EnvelopeError::DecryptFailed, "{name}");
                assert_eq!(e.to_string(), EnvelopeError::DecryptFailed.to_string(), "{name}: one opaque message");
            }
            // No error message may quote the envelope.
            let msg = format!("{e} {e:?}");
            for part in v.wire.split(['.', '"']).filter(|p| p.len() >= 12) {
                assert!(!msg.contains(part), "{name}: error quotes the input");
            }
        }
    }
}

macro_rules! vectors {
    ($($name:ident),* $(,)?) => {
        $( #[test] fn $name() { run(stringify!($name)); } )*
        const NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}

vectors!(
    // LinkAuth envelope
    linkauth_success_2048,
    linkauth_success_3072,
    linkauth_success_4096,
    linkauth_success_unicode,
    linkauth_success_inner_order_whitespace,
    linkauth_success_single_field,
    linkauth_malformed_outer_truncated,
    linkauth_malformed_outer_not_base64,
    linkauth_malformed_outer_empty,
    linkauth_malformed_inner_not_json,
    linkauth_malformed_inner_array,
    linkauth_malformed_inner_truncated_json,
    linkauth_malformed_missing_wrapped_key,
    linkauth_malformed_missing_iv,
    linkauth_malformed_missing_ciphertext,
    linkauth_malformed_iv_not_string,
    linkauth_malformed_duplicate_member,
    linkauth_malformed_wrapped_key_not_base64,
    linkauth_malformed_iv_truncated_base64,
    linkauth_malformed_iv_16_bytes,
    linkauth_malformed_ciphertext_shorter_than_tag,
    linkauth_malformed_swapped_iv_wrapped_key,
    linkauth_malformed_swapped_iv_ciphertext,
    linkauth_decrypt_failed_wrapped_key_short,
    linkauth_decrypt_failed_flip_wrapped_key,
    linkauth_decrypt_failed_flip_iv,
    linkauth_decrypt_failed_flip_ciphertext,
    linkauth_decrypt_failed_flip_tag,
    linkauth_decrypt_failed_other_key,
    linkauth_decrypt_failed_oaep_sha1,
    linkauth_decrypt_failed_oaep_label,
    linkauth_decrypt_failed_pkcs1v15,
    linkauth_decrypt_failed_aes128_key,
    linkauth_decrypt_failed_gcm_with_aad,
    linkauth_credentials_invalid_number_value,
    linkauth_credentials_invalid_null_value,
    linkauth_credentials_invalid_nested_object,
    linkauth_credentials_invalid_array,
    linkauth_credentials_invalid_not_json,
    linkauth_credentials_invalid_not_utf8,
    // JWE envelope
    jwe_success_2048,
    jwe_success_3072,
    jwe_success_4096,
    jwe_success_unicode,
    jwe_success_header_order_extra_member,
    jwe_session_mismatch_other_sid,
    jwe_session_mismatch_no_sid,
    jwe_malformed_four_parts,
    jwe_malformed_six_parts,
    jwe_malformed_header_not_json,
    jwe_malformed_header_not_base64url,
    jwe_malformed_padded_base64,
    jwe_malformed_iv_16_bytes,
    jwe_malformed_tag_short,
    jwe_malformed_header_array,
    jwe_malformed_duplicate_sid,
    jwe_unsupported_alg_rsa_oaep_sha1,
    jwe_unsupported_alg_dir,
    jwe_unsupported_enc_a128gcm,
    jwe_unsupported_zip_def,
    jwe_unsupported_crit,
    jwe_decrypt_failed_flip_encrypted_key,
    jwe_decrypt_failed_flip_iv,
    jwe_decrypt_failed_flip_ciphertext,
    jwe_decrypt_failed_flip_tag,
    jwe_decrypt_failed_flip_header,
    jwe_decrypt_failed_header_reencoded,
    jwe_decrypt_failed_other_key,
    jwe_credentials_invalid_number_value,
);

#[test]
fn every_vector_file_has_a_test_and_every_test_a_file() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(support::dir().join("envelope"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let listed: BTreeSet<String> = NAMES.iter().map(|s| s.to_string()).collect();
    assert_eq!(on_disk, listed, "vectors on disk vs tests in envelope_vectors.rs");
}

#[test]
fn decrypt_failed_vectors_are_indistinguishable() {
    // RSA-side failures (other key, SHA-1, label, PKCS#1 v1.5, short key, flipped
    // wrapped key) and GCM-side failures (flipped iv/ciphertext/tag, AAD) must give
    // byte-identical errors.
    let mut shown = BTreeSet::new();
    for name in NAMES.iter().filter(|n| n.contains("_decrypt_failed_")) {
        let v = load(name);
        let sk = support::private_key(&v.key);
        let e = envelope::envelope_kind(&v.algorithm)
            .and_then(|kind| envelope::open_any(&sk, kind, &v.wire, v.session.as_deref()))
            .unwrap_err();
        shown.insert((e.code(), e.to_string(), format!("{e:?}")));
    }
    assert_eq!(shown.len(), 1, "decrypt failures differ: {shown:?}");
}
