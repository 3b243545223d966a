//! Envelope round trips and mutations of freshly sealed envelopes: the LinkAuth
//! envelope and its JWE form, for 2048/3072/4096-bit keys.

#[path = "vectors/support.rs"]
mod support;

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sealpost_core::envelope::{self, Credentials, EnvelopeError, EnvelopeKind};
use sealpost_core::keys::AgentPrivateKey;

const KEYS: [(&str, usize); 3] = [("rsa2048", 256), ("rsa3072", 384), ("rsa4096", 512)];
const SID: &str = "1635c8525afbae58c37bede3c9440844e9143727cc7c160bed665ec378d8a262";
const OTHER_SID: &str = "5ee9b2f4d1e0c7a3b8f6e2d4c1a0b9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2";

fn creds() -> Credentials {
    let mut c = Credentials::new();
    c.insert("username", "alice@example.com");
    c.insert("password", "p\u{e4}ss \"w\u{f6}rd\" \\ \u{1F511}");
    c
}

fn inner_of(ct: &str) -> serde_json::Map<String, serde_json::Value> {
    let json = STANDARD.decode(ct).expect("outer is padded standard base64");
    match serde_json::from_slice(&json).expect("inner JSON") {
        serde_json::Value::Object(m) => m,
        other => panic!("inner is not an object: {other}"),
    }
}

fn field(m: &serde_json::Map<String, serde_json::Value>, k: &str) -> Vec<u8> {
    STANDARD.decode(m[k].as_str().expect("string member")).expect("padded standard base64")
}

fn rebuild(wrapped: &[u8], iv: &[u8], ct: &[u8]) -> String {
    let inner = serde_json::json!({
        "wrapped_key": STANDARD.encode(wrapped),
        "iv": STANDARD.encode(iv),
        "ciphertext": STANDARD.encode(ct),
    });
    STANDARD.encode(inner.to_string())
}

#[track_caller]
fn assert_code(r: Result<Credentials, EnvelopeError>, code: &str, what: &str) {
    match r {
        Ok(c) => panic!("{what}: expected {code}, opened {} fields", c.len()),
        Err(e) => assert_eq!(e.code(), code, "{what}: {e}"),
    }
}

#[test]
fn seal_open_round_trip_per_key_size_1kb() {
    for (name, modulus_len) in KEYS {
        let sk = support::private_key(name);
        let pk = sk.public_key();
        let c = support::credentials_of_size(1024);
        let ct = envelope::seal(pk, &c).unwrap();
        assert_eq!(envelope::open(&sk, &ct).unwrap(), c, "{name}");
        assert_eq!(
            envelope::open_any(&sk, EnvelopeKind::Linkauth, &ct, Some("ignored")).unwrap(),
            c,
            "{name} open_any"
        );

        // Wire shape, byte for byte as docs/protocol.md "The envelope" says.
        let inner = inner_of(&ct);
        let keys: BTreeSet<&str> = inner.keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(["wrapped_key", "iv", "ciphertext"]), "{name}: exactly three members");
        assert_eq!(field(&inner, "wrapped_key").len(), modulus_len, "{name}: RSA output is modulus-sized");
        assert_eq!(field(&inner, "iv").len(), 12, "{name}: 12-byte IV");
        assert_eq!(field(&inner, "ciphertext").len(), 1024 + 16, "{name}: JSON bytes + 16-byte tag");
    }
}

/// Open our envelope with the `rsa` and `aes-gcm` crates directly, following the
/// spec steps, not through `envelope::open`.
#[test]
fn sealed_envelope_opens_by_following_the_spec_by_hand() {
    use aes_gcm::aead::{Aead, KeyInit};
    let sk = support::private_key("rsa2048");
    let c = creds();
    let inner = inner_of(&envelope::seal(sk.public_key(), &c).unwrap());
    let aes_key = sk
        .rsa()
        .decrypt(rsa::Oaep::<sha2::Sha256>::new(), &field(&inner, "wrapped_key"))
        .expect("RSA-OAEP-256, MGF1-SHA-256, empty label");
    assert_eq!(aes_key.len(), 32);
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(&aes_key).unwrap();
    let iv = field(&inner, "iv");
    let nonce = aes_gcm::Nonce::try_from(&iv[..]).unwrap();
    let plaintext = cipher.decrypt(&nonce, &field(&inner, "ciphertext")[..]).expect("AES-256-GCM, no AAD");
    let json: serde_json::Value = serde_json::from_slice(&plaintext).unwrap();
    assert_eq!(json, serde_json::json!({"username": "alice@example.com", "password": c.get("password").unwrap()}));
}

