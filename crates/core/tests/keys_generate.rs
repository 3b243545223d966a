//! Agent key generation: 2048/3072/4096, round trip through PKCS#8 PEM.

#[path = "vectors/support.rs"]
mod support;

use sealpost_core::envelope::{self, Credentials};
use sealpost_core::keys::{AgentPrivateKey, AgentPublicKey, KeyBits};

fn round_trip(bits: KeyBits, expect_bits: usize) {
    let sk = AgentPrivateKey::generate(bits).unwrap();
    let pk = sk.public_key().clone();
    assert_eq!(pk.bits(), expect_bits);
    let e = rsa::traits::PublicKeyParts::e_bytes(pk.rsa());
    let e: Vec<u8> = e.iter().copied().skip_while(|b| *b == 0).collect();
    assert_eq!(e, [0x01, 0x00, 0x01], "e = 65537");

    let pem = sk.to_pkcs8_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "PKCS#8 label");
    assert!(pem.trim_end().ends_with("-----END PRIVATE KEY-----"));
    let back = AgentPrivateKey::from_pem(&pem).unwrap();
    assert_eq!(back.public_key(), &pk, "same key after PKCS#8 PEM round trip");
    assert_eq!(back.public_key().fingerprint(), pk.fingerprint());

    // The wire form parses back to the same key (what the broker and browser see).
    let parsed = AgentPublicKey::parse(&pk.to_wire()).unwrap();
    assert_eq!(parsed.fingerprint().long(), pk.fingerprint().long());

    // And the re-imported key opens what was sealed to the original public key.
    let mut creds = Credentials::new();
    creds.insert("password", format!("generated-{expect_bits}"));
    let ct = envelope::seal(&parsed, &creds).unwrap();
    assert_eq!(envelope::open(&back, &ct).unwrap(), creds);
}

#[test]
fn generate_2048_round_trip() {
    round_trip(KeyBits::B2048, 2048);
}

#[test]
fn generate_3072_round_trip() {
    round_trip(KeyBits::B3072, 3072);
}

#[test]
fn generate_4096_round_trip() {
    round_trip(KeyBits::B4096, 4096);
}

#[test]
fn two_generated_keys_differ() {
    let a = AgentPrivateKey::generate(KeyBits::B2048).unwrap();
    let b = AgentPrivateKey::generate(KeyBits::B2048).unwrap();
    assert_ne!(a.public_key().fingerprint(), b.public_key().fingerprint());
}

#[test]
fn key_bits_conversions() {
    assert_eq!(KeyBits::default(), KeyBits::B3072);
    assert_eq!(KeyBits::try_from(2048u32).unwrap(), KeyBits::B2048);
    assert_eq!(KeyBits::try_from(3072u32).unwrap(), KeyBits::B3072);
    assert_eq!(KeyBits::try_from(4096u32).unwrap(), KeyBits::B4096);
    for bad in [0u32, 1024, 2047, 2049, 8192, u32::MAX] {
        let e = KeyBits::try_from(bad).unwrap_err();
        assert_eq!(e.code(), "ERR_KEY_BITS_UNSUPPORTED", "{bad}");
    }
}

#[test]
fn pkcs8_pem_of_a_fixture_matches_openssl_key() {
    // Re-export of an openssl-made key must carry the same public key.
    let sk = support::private_key("rsa3072");
    let pem = sk.to_pkcs8_pem().unwrap();
    let back = AgentPrivateKey::from_pem(&pem).unwrap();
    assert_eq!(back.public_key().fingerprint().long(), support::expected("rsa3072").long);
}
