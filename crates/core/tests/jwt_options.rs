//! The decisions the front-ends (full WASM bundle, CLI) take from core: options
//! objects to a `Policy`, which signing key wins, and which parsed key sets may
//! be cached (public material only, decided from the parsed input).
#![cfg(feature = "jwt")]

use sealpost_core::jwt::{
    InspectOptions, JsonOptions, KeySet, Policy, SignKey, SignOptions, VerifyStatus, alg_named, inspect,
};

const EC_KEY: &str = include_str!("fixtures/jwt/ecp256.key");
const EC_PUB: &str = include_str!("fixtures/jwt/ecp256.pub");
const EC_CRT: &str = include_str!("fixtures/jwt/ecp256.crt");
const RSA_PKCS1_PUB: &str = include_str!("fixtures/jwt/rsa2048.pkcs1.pub");
const RSA_PKCS1_KEY: &str = include_str!("fixtures/jwt/rsa2048.pkcs1.key");
const NOW: i64 = 1_800_000_000;
// RFC 8037 appendix A.1 / A.2.
const ED_PUB_JWK: &str = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
const ED_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";

fn json(text: &str) -> JsonOptions {
    JsonOptions::parse(text, "options").unwrap()
}

fn public_only(text: &str) -> bool {
    KeySet::parse(text).unwrap().is_public_only()
}