#[test]
fn each_seal_uses_fresh_key_and_iv() {
    let sk = support::private_key("rsa2048");
    let a = inner_of(&envelope::seal(sk.public_key(), &creds()).unwrap());
    let b = inner_of(&envelope::seal(sk.public_key(), &creds()).unwrap());
    for k in ["wrapped_key", "iv", "ciphertext"] {
        assert_ne!(a[k], b[k], "{k} repeats between two seals");
    }
}

#[test]
fn jwe_round_trip_per_key_size() {
    for (name, modulus_len) in KEYS {
        let sk = support::private_key(name);
        let c = support::credentials_of_size(1024);
        let jwe = envelope::seal_jwe(sk.public_key(), &c, SID).unwrap();
        assert_eq!(envelope::open_jwe(&sk, &jwe, SID).unwrap(), c, "{name}");
        assert_eq!(envelope::open_any(&sk, EnvelopeKind::Jwe, &jwe, Some(SID)).unwrap(), c, "{name} open_any");

        let parts: Vec<&str> = jwe.split('.').collect();
        assert_eq!(parts.len(), 5);
        let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": sk.public_key().fingerprint().long(), "sid": SID}),
            "{name}: protected header"
        );
        let len = |i: usize| URL_SAFE_NO_PAD.decode(parts[i]).expect("unpadded base64url").len();
        assert_eq!(len(1), modulus_len);
        assert_eq!(len(2), 12);
        assert_eq!(len(3), 1024);
        assert_eq!(len(4), 16);
    }
}

#[test]
fn jwe_for_another_session_is_refused() {
    let sk = support::private_key("rsa2048");
    let jwe = envelope::seal_jwe(sk.public_key(), &creds(), SID).unwrap();
    assert_code(envelope::open_jwe(&sk, &jwe, OTHER_SID), "ERR_JWE_SESSION_MISMATCH", "other sid");
    assert_code(envelope::open_jwe(&sk, &jwe, ""), "ERR_JWE_SESSION_MISMATCH", "empty sid");
    assert_code(envelope::open_jwe(&sk, &jwe, &SID.to_uppercase()), "ERR_JWE_SESSION_MISMATCH", "case differs");
    assert_code(
        envelope::open_any(&sk, EnvelopeKind::Jwe, &jwe, Some(OTHER_SID)),
        "ERR_JWE_SESSION_MISMATCH",
        "open_any",
    );
    assert_code(envelope::open_any(&sk, EnvelopeKind::Jwe, &jwe, None), "ERR_JWE_SESSION_MISMATCH", "no sid");
}

#[test]
fn open_any_refuses_unknown_algorithms_and_crossed_formats() {
    let sk = support::private_key("rsa2048");
    let ct = envelope::seal(sk.public_key(), &creds()).unwrap();
    let jwe = envelope::seal_jwe(sk.public_key(), &creds(), SID).unwrap();
    for alg in ["", "RSA-OAEP-256", "jwe", "RSA-OAEP+AES-256-GCM", "A256GCM"] {
        assert_code(
            envelope::envelope_kind(alg).and_then(|k| envelope::open_any(&sk, k, &ct, Some(SID))),
            "ERR_ENVELOPE_UNSUPPORTED",
            alg,
        );
    }
    assert_code(
        envelope::open_any(&sk, EnvelopeKind::Jwe, &ct, Some(SID)),
        "ERR_ENVELOPE_MALFORMED",
        "LinkAuth as JWE",
    );
    assert_code(
        envelope::open_any(&sk, EnvelopeKind::Linkauth, &jwe, Some(SID)),
        "ERR_ENVELOPE_MALFORMED",
        "JWE as LinkAuth",
    );
}

