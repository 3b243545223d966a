//! DPoP proofs (RFC 9449) made with real keys (the fixtures, signed by the core
//! signer): verified with the key in their own header, RFC 7638 thumbprints,
//! private header keys refused, and the `ath` / `cnf.jkt` binding to an access token.

use sealpost_core::jwt::{
    Alg, BindingStatus, InspectOptions, KeySet, ProofKeyStatus, Report, SignKey, VerifyStatus, access_token_hash,
    inspect, jwk_thumbprint, sign_bytes,
};
use serde_json::{Map, Value, json};

const NOW: i64 = 1_800_000_000;
const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwt/");

/// Public JWKs of the fixture keys (exported once with Node's crypto).
const EC_JWK: &str = r#"{"kty":"EC","x":"sjvvylxugbrQ7lh35VhGzfTGNFn4Q_7i5u-cq9pnQLY","y":"Y9_1Feh4zMwPDIhWX6P6LG-I02Jjfcw4PI5l-wpm6nU","crv":"P-256"}"#;
const EC_D: &str = "LCd6-TYfFDWnSepNmyP_jlZo-RydhEWIsVmnhkmq-q0";
const RSA_JWK: &str = r#"{"kty":"RSA","n":"pWGR847V8efdYfzpsXrqqHhG70J18RpA2STYQmTg1EZ4ldYRisBiAiqKSBqrJPp8bLXLuge6d7CHfK_hXk3bfEvw_hzl6xhy6nE0VUg_TUQ_hymPfEG4Oe-y292pMlwYB6cAswS6u__to6VTGsO0wJjPvgTXzbl2dP_NSTlUhcJmUnLMMveDZsTlSkZouR22BBmjWxxnKo26WinIBEzwXSnNaA8B8o3S2hJWM7eruW7iobZCkbDfkMEbF3BewBFFdKJIl8bBTY2wF1Tc4LjgPTjE6ZMklh82AC_5vcS8UpGnUcBjqUDkEqpmE41pVISdQYhrOAtKfq41dp-kRHBbRw","e":"AQAB"}"#;
const ED_JWK: &str = r#"{"crv":"Ed25519","x":"V3wvuDapN1xhkuzYc63OcOoH94PcYkyyiIvWMsvq7CE","kty":"OKP"}"#;
const EC384_JWK: &str = r#"{"kty":"EC","x":"Fju9BVMWJyS729Jdu498xYXK1pEmkKDMsvpkC2lNpTpp_hkbaTTaqC4PLu613WwX","y":"J2Kq5rwQ3O2gUbEQimxpBh2kmFdNB3Dpb48Cqm8tixKP_iotH2u4aJbvR_h-uL4F","crv":"P-384"}"#;

fn file(name: &str) -> String {
    std::fs::read_to_string(format!("{FIX}{name}")).unwrap()
}
fn b64(b: &[u8]) -> String {
    sealpost_core::jwt::b64::encode(b)
}
fn key(name: &str) -> SignKey {
    SignKey::parse(&file(name)).unwrap()
}
fn obj(text: &str) -> Map<String, Value> {
    serde_json::from_str(text).unwrap()
}
fn sign(header: &Value, claims: &Value, alg: Alg, k: &SignKey) -> String {
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let sig = sign_bytes(alg, k, input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&sig))
}
fn hdr(alg: &str, jwk: &str) -> Value {
    json!({"typ": "dpop+jwt", "alg": alg, "jwk": serde_json::from_str::<Value>(jwk).unwrap()})
}
fn claims() -> Value {
    json!({"jti": "e1j3V_bKic8-LAEB", "htm": "GET", "htu": "https://resource.example.org/protectedresource", "iat": NOW - 5})
}
fn with(mut c: Value, k: &str, v: Value) -> Value {
    c[k] = v;
    c
}
fn without(mut c: Value, k: &str) -> Value {
    c.as_object_mut().unwrap().remove(k);
    c
}
fn es_proof(c: &Value) -> String {
    sign(&hdr("ES256", EC_JWK), c, Alg::ES256, &key("ecp256.key"))
}
/// An at+jwt access token bound (cnf.jkt) to `jkt`, signed by the RSA issuer key.
fn access_token(jkt: Option<&str>) -> String {
    let mut c = json!({"iss": "https://as.example", "sub": "u1", "aud": "https://resource.example.org", "client_id": "app", "jti": "at1", "iat": NOW - 60, "exp": NOW + 600});
    if let Some(j) = jkt {
        c["cnf"] = json!({"jkt": j});
    }
    sign(&json!({"alg": "RS256", "typ": "at+jwt"}), &c, Alg::RS256, &key("rsa2048.key"))
}
fn run(token: &str, at: Option<&str>) -> Report {
    inspect(token, &InspectOptions { access_token: at.map(str::to_owned), ..InspectOptions::at(NOW) })
}
fn codes(r: &Report) -> Vec<&'static str> {
    r.findings.iter().map(|f| f.code).collect()
}
fn ec_thumb() -> String {
    jwk_thumbprint(&obj(EC_JWK)).unwrap()
}

