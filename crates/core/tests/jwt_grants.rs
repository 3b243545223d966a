//! Issue 13 item 3 (part): the inspector recognises an Identity Assertion JWT
//! authorization grant (`typ: oauth-id-jag+jwt`) and a `private_key_jwt`
//! client assertion (iss = sub = client_id, aud = the token endpoint), names
//! why, and reports their missing required claims. Frozen clock.

use sealpost_core::jwt::{InspectOptions, Report, SignKey, SignRequest, TokenKind, inspect, parse_object, sign};

const NOW: i64 = 1_800_000_000;

fn token(header: &str, claims: &str) -> String {
    let key = SignKey::secret(b"0123456789abcdef0123456789abcdef");
    sign(SignRequest {
        header: parse_object(header, "header").unwrap(),
        claims: parse_object(claims, "claims").unwrap(),
        alg: None,
        key: Some(&key),
        now: NOW,
        broken: None,
    })
    .unwrap()
}

fn report(t: &str) -> Report {
    inspect(t, &InspectOptions { now: NOW, ..InspectOptions::default() })
}

fn codes(r: &Report) -> Vec<&str> {
    r.findings.iter().map(|f| f.code).collect()
}

#[test]
fn id_jag_is_recognised_by_its_typ_and_complete_claims_raise_nothing() {
    let t = token(
        r#"{"typ":"oauth-id-jag+jwt"}"#,
        r#"{"iss":"https://idp.example","sub":"u1","aud":"https://as.example","client_id":"c1","jti":"j1","iat":"now","exp":"+5m","scope":"chat.read"}"#,
    );
    let r = report(&t);
    assert_eq!(r.explanation.kind, Some(TokenKind::IdJag));
    assert!(r.explanation.kind_reason.as_deref().unwrap().contains("oauth-id-jag+jwt"));
    assert!(!codes(&r).contains(&"JWT_ID_JAG_MISSING_CLAIMS"), "{:?}", codes(&r));
    assert_eq!(serde_json::to_value(&r).unwrap()["explanation"]["kind"], "id_jag");
}

#[test]
fn id_jag_without_client_id_and_jti_names_both() {
    let t = token(
        r#"{"typ":"oauth-id-jag+jwt"}"#,
        r#"{"iss":"https://idp.example","sub":"u1","aud":"https://as.example","iat":"now","exp":"+5m"}"#,
    );
    let r = report(&t);
    let f = r.findings.iter().find(|f| f.code == "JWT_ID_JAG_MISSING_CLAIMS").expect("finding");
    assert_eq!(f.message, "ID-JAG lacks client_id, jti");
    assert_eq!(f.location, "payload");
}

#[test]
fn private_key_jwt_client_assertion_is_recognised() {
    let t = token(
        r#"{}"#,
        r#"{"iss":"client-7","sub":"client-7","aud":"https://as.example/token","jti":"a1","exp":"+1m","iat":"now"}"#,
    );
    let r = report(&t);
    assert_eq!(r.explanation.kind, Some(TokenKind::ClientAssertion));
    assert!(!codes(&r).contains(&"JWT_CLIENT_ASSERTION_MISSING_CLAIMS"), "{:?}", codes(&r));
    assert_eq!(serde_json::to_value(&r).unwrap()["explanation"]["kind"], "client_assertion");
    // Without jti: replayable, reported.
    let t = token(r#"{}"#, r#"{"iss":"client-7","sub":"client-7","aud":"https://as.example/token","exp":"+1m"}"#);
    let f = report(&t).findings.into_iter().find(|f| f.code == "JWT_CLIENT_ASSERTION_MISSING_CLAIMS").expect("finding");
    assert_eq!(f.message, "client assertion lacks jti");
}

#[test]
fn look_alikes_are_not_client_assertions() {
    // iss = sub but an access token's scope / an ID token's nonce / no aud: not a client assertion.
    for claims in [
        r#"{"iss":"x","sub":"x","aud":"api","scope":"read","exp":"+1m"}"#,
        r#"{"iss":"x","sub":"x","aud":"c","nonce":"n","exp":"+1m"}"#,
        r#"{"iss":"x","sub":"x","exp":"+1m"}"#,
        r#"{"iss":"x","sub":"y","aud":"api","exp":"+1m"}"#,
    ] {
        let r = report(&token("{}", claims));
        assert_ne!(r.explanation.kind, Some(TokenKind::ClientAssertion), "{claims}");
    }
    // typ wins over claim shapes.
    let r = report(&token(r#"{"typ":"at+jwt"}"#, r#"{"iss":"x","sub":"x","aud":"api","exp":"+1m"}"#));
    assert_eq!(r.explanation.kind, Some(TokenKind::AccessToken));
}