/// Every crypto failure is the same error with the same text, whichever part was hit.
#[test]
fn flipped_bit_in_each_part_is_one_opaque_error() {
    let sk = support::private_key("rsa2048");
    let ct = envelope::seal(sk.public_key(), &creds()).unwrap();
    let inner = inner_of(&ct);
    let (w, iv, c) = (field(&inner, "wrapped_key"), field(&inner, "iv"), field(&inner, "ciphertext"));
    let body_len = c.len() - 16;
    let mut seen = BTreeSet::new();
    let mut flip = |part: &str, pos: usize, bit: u8| {
        let (mut w2, mut iv2, mut c2) = (w.clone(), iv.clone(), c.clone());
        match part {
            "wrapped_key" => w2[pos] ^= 1 << bit,
            "iv" => iv2[pos] ^= 1 << bit,
            "ciphertext" => c2[pos] ^= 1 << bit,
            "tag" => c2[body_len + pos] ^= 1 << bit,
            _ => unreachable!(),
        }
        let e = envelope::open(&sk, &rebuild(&w2, &iv2, &c2)).expect_err(part);
        assert_eq!(e, EnvelopeError::DecryptFailed, "{part}[{pos}] bit {bit}");
        seen.insert(e.to_string());
    };
    for bit in [0, 3, 7] {
        for pos in [0, 1, 128, 255] {
            flip("wrapped_key", pos, bit);
        }
        for pos in [0, 6, 11] {
            flip("iv", pos, bit);
        }
        for pos in [0, body_len / 2, body_len - 1] {
            flip("ciphertext", pos, bit);
        }
        for pos in [0, 8, 15] {
            flip("tag", pos, bit);
        }
    }
    // Sanity: the unmodified parts still open.
    assert_eq!(envelope::open(&sk, &rebuild(&w, &iv, &c)).unwrap(), creds());
    assert_eq!(seen.len(), 1, "{seen:?}");
    let msg = seen.into_iter().next().unwrap().to_lowercase();
    for word in ["rsa", "oaep", "gcm", "aes", "tag", "padding", "key"] {
        assert!(!msg.contains(word), "message {msg:?} says which step failed ({word})");
    }
}

#[test]
fn jwe_flipped_bit_in_each_part() {
    let sk = support::private_key("rsa2048");
    let jwe = envelope::seal_jwe(sk.public_key(), &creds(), SID).unwrap();
    let parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
    let mut seen = BTreeSet::new();
    for i in 1..5 {
        let raw = URL_SAFE_NO_PAD.decode(&parts[i]).unwrap();
        for pos in [0, raw.len() / 2, raw.len() - 1] {
            let mut m = raw.clone();
            m[pos] ^= 0x10;
            let mut q = parts.clone();
            q[i] = URL_SAFE_NO_PAD.encode(&m);
            let e = envelope::open_jwe(&sk, &q.join("."), SID).expect_err("flipped");
            assert_eq!(e, EnvelopeError::DecryptFailed, "part {i} byte {pos}");
            seen.insert(e.to_string());
        }
    }
    // Header (the AAD): flip a bit inside the kid value, keeping valid JSON and the sid.
    let header = String::from_utf8(URL_SAFE_NO_PAD.decode(&parts[0]).unwrap()).unwrap();
    let at = header.find("SHA256:").unwrap() + 10;
    let mut bytes = header.into_bytes();
    bytes[at] = if bytes[at] == b'A' {
        b'B'
    } else if bytes[at].is_ascii_alphanumeric() && (bytes[at] ^ 1).is_ascii_alphanumeric() {
        bytes[at] ^ 1
    } else {
        b'A'
    };
    let mut q = parts.clone();
    q[0] = URL_SAFE_NO_PAD.encode(&bytes);
    let e = envelope::open_jwe(&sk, &q.join("."), SID).expect_err("header flip");
    assert_eq!(e, EnvelopeError::DecryptFailed, "header kid changed");
    seen.insert(e.to_string());
    // Header bit flip that breaks the JSON: structure error, not crypto.
    let mut raw = URL_SAFE_NO_PAD.decode(&parts[0]).unwrap();
    raw[0] ^= 0x01; // '{' -> 'z'
    let mut q = parts.clone();
    q[0] = URL_SAFE_NO_PAD.encode(&raw);
    assert_code(envelope::open_jwe(&sk, &q.join("."), SID), "ERR_ENVELOPE_MALFORMED", "header not JSON");
    assert_eq!(seen.len(), 1, "{seen:?}");
}