#[test]
fn rfc7638_example_thumbprint() {
    // RFC 7638 section 3.1 (alg and kid are not part of the thumbprint).
    let rfc = r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#;
    assert_eq!(jwk_thumbprint(&obj(rfc)).unwrap(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    // RFC 9449's example EC key (sections 4.1 and 6.1) and its jkt.
    let rfc9449 = r#"{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}"#;
    assert_eq!(jwk_thumbprint(&obj(rfc9449)).unwrap(), "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
    // Member order and extra members do not change it; a missing member is an error with a code.
    let reordered = r#"{"crv":"P-256","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","use":"sig","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","kty":"EC"}"#;
    assert_eq!(jwk_thumbprint(&obj(reordered)).unwrap(), "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
    assert_eq!(
        jwk_thumbprint(&obj(r#"{"kty":"EC","crv":"P-256","x":"AA"}"#)).unwrap_err().code(),
        "ERR_JWT_KEY_MALFORMED"
    );
    assert_eq!(jwk_thumbprint(&obj(r#"{"kty":"XYZ"}"#)).unwrap_err().code(), "ERR_JWT_KEY_UNSUPPORTED");
}

#[test]
fn rfc9449_ath_example() {
    // RFC 9449 section 7.1: the access token and the ath of the proof sent with it.
    assert_eq!(
        access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
        "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    );
}

#[test]
fn valid_proofs_verify_with_their_header_key() {
    for (alg, jwk, k) in [
        (Alg::ES256, EC_JWK, "ecp256.key"),
        (Alg::PS256, RSA_JWK, "rsa2048.key"),
        (Alg::RS256, RSA_JWK, "rsa2048.key"),
        (Alg::EdDSA, ED_JWK, "ed25519.key"),
        (Alg::ES384, EC384_JWK, "ecp384.key"),
    ] {
        let t = sign(&hdr(alg.name(), jwk), &claims(), alg, &key(k));
        let r = run(&t, None);
        let d = r.dpop.as_ref().expect("a dpop section");
        assert_eq!(d.proof_key_status, ProofKeyStatus::Valid, "{}: {}", alg.name(), d.detail);
        assert!(d.proof_key_verified);
        assert_eq!(d.thumbprint.as_deref(), Some(jwk_thumbprint(&obj(jwk)).unwrap().as_str()));
        assert_eq!(d.key.as_ref().unwrap().source, "header.jwk");
        assert_eq!(d.htm.as_deref(), Some("GET"));
        // Not a trusted-key verification: that stays "not attempted", and the jwk is not flagged.
        assert_eq!(r.verification.status, VerifyStatus::NotAttempted);
        assert!(!r.summary.signature_verified);
        assert!(!r.has("JWT_HEADER_JWK"), "{:?}", codes(&r));
        assert!(r.findings.iter().all(|f| !f.code.starts_with("JWT_DPOP_")), "{alg:?}: {:?}", codes(&r));
        assert!(d.ath.is_none() && d.jkt.is_none() && !d.access_token_given);
    }
}

#[test]
fn a_proof_verified_also_against_a_trusted_key_keeps_both_results() {
    let t = es_proof(&claims());
    let r =
        inspect(&t, &InspectOptions { keys: KeySet::parse(&file("ecp256.pub")).unwrap(), ..InspectOptions::at(NOW) });
    assert_eq!(r.verification.status, VerifyStatus::Valid);
    assert_eq!(r.dpop.unwrap().proof_key_status, ProofKeyStatus::Valid);
    // A trusted key that is not the proof's: trusted verification fails, the proof still verifies with its own key.
    let r =
        inspect(&t, &InspectOptions { keys: KeySet::parse(&file("rsa2048.pub")).unwrap(), ..InspectOptions::at(NOW) });
    assert_ne!(r.verification.status, VerifyStatus::Valid);
    assert_eq!(r.dpop.unwrap().proof_key_status, ProofKeyStatus::Valid);
}

#[test]
fn tampered_or_wrong_key_proof_is_invalid() {
    let t = es_proof(&claims());
    let parts: Vec<&str> = t.split('.').collect();
    let forged =
        format!("{}.{}.{}", parts[0], b64(with(claims(), "htm", json!("POST")).to_string().as_bytes()), parts[2]);
    let r = run(&forged, None);
    assert_eq!(r.dpop.as_ref().unwrap().proof_key_status, ProofKeyStatus::Invalid);
    assert!(!r.dpop.as_ref().unwrap().proof_key_verified);
    assert!(r.has("JWT_DPOP_SIGNATURE_INVALID"));
    // The header names the fixture P-256 key; signed with another P-256 key (RFC 7515 A.3).
    let other = SignKey::parse(r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#).unwrap();
    let r = run(&sign(&hdr("ES256", EC_JWK), &claims(), Alg::ES256, &other), None);
    assert!(r.has("JWT_DPOP_SIGNATURE_INVALID"));
    // alg ES384 with a P-256 header key: the key cannot verify it.
    let r = run(&sign(&hdr("ES384", EC_JWK), &claims(), Alg::ES384, &key("ecp384.key")), None);
    assert_eq!(r.dpop.as_ref().unwrap().proof_key_status, ProofKeyStatus::KeyUnusable);
    assert!(r.has("JWT_DPOP_JWK_INVALID"));
    // A structurally defective input is never accepted, even when the bytes verify.
    let r = run(&format!("{t}=="), None);
    assert_ne!(r.dpop.as_ref().unwrap().proof_key_status, ProofKeyStatus::Valid);
}

#[test]
fn private_header_jwk_is_refused() {
    let private = EC_JWK.replace(r#""crv":"P-256"}"#, &format!(r#""crv":"P-256","d":"{EC_D}"}}"#));
    let t = sign(&hdr("ES256", &private), &claims(), Alg::ES256, &key("ecp256.key"));
    let r = run(&t, None);
    let d = r.dpop.as_ref().unwrap();
    assert_eq!(d.proof_key_status, ProofKeyStatus::PrivateKey);
    assert!(!d.proof_key_verified);
    assert!(d.thumbprint.is_none());
    let f = r.findings.iter().find(|f| f.code == "JWT_DPOP_PRIVATE_KEY").expect("private key finding");
    assert_eq!(f.severity, sealpost_core::jwt::Severity::Critical);
    assert_eq!(f.location, "header.jwk");
    assert!(f.message.contains('d') && !f.message.contains(EC_D), "names members, never values: {}", f.message);
    assert!(!d.detail.contains(EC_D));
    // A symmetric key is refused the same way.
    let r = run(
        &sign(&hdr("ES256", r#"{"kty":"oct","k":"c2VjcmV0c2VjcmV0"}"#), &claims(), Alg::ES256, &key("ecp256.key")),
        None,
    );
    assert!(r.has("JWT_DPOP_PRIVATE_KEY"));
}

#[test]
fn header_key_and_alg_problems() {
    let no_jwk = sign(&json!({"typ": "dpop+jwt", "alg": "ES256"}), &claims(), Alg::ES256, &key("ecp256.key"));
    let r = run(&no_jwk, None);
    assert!(r.has("JWT_DPOP_JWK_MISSING"));
    assert_eq!(r.dpop.unwrap().proof_key_status, ProofKeyStatus::NoKey);
    let r = run(&sign(&hdr("HS256", EC_JWK), &claims(), Alg::HS256, &SignKey::secret(&[7u8; 32])), None);
    assert!(r.has("JWT_DPOP_ALG_NOT_ASYMMETRIC"));
    assert_eq!(r.dpop.unwrap().proof_key_status, ProofKeyStatus::Unsupported);
    let none = format!("{}.{}.", b64(hdr("none", EC_JWK).to_string().as_bytes()), b64(claims().to_string().as_bytes()));
    let r = run(&none, None);
    assert!(r.has("JWT_DPOP_ALG_NOT_ASYMMETRIC") && r.has("JWT_ALG_NONE"));
    assert!(!r.dpop.unwrap().proof_key_verified);
    let bad_point =
        EC_JWK.replace("sjvvylxugbrQ7lh35VhGzfTGNFn4Q_7i5u-cq9pnQLY", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU");
    assert!(
        run(&sign(&hdr("ES256", &bad_point), &claims(), Alg::ES256, &key("ecp256.key")), None)
            .has("JWT_DPOP_JWK_INVALID")
    );
    // Shaped like a proof (htm, htu, jti) but not typed dpop+jwt.
    let untyped = sign(
        &json!({"alg": "ES256", "typ": "JWT", "jwk": serde_json::from_str::<Value>(EC_JWK).unwrap()}),
        &claims(),
        Alg::ES256,
        &key("ecp256.key"),
    );
    let r = run(&untyped, None);
    assert!(r.has("JWT_DPOP_TYP_INVALID") && r.has("JWT_HEADER_JWK"), "{:?}", codes(&r));
}

#[test]
fn required_claims_htu_and_age() {
    for name in ["jti", "htm", "htu", "iat"] {
        let r = run(&es_proof(&without(claims(), name)), None);
        let f = r
            .findings
            .iter()
            .find(|f| f.code == "JWT_DPOP_CLAIM_MISSING")
            .unwrap_or_else(|| panic!("{name}: {:?}", codes(&r)));
        assert_eq!(f.location, format!("payload.{name}"));
    }
    assert!(run(&es_proof(&with(claims(), "htm", json!(7))), None).has("JWT_DPOP_CLAIM_MISSING"));
    assert!(run(&es_proof(&with(claims(), "iat", json!("yesterday"))), None).has("JWT_DPOP_CLAIM_MISSING"));
    assert!(run(&es_proof(&with(claims(), "htu", json!("https://r.example/x?q=1"))), None).has("JWT_DPOP_HTU_INVALID"));
    assert!(run(&es_proof(&with(claims(), "htu", json!("/relative"))), None).has("JWT_DPOP_HTU_INVALID"));
    assert!(run(&es_proof(&with(claims(), "iat", json!(NOW - 3600))), None).has("JWT_DPOP_STALE"));
    assert!(!run(&es_proof(&with(claims(), "iat", json!(NOW - 300))), None).has("JWT_DPOP_STALE"));
}

#[test]
fn ath_and_jkt_binding() {
    let at = access_token(Some(&ec_thumb()));
    let good = es_proof(&with(claims(), "ath", json!(access_token_hash(&at))));

    // Both bindings hold; the access token may come with its DPoP scheme.
    for given in [at.clone(), format!("DPoP {at}"), format!("  {at}\n")] {
        let r = run(&good, Some(&given));
        let d = r.dpop.as_ref().unwrap();
        assert!(d.access_token_given);
        assert_eq!(d.ath.as_ref().unwrap().status, BindingStatus::Match, "{given:?}");
        assert_eq!(d.jkt.as_ref().unwrap().status, BindingStatus::Match);
        assert_eq!(d.jkt.as_ref().unwrap().actual.as_deref(), Some(ec_thumb().as_str()));
        assert!(r.findings.iter().all(|f| !f.code.starts_with("JWT_DPOP_")), "{:?}", codes(&r));
    }

    // ath of another token (same binding, another jti: another hash).
    let other_at = {
        let c = json!({"iss": "https://as.example", "sub": "u1", "jti": "at2", "cnf": {"jkt": ec_thumb()}, "exp": NOW + 600});
        sign(&json!({"alg": "RS256", "typ": "at+jwt"}), &c, Alg::RS256, &key("rsa2048.key"))
    };
    let r = run(&good, Some(&other_at));
    assert!(r.has("JWT_DPOP_ATH_MISMATCH"), "{:?}", codes(&r));
    assert_eq!(r.dpop.as_ref().unwrap().ath.as_ref().unwrap().status, BindingStatus::Mismatch);
    assert!(!r.has("JWT_DPOP_JKT_MISMATCH"));

    // No ath while an access token is given; none expected without one.
    let no_ath = es_proof(&claims());
    let r = run(&no_ath, Some(&at));
    assert!(r.has("JWT_DPOP_ATH_MISSING"));
    assert_eq!(r.dpop.as_ref().unwrap().ath.as_ref().unwrap().status, BindingStatus::Missing);
    assert!(!run(&no_ath, None).has("JWT_DPOP_ATH_MISSING"));

    // The access token is bound to another key.
    let other_key_at = access_token(Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"));
    let proof = es_proof(&with(claims(), "ath", json!(access_token_hash(&other_key_at))));
    let r = run(&proof, Some(&other_key_at));
    assert!(r.has("JWT_DPOP_JKT_MISMATCH") && !r.has("JWT_DPOP_ATH_MISMATCH"), "{:?}", codes(&r));
    let j = r.dpop.as_ref().unwrap().jkt.clone().unwrap();
    assert_eq!(
        (j.status, j.expected.as_deref(), j.actual.as_deref()),
        (BindingStatus::Mismatch, Some(ec_thumb().as_str()), Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"))
    );

    // Not bound at all (no cnf.jkt), and an opaque token (jkt cannot be read).
    let unbound = access_token(None);
    let r = run(&es_proof(&with(claims(), "ath", json!(access_token_hash(&unbound)))), Some(&unbound));
    assert!(r.has("JWT_DPOP_JKT_MISSING"));
    let opaque = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
    let r = run(&es_proof(&with(claims(), "ath", json!("fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"))), Some(opaque));
    let d = r.dpop.as_ref().unwrap();
    assert_eq!(d.ath.as_ref().unwrap().status, BindingStatus::Match);
    assert_eq!(d.jkt.as_ref().unwrap().status, BindingStatus::Unchecked);
    assert!(r.has("JWT_DPOP_JKT_UNCHECKED"));
}

#[test]
fn non_proofs_have_no_dpop_section() {
    let at = access_token(Some(&ec_thumb()));
    let r = run(&at, Some(&at));
    assert!(r.dpop.is_none());
    assert!(r.findings.iter().all(|f| !f.code.starts_with("JWT_DPOP_")));
    // A JWT with a header jwk that is not a proof is still flagged as an untrusted embedded key.
    let t = sign(
        &json!({"alg": "ES256", "typ": "at+jwt", "jwk": serde_json::from_str::<Value>(EC_JWK).unwrap()}),
        &json!({"sub": "x", "exp": NOW + 60}),
        Alg::ES256,
        &key("ecp256.key"),
    );
    assert!(run(&t, None).has("JWT_HEADER_JWK"));
}

#[test]
fn mutated_proofs_and_odd_access_tokens_never_panic() {
    let at = access_token(Some(&ec_thumb()));
    let proof = es_proof(&with(claims(), "ath", json!(access_token_hash(&at))));
    let odd = [
        "",
        " ",
        "DPoP",
        "DPoP ",
        "dpop\u{e9}x",
        "Bearer \u{1F600}",
        "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
        "a.b.c",
        "..",
        &at,
    ];
    for (i, a) in odd.iter().enumerate() {
        let r = run(&proof, Some(a));
        let d = r.dpop.as_ref().unwrap();
        assert_eq!(d.proof_key_status, ProofKeyStatus::Valid);
        // A bare scheme word is taken as the token itself; only blank input counts as absent.
        assert_eq!(d.access_token_given, !a.trim().is_empty(), "{i}: {a:?}");
    }
    let bytes = proof.as_bytes();
    for i in (0..bytes.len()).step_by(3) {
        for replacement in [b'A', b'.', b'_', b'~'] {
            let mut m = bytes.to_vec();
            m[i] = replacement;
            let m = String::from_utf8(m).unwrap();
            let r = run(&m, Some(&at));
            if m != proof
                && let Some(d) = &r.dpop
            {
                assert!(
                    !(d.proof_key_verified
                        && d.ath.as_ref().is_some_and(|b| b.status == BindingStatus::Match)
                        && m.split('.').nth(1) != proof.split('.').nth(1)
                        && m.split('.').nth(2) == proof.split('.').nth(2)),
                    "a changed payload never verifies: {m}"
                );
            }
        }
    }
}