#[test]
fn only_public_inputs_are_public_only() {
    for text in [EC_PUB, EC_CRT, RSA_PKCS1_PUB, ED_PUB_JWK] {
        assert!(public_only(text), "{text}");
    }
    let jwks = format!(r#"{{"keys":[{ED_PUB_JWK},{{"kty":"EC","crv":"secp256k1","x":"AA","y":"AA"}}]}}"#);
    assert!(public_only(&jwks), "a skipped public entry keeps the set public-only");

    let private_jwk = ED_PUB_JWK.replace('}', &format!(r#","d":"{ED_D}"}}"#));
    let escaped = ED_PUB_JWK.replace('}', &format!(r#","\u0064":"{ED_D}"}}"#));
    let skipped_private = format!(r#"{{"keys":[{ED_PUB_JWK},{{"kty":"EC","crv":"secp256k1","d":"AA"}}]}}"#);
    let oct = r#"{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}"#;
    for text in [EC_KEY, RSA_PKCS1_KEY, &private_jwk, &escaped, &skipped_private, oct] {
        assert!(!public_only(text), "{text}");
    }
    assert!(!KeySet::secret_utf8("s").is_public_only());
    assert!(!KeySet::secret_base64("c2VjcmV0").unwrap().is_public_only());

    let mut set = KeySet::parse(EC_PUB).unwrap();
    set.extend(KeySet::parse(EC_KEY).unwrap());
    assert!(!set.is_public_only(), "merging private input taints the set");
}

#[test]
fn policy_from_json() {
    assert_eq!(Policy::from_json(&JsonOptions::default()).unwrap(), Policy::default());
    let p = Policy::from_json(&json(
        r#"{"issuer":"https://i","audience":["a","b"],"typ":"at+jwt","requiredClaims":["sub"],
            "critUnderstood":["x"],"maxAge":30.9,"leeway":5,"maxLifetime":null,"maxActDepth":2,"key":1}"#,
    ))
    .unwrap();
    assert_eq!(p.issuer, ["https://i"]);
    assert_eq!(p.audience, ["a", "b"]);
    assert_eq!(p.typ.as_deref(), Some("at+jwt"));
    assert_eq!(p.required_claims, ["sub"]);
    assert_eq!(p.crit_understood, ["x"]);
    assert_eq!((p.max_age, p.leeway, p.max_lifetime, p.max_act_depth), (Some(30), 5, None, 2));
    let p = Policy::from_json(&json(r#"{"maxLifetime":600,"issuer":null}"#)).unwrap();
    assert_eq!((p.max_lifetime, p.issuer.len()), (Some(600), 0));

    for (bad, msg) in [
        (r#"{"typ":1}"#, "typ must be a string"),
        (r#"{"audience":[1]}"#, "audience must be a string or an array of strings"),
        (r#"{"maxLifetime":"1h"}"#, "maxLifetime must be a number or null"),
        (r#"{"maxActDepth":1025}"#, "maxActDepth must be between 0 and 1024"),
        (r#"{"maxActDepth":-1}"#, "maxActDepth must be between 0 and 1024"),
    ] {
        let e = Policy::from_json(&json(bad)).unwrap_err();
        assert_eq!(e.code(), "ERR_JWT_OPTIONS_INVALID");
        assert_eq!(e.to_string(), format!("invalid options: {msg}"));
    }
    assert_eq!(JsonOptions::parse("[]", "not an object").unwrap_err().to_string(), "invalid options: not an object");
}

#[test]
fn the_key_wins_then_the_secret_then_the_base64_secret() {
    let k = SignKey::choose(Some(EC_KEY), Some(b"secret"), Some("c2VjcmV0")).unwrap().unwrap();
    assert_eq!(k.kty(), "EC");
    let k = SignKey::choose(None, Some(b"one"), Some("!!")).unwrap().unwrap();
    assert_eq!(k.kty(), "oct");
    assert!(SignKey::choose(None, None, None).unwrap().is_none());
    assert_eq!(SignKey::choose(None, None, Some("!!")).unwrap_err().code(), "ERR_JWT_KEY_MALFORMED");
    assert_eq!(SignKey::choose(Some("{}"), Some(b"s"), None).unwrap_err().code(), "ERR_JWT_KEY_MALFORMED");

    // secretBase64 "c2VjcmV0" is the UTF-8 secret "secret": the same token either way.
    let a = SignOptions::from_json(&json(r#"{"claims":{"sub":"x"},"secret":"secret"}"#)).unwrap().sign(NOW).unwrap();
    let b = SignOptions::from_json(&json(r#"{"claims":{"sub":"x"},"secretBase64":"c2VjcmV0"}"#)).unwrap().sign(NOW);
    assert_eq!(a, b.unwrap());
    let opts = InspectOptions { keys: KeySet::secret_utf8("secret"), ..InspectOptions::at(NOW) };
    assert_eq!(inspect(&a, &opts).verification.status, VerifyStatus::Valid);
}

#[test]
fn sign_options_read_in_order_and_stop_at_the_winning_key() {
    let key = serde_json::to_string(EC_KEY).unwrap();
    // Members after the winning key are not read: a bad secret beside a key is ignored.
    let o = SignOptions::from_json(&json(&format!(r#"{{"key":{key},"secret":1,"alg":"ES256","now":5}}"#))).unwrap();
    assert_eq!((o.key.as_ref().map(SignKey::kty), o.now), (Some("EC"), Some(5.0)));
    for (bad, code) in [
        (r#"{"claims":[]}"#, "ERR_JWT_JSON_INVALID"),
        (r#"{"header":"x","alg":"nope"}"#, "ERR_JWT_JSON_INVALID"),
        (r#"{"broken":"later"}"#, "ERR_JWT_OPTIONS_INVALID"),
        (r#"{"alg":"HS1"}"#, "ERR_JWT_ALG_UNSUPPORTED"),
        (r#"{"secret":1}"#, "ERR_JWT_OPTIONS_INVALID"),
        (r#"{"secret":"s","now":"soon"}"#, "ERR_JWT_OPTIONS_INVALID"),
    ] {
        assert_eq!(SignOptions::from_json(&json(bad)).unwrap_err().code(), code, "{bad}");
    }
    assert_eq!(
        alg_named("a-very-long-algorithm-name").unwrap_err().to_string(),
        "algorithm is not supported: a-very-long-algo"
    );
    assert_eq!(alg_named("PS384").unwrap().name(), "PS384");
    let none = SignOptions::from_json(&json(r#"{"broken":"alg-none","claims":{"sub":"x"}}"#)).unwrap();
    assert!(none.sign(NOW).unwrap().ends_with('.'));
}