#[test]
fn wrong_private_key_is_decrypt_failed() {
    let sk = support::private_key("rsa2048");
    let other = AgentPrivateKey::from_pem(&support::read("keys/rsa2048.pkcs8.pem")).unwrap();
    assert_eq!(other.public_key(), sk.public_key());
    let ct = envelope::seal(support::private_key("rsa3072").public_key(), &creds()).unwrap();
    // Sealed to a 3072-bit key, opened with the 2048-bit one.
    assert_code(envelope::open(&sk, &ct), "ERR_DECRYPT_FAILED", "other key, other size");
    let jwe = envelope::seal_jwe(support::private_key("rsa4096").public_key(), &creds(), SID).unwrap();
    assert_code(envelope::open_jwe(&sk, &jwe, SID), "ERR_DECRYPT_FAILED", "JWE other key");
}

#[test]
fn truncated_base64() {
    let sk = support::private_key("rsa2048");
    let ct = envelope::seal(sk.public_key(), &creds()).unwrap();
    for cut in [5, 9, ct.len() / 2, ct.len() - 1] {
        assert_code(envelope::open(&sk, &ct[..ct.len() - cut]), "ERR_ENVELOPE_MALFORMED", &format!("cut {cut}"));
    }
    // Truncated inner members.
    let inner = inner_of(&ct);
    for k in ["wrapped_key", "iv", "ciphertext"] {
        let mut m = inner.clone();
        let s = m[k].as_str().unwrap().to_owned();
        m.insert(k.into(), serde_json::Value::String(s[..s.len() - 5].to_owned()));
        let text = STANDARD.encode(serde_json::Value::Object(m).to_string());
        let e = envelope::open(&sk, &text).unwrap_err();
        assert!(
            ["ERR_ENVELOPE_MALFORMED", "ERR_DECRYPT_FAILED"].contains(&e.code()),
            "{k} truncated: {} ({e})",
            e.code()
        );
        if k == "iv" {
            assert_eq!(e.code(), "ERR_ENVELOPE_MALFORMED", "short iv is a structure error");
        }
    }
    let jwe = envelope::seal_jwe(sk.public_key(), &creds(), SID).unwrap();
    for cut in [1, 20, jwe.len() / 2] {
        let e = envelope::open_jwe(&sk, &jwe[..jwe.len() - cut], SID).unwrap_err();
        assert!(["ERR_ENVELOPE_MALFORMED", "ERR_DECRYPT_FAILED"].contains(&e.code()), "JWE cut {cut}: {}", e.code());
    }
}

#[test]
fn wrong_inner_json() {
    let sk = support::private_key("rsa2048");
    let ct = envelope::seal(sk.public_key(), &creds()).unwrap();
    let inner = inner_of(&ct);
    let b = |s: &str| STANDARD.encode(s);
    let cases = [
        b(""),
        b("null"),
        b("\"text\""),
        b("[]"),
        b("{}"),
        b(&format!("{{\"wrapped_key\":{},\"iv\":{}}}", inner["wrapped_key"], inner["iv"])),
        b(&format!("{{\"wrapped_key\":{},\"iv\":{},\"ciphertext\":null}}", inner["wrapped_key"], inner["iv"])),
        b(&format!("{{\"wrapped_key\":{},\"iv\":[1,2],\"ciphertext\":{}}}", inner["wrapped_key"], inner["ciphertext"])),
        b(&serde_json::Value::Object(inner.clone()).to_string().replace('}', "")),
    ];
    for (i, text) in cases.iter().enumerate() {
        assert_code(envelope::open(&sk, text), "ERR_ENVELOPE_MALFORMED", &format!("case {i}"));
    }
}

#[test]
fn swapped_fields() {
    let sk = support::private_key("rsa2048");
    let inner = inner_of(&envelope::seal(sk.public_key(), &creds()).unwrap());
    let (w, iv, c) = (field(&inner, "wrapped_key"), field(&inner, "iv"), field(&inner, "ciphertext"));
    // iv in the wrapped_key slot and back: the 256-byte iv is a structure error.
    assert_code(envelope::open(&sk, &rebuild(&iv, &w, &c)), "ERR_ENVELOPE_MALFORMED", "iv <-> wrapped_key");
    // iv <-> ciphertext: a 12-byte ciphertext cannot hold a tag, the iv is too long.
    assert_code(envelope::open(&sk, &rebuild(&w, &c, &iv)), "ERR_ENVELOPE_MALFORMED", "iv <-> ciphertext");
    // wrapped_key <-> ciphertext: the lengths fit the iv/tag checks; RSA input has the
    // wrong length, which is reported as the opaque crypto failure.
    assert_code(envelope::open(&sk, &rebuild(&c, &iv, &w)), "ERR_DECRYPT_FAILED", "wrapped_key <-> ciphertext");

    let jwe = envelope::seal_jwe(sk.public_key(), &creds(), SID).unwrap();
    let p: Vec<&str> = jwe.split('.').collect();
    assert_code(
        envelope::open_jwe(&sk, &[p[0], p[2], p[1], p[3], p[4]].join("."), SID),
        "ERR_ENVELOPE_MALFORMED",
        "JWE key <-> iv",
    );
    assert_code(
        envelope::open_jwe(&sk, &[p[0], p[1], p[4], p[3], p[2]].join("."), SID),
        "ERR_ENVELOPE_MALFORMED",
        "JWE iv <-> tag",
    );
    assert_code(
        envelope::open_jwe(&sk, &[p[0], p[3], p[2], p[1], p[4]].join("."), SID),
        "ERR_DECRYPT_FAILED",
        "JWE key <-> ciphertext",
    );
}

#[test]
fn oversize_inputs() {
    let sk = support::private_key("rsa2048");
    let pk = sk.public_key();
    let huge = "A".repeat(1024 * 1024);
    assert_code(envelope::open(&sk, &huge), "ERR_INPUT_TOO_LARGE", "1 MiB envelope");
    assert_code(envelope::open_jwe(&sk, &huge, SID), "ERR_INPUT_TOO_LARGE", "1 MiB JWE");
    assert_code(envelope::open_any(&sk, EnvelopeKind::Linkauth, &huge, Some(SID)), "ERR_INPUT_TOO_LARGE", "open_any");
    // A 1 MiB envelope that is otherwise a perfectly valid one (padded with spaces).
    let ct = envelope::seal(pk, &creds()).unwrap();
    let padded = format!("{}{ct}", " ".repeat(1024 * 1024));
    assert_code(envelope::open(&sk, &padded), "ERR_INPUT_TOO_LARGE", "padded");

    // Credentials too big to seal.
    let mut big = Credentials::new();
    big.insert("blob", "x".repeat(1024 * 1024));
    let e = envelope::seal(pk, &big).unwrap_err();
    assert_eq!(e.code(), "ERR_INPUT_TOO_LARGE", "{e}");
    let e = envelope::seal_jwe(pk, &big, SID).unwrap_err();
    assert_eq!(e.code(), "ERR_INPUT_TOO_LARGE", "{e}");
    let e = Credentials::from_json(format!("{{\"blob\":\"{}\"}}", "x".repeat(1024 * 1024)).as_bytes()).unwrap_err();
    assert_eq!(e.code(), "ERR_INPUT_TOO_LARGE", "{e}");
    let mut many = Credentials::new();
    for i in 0..10_000 {
        many.insert(format!("f{i}"), "v");
    }
    assert_eq!(envelope::seal(pk, &many).unwrap_err().code(), "ERR_INPUT_TOO_LARGE");
    // Escaping can make JSON much longer than the raw strings: still refused, never sealed.
    let mut ctrl = Credentials::new();
    ctrl.insert("c", "\u{1}".repeat(20 * 1024)); // 20 KiB raw, 120 KiB as JSON
    assert_eq!(envelope::seal(pk, &ctrl).unwrap_err().code(), "ERR_INPUT_TOO_LARGE");
    let e = envelope::seal_jwe(pk, &creds(), &"s".repeat(1024 * 1024)).unwrap_err();
    assert_eq!(e.code(), "ERR_INPUT_TOO_LARGE", "{e}");
}

#[test]
fn moderate_sizes_still_work() {
    // 16 KiB of credentials seals and opens in both formats.
    let sk = support::private_key("rsa2048");
    let c = support::credentials_of_size(16 * 1024);
    assert_eq!(envelope::open(&sk, &envelope::seal(sk.public_key(), &c).unwrap()).unwrap(), c);
    assert_eq!(envelope::open_jwe(&sk, &envelope::seal_jwe(sk.public_key(), &c, SID).unwrap(), SID).unwrap(), c);
}

#[test]
fn non_string_credential_values_are_refused() {
    for json in [
        r#"{"password":1234}"#,
        r#"{"password":null}"#,
        r#"{"password":true}"#,
        r#"{"password":["a"]}"#,
        r#"{"password":{"v":"x"}}"#,
        r#"{"user":"alice","password":1.5}"#,
        r#"["alice","secret"]"#,
        r#""secret""#,
        r#"null"#,
        r#"alice:secret"#,
        "",
    ] {
        let e = Credentials::from_json(json.as_bytes()).unwrap_err();
        assert_eq!(e.code(), "ERR_CREDENTIALS_INVALID", "{json}: {e}");
        assert!(!e.to_string().contains("secret") && !e.to_string().contains("1234"), "{e}");
    }
    let e = Credentials::from_json(b"{\"password\":\"\xff\"}").unwrap_err();
    assert_eq!(e.code(), "ERR_CREDENTIALS_INVALID", "invalid UTF-8: {e}");
    // Strings of every kind are fine.
    let c = Credentials::from_json(r#"{"a":"","b":"\u00e4\n","c":"\ud83d\udd11"}"#.as_bytes()).unwrap();
    assert_eq!(c.get("c"), Some("\u{1F511}"));
    assert_eq!(c.len(), 3);
}

#[test]
fn empty_field_name_is_refused_when_sealing() {
    let pk = support::public_key("rsa2048");
    let mut c = Credentials::new();
    c.insert("", "value");
    assert_eq!(envelope::seal(&pk, &c).unwrap_err().code(), "ERR_CREDENTIALS_INVALID");
    assert_eq!(envelope::seal_jwe(&pk, &c, SID).unwrap_err().code(), "ERR_CREDENTIALS_INVALID");
}

#[test]
fn credentials_api_and_serde() {
    let mut c = Credentials::new();
    assert_eq!(c.len(), 0);
    c.insert("b", "2");
    c.insert("a", "1");
    assert_eq!(c.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "2")]);
    assert_eq!(serde_json::to_string(&c).unwrap(), r#"{"a":"1","b":"2"}"#);
    let back: Credentials = serde_json::from_str(r#"{"a":"1","b":"2"}"#).unwrap();
    assert_eq!(back, c);
    let from_map = Credentials::from(std::collections::BTreeMap::from([
        ("a".to_owned(), "1".to_owned()),
        ("b".to_owned(), "2".to_owned()),
    ]));
    assert_eq!(from_map, c);
    let dbg = format!("{:?}", creds());
    assert!(!dbg.contains("alice@example.com") && !dbg.contains("w\u{f6}rd"), "Debug shows values: {dbg}");
}

#[test]
fn errors_have_the_documented_codes() {
    let all = [
        (EnvelopeError::DecryptFailed, "ERR_DECRYPT_FAILED"),
        (EnvelopeError::SessionMismatch, "ERR_JWE_SESSION_MISMATCH"),
        (EnvelopeError::RandomUnavailable, "ERR_RANDOM_UNAVAILABLE"),
    ];
    for (e, code) in all {
        assert_eq!(e.code(), code);
        let _: &dyn std::error::Error = &e;
    }
    // A refused recipient key keeps its key code through the envelope error.
    let e: EnvelopeError = sealpost_core::keys::AgentPublicKey::parse("AAAA").unwrap_err().into();
    assert_eq!(e.code(), "ERR_KEY_MALFORMED");
}

/// A modulus that is not a multiple of 8 or 64 bits (2056 and 2049 bits, both within
/// the 2048..=8192 policy): the RSA output must be exactly ceil(bits/8) bytes, as
/// RFC 8017 and every other implementation expect.
#[test]
fn odd_sized_keys_produce_k_byte_wrapped_keys() {
    for bits in [2049usize, 2056] {
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        let rsa_key = rsa::RsaPrivateKey::new(&mut rng, bits).unwrap();
        let sk = AgentPrivateKey::from_rsa(rsa_key).unwrap();
        let pk = sealpost_core::keys::AgentPublicKey::parse(&sk.public_key().to_wire()).unwrap();
        assert_eq!(pk.bits(), bits);
        let ct = envelope::seal(&pk, &creds()).unwrap();
        let k = bits.div_ceil(8);
        assert_eq!(field(&inner_of(&ct), "wrapped_key").len(), k, "{bits}-bit key");
        assert_eq!(envelope::open(&sk, &ct).unwrap(), creds(), "{bits}");
        let jwe = envelope::seal_jwe(&pk, &creds(), SID).unwrap();
        let ek = URL_SAFE_NO_PAD.decode(jwe.split('.').nth(1).unwrap()).unwrap();
        assert_eq!(ek.len(), k, "{bits}-bit key, JWE");
        assert_eq!(envelope::open_jwe(&sk, &jwe, SID).unwrap(), creds());
    }
}
