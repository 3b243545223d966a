//! One crafted token per finding code proving it fires, a clean token proving
//! none fire, a frozen clock throughout; plus a check that the table covers the
//! whole catalogue, so a new code cannot ship without its test.

use std::collections::BTreeSet;

use sealpost_core::jwt::{
    Alg, Code, InspectOptions, KeySet, MAX_TOKEN, Policy, SignKey, VerifyStatus, inspect, sign_bytes,
};

const NOW: i64 = 1_800_000_000;
const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwt/");

fn file(name: &str) -> String {
    std::fs::read_to_string(format!("{FIX}{name}")).unwrap()
}
fn b64(b: &[u8]) -> String {
    sealpost_core::jwt::b64::encode(b)
}
fn ec_key() -> SignKey {
    SignKey::parse(&file("ecp256.key")).unwrap()
}
/// Sign raw header/payload bytes (so duplicates and broken JSON are possible).
fn mk_raw(header: &[u8], payload: &[u8], alg: Alg, key: &SignKey) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let sig = sign_bytes(alg, key, input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&sig))
}
fn mk(header: &str, payload: &str) -> String {
    mk_raw(header.as_bytes(), payload.as_bytes(), Alg::ES256, &ec_key())
}
fn hs(header: &str, payload: &str, secret: &[u8]) -> String {
    mk_raw(header.as_bytes(), payload.as_bytes(), Alg::HS256, &SignKey::secret(secret))
}

const HDR: &str = r#"{"alg":"ES256","typ":"at+jwt","kid":"k1"}"#;
fn claims_with(extra: &str) -> String {
    let base = format!(
        r#""iss":"https://issuer.example","sub":"user-123","aud":"api://default","client_id":"app-1","iat":{},"exp":{},"jti":"abc","scope":"read write""#,
        NOW - 60,
        NOW + 600
    );
    if extra.is_empty() { format!("{{{base}}}") } else { format!("{{{base},{extra}}}") }
}
fn clean() -> String {
    mk(HDR, &claims_with(""))
}
fn opts() -> InspectOptions {
    InspectOptions {
        now: NOW,
        policy: Policy {
            issuer: vec!["https://issuer.example".into()],
            audience: vec!["api://default".into()],
            typ: Some("at+jwt".into()),
            ..Policy::default()
        },
        keys: KeySet::parse(&file("ecp256.pub")).unwrap(),
        access_token: None,
    }
}
fn no_policy() -> InspectOptions {
    InspectOptions { keys: KeySet::parse(&file("ecp256.pub")).unwrap(), ..InspectOptions::at(NOW) }
}
fn with_keys(keys: KeySet) -> InspectOptions {
    InspectOptions { keys, ..opts() }
}
fn der_sig(p1363: &[u8]) -> Vec<u8> {
    fn int(v: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = v.iter().copied().skip_while(|&b| b == 0).collect();
        if v.first().is_some_and(|&b| b & 0x80 != 0) {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    }
    let (r, s) = p1363.split_at(p1363.len() / 2);
    let body = [int(r), int(s)].concat();
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}
fn replace_sig(token: &str, sig: &[u8]) -> String {
    let i = token.rfind('.').unwrap();
    format!("{}.{}", &token[..i], b64(sig))
}
fn sig_of(token: &str) -> Vec<u8> {
    sealpost_core::jwt::b64::decode(token.rsplit('.').next().unwrap().as_bytes()).unwrap().0
}
fn nested_act(depth: usize) -> String {
    let mut s = r#"{"sub":"agent-0"}"#.to_string();
    for i in 1..depth {
        s = format!(r#"{{"sub":"agent-{i}","act":{s}}}"#);
    }
    s
}

/// The fixture P-256 key as a public JWK (the key of `ec_key()`).
const EC_JWK: &str = r#"{"kty":"EC","x":"sjvvylxugbrQ7lh35VhGzfTGNFn4Q_7i5u-cq9pnQLY","y":"Y9_1Feh4zMwPDIhWX6P6LG-I02Jjfcw4PI5l-wpm6nU","crv":"P-256"}"#;
/// A DPoP proof signed by `ec_key()`, its header naming `jwk`, with claims `extra` added.
fn dpop(alg: &str, jwk: &str, extra: &str) -> String {
    let claims = format!(
        r#"{{"jti":"p1","htm":"GET","htu":"https://r.example/x","iat":{NOW}{}{extra}}}"#,
        if extra.is_empty() { "" } else { "," }
    );
    mk(&format!(r#"{{"typ":"dpop+jwt","alg":"{alg}","jwk":{jwk}}}"#), &claims)
}
fn with_at(at: &str) -> InspectOptions {
    InspectOptions { access_token: Some(at.to_owned()), ..InspectOptions::at(NOW) }
}
fn bound_at(jkt: &str) -> String {
    mk(HDR, &claims_with(&format!(r#""cnf":{{"jkt":"{jkt}"}}"#)))
}

fn cases() -> Vec<(Code, String, InspectOptions)> {
    let o = opts;
    let at = bound_at("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
    let ath = sealpost_core::jwt::access_token_hash(&at);
    let jwks2 = format!(
        r#"{{"keys":[{}]}}"#,
        r#"{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#
    );
    let rfc_a3 = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
    let two_unnamed = format!(r#"{{"keys":[{rfc_a3},{rfc_a3}]}}"#);
    let rsa_pub = file("rsa2048.pub");
    let good_secret = b"0123456789abcdef0123456789abcdef0123456789abcdef";
    vec![
        (Code::InputTooLarge, "a".repeat(MAX_TOKEN + 1), o()),
        (Code::NonCompactInput, format!("Bearer {}", clean()), o()),
        (Code::Malformed, "abc.def".into(), o()),
        (Code::B64Invalid, clean().replacen('.', ".$", 1), o()),
        (Code::B64NonCanonical, format!("{}==", clean()), o()),
        (Code::HeaderNotUtf8, mk_raw(&[0xff, 0xfe], claims_with("").as_bytes(), Alg::ES256, &ec_key()), o()),
        (Code::HeaderNotJsonObject, mk("[1,2]", &claims_with("")), o()),
        (Code::PayloadNotUtf8, mk_raw(HDR.as_bytes(), &[0x7b, 0xc3, 0x28, 0x7d], Alg::ES256, &ec_key()), o()),
        (Code::PayloadNotJsonObject, mk(HDR, r#"{"sub": oops}"#), o()),
        (Code::DuplicateHeaderParam, mk(r#"{"alg":"ES256","typ":"at+jwt","typ":"JWT"}"#, &claims_with("")), o()),
        (Code::DuplicateClaim, mk(HDR, &claims_with(r#""sub":"admin""#)), o()),
        (Code::JsonSerialization, {
            let t = clean();
            let p: Vec<&str> = t.split('.').collect();
            format!(r#"{{"protected":"{}","payload":"{}","signature":"{}"}}"#, p[0], p[1], p[2])
        }, o()),
        (Code::Encrypted, format!("{}.a2V5.aXY.Y2lwaGVy.dGFn", b64(br#"{"alg":"RSA-OAEP-256","enc":"A256GCM"}"#)), o()),
        (Code::Nested, hs(r#"{"alg":"HS256","cty":"JWT","typ":"JWT"}"#, &clean(), good_secret), o()),
        (Code::AlgMissing, mk(r#"{"typ":"at+jwt"}"#, &claims_with("")), o()),
        (Code::AlgNone, format!("{}.{}.", b64(br#"{"alg":"nOnE","typ":"at+jwt"}"#), b64(claims_with("").as_bytes())), o()),
        (Code::AlgUnknown, mk(r#"{"alg":"HS1","typ":"at+jwt"}"#, &claims_with("")), o()),
        (Code::SignatureEmpty, format!("{}.", &clean()[..clean().rfind('.').unwrap()]), o()),
        (Code::SignatureInvalid, mk_raw(HDR.as_bytes(), claims_with("").as_bytes(), Alg::ES256, &SignKey::parse(r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#).unwrap()), o()),
        (Code::SignatureUnverified, mk(r#"{"alg":"foo","typ":"at+jwt"}"#, &claims_with("")), o()),
        (Code::SignatureLength, replace_sig(&clean(), &[7u8; 63]), o()),
        (Code::EcdsaDerSignature, { let t = clean(); replace_sig(&t, &der_sig(&sig_of(&t))) }, o()),
        (Code::EcdsaPsychicSignature, replace_sig(&clean(), &[0u8; 64]), o()),
        (Code::KeyConfusion, hs(r#"{"alg":"HS256","typ":"at+jwt"}"#, &claims_with(""), rsa_pub.as_bytes()), with_keys(KeySet::parse(&rsa_pub).unwrap())),
        (Code::HmacEmptySecret, hs(r#"{"alg":"HS256","typ":"at+jwt"}"#, &claims_with(""), b""), o()),
        (Code::HmacWeakSecret, hs(r#"{"alg":"HS256","typ":"at+jwt"}"#, &claims_with(""), b"your-256-bit-secret"), o()),
        (Code::HeaderJwk, mk(r#"{"alg":"ES256","typ":"at+jwt","jwk":{"kty":"EC"}}"#, &claims_with("")), o()),
        (Code::HeaderJku, mk(r#"{"alg":"ES256","typ":"at+jwt","jku":"https://evil.example/jwks"}"#, &claims_with("")), o()),
        (Code::HeaderX5u, mk(r#"{"alg":"ES256","typ":"at+jwt","x5u":"https://evil.example/c.pem"}"#, &claims_with("")), o()),
        (Code::HeaderX5c, mk(r#"{"alg":"ES256","typ":"at+jwt","x5c":["MIIB"]}"#, &claims_with("")), o()),
        (Code::KidPathTraversal, mk(r#"{"alg":"ES256","typ":"at+jwt","kid":"../../../../dev/null"}"#, &claims_with("")), o()),
        (Code::KidSqlInjection, mk(r#"{"alg":"ES256","typ":"at+jwt","kid":"x' OR '1'='1"}"#, &claims_with("")), o()),
        (Code::KidShellInjection, mk(r#"{"alg":"ES256","typ":"at+jwt","kid":"k1|curl evil.example"}"#, &claims_with("")), o()),
        (Code::KidUrl, mk(r#"{"alg":"ES256","typ":"at+jwt","kid":"https://evil.example/key"}"#, &claims_with("")), o()),
        (Code::KidNul, mk(r#"{"alg":"ES256","typ":"at+jwt","kid":"k1\u0000.pem"}"#, &claims_with("")), o()),
        (Code::AlgKeyMismatch, mk_raw(br#"{"alg":"RS256","typ":"at+jwt"}"#, claims_with("").as_bytes(), Alg::RS256, &SignKey::parse(&file("rsa2048.key")).unwrap()), o()),
        (Code::KeyRsaTooSmall, mk_raw(br#"{"alg":"RS256","typ":"at+jwt"}"#, claims_with("").as_bytes(), Alg::RS256, &SignKey::parse(&file("rsa1024.key")).unwrap()), with_keys(KeySet::parse(&file("rsa1024.pub")).unwrap())),
        (Code::KeyHmacTooShort, hs(r#"{"alg":"HS256","typ":"at+jwt"}"#, &claims_with(""), b"short-not-listed"), with_keys(KeySet::secret_utf8("short-not-listed"))),
        (Code::NoMatchingKey, mk(r#"{"alg":"ES256","typ":"at+jwt","kid":"k2"}"#, &claims_with("")), with_keys(KeySet::parse(&jwks2).unwrap())),
        (Code::SeveralKeysMatch, clean(), with_keys(KeySet::parse(&two_unnamed).unwrap())),
        (Code::NotVerified, clean(), InspectOptions { keys: KeySet::default(), ..o() }),
        (Code::CritEmpty, mk(r#"{"alg":"ES256","typ":"at+jwt","crit":[]}"#, &claims_with("")), o()),
        (Code::CritMalformed, mk(r#"{"alg":"ES256","typ":"at+jwt","crit":"exp"}"#, &claims_with("")), o()),
        (Code::CritUnknown, mk(r#"{"alg":"ES256","typ":"at+jwt","crit":["http://example.com/ext"],"http://example.com/ext":true}"#, &claims_with("")), o()),
        (Code::CritRegistered, mk(r#"{"alg":"ES256","typ":"at+jwt","crit":["alg"]}"#, &claims_with("")), o()),
        (Code::TypMissing, mk(r#"{"alg":"ES256"}"#, &claims_with("")), no_policy()),
        (Code::TypMismatch, mk(r#"{"alg":"ES256","typ":"JWT"}"#, &claims_with("")), o()),
        (Code::ExpMissing, mk(HDR, &claims_with("").replace(&format!(r#""exp":{},"#, NOW + 600), "")), o()),
        (Code::Expired, mk(HDR, &claims_with("").replace(&(NOW + 600).to_string(), &(NOW - 3600).to_string())), o()),
        (Code::LifetimeTooLong, mk(HDR, &claims_with("").replace(&(NOW + 600).to_string(), &(NOW + 7 * 86400).to_string())), o()),
        (Code::NbfFuture, mk(HDR, &claims_with(&format!(r#""nbf":{}"#, NOW + 300))), o()),
        (Code::IatFuture, mk(HDR, &claims_with("").replace(&(NOW - 60).to_string(), &(NOW + 300).to_string())), o()),
        (Code::NbfAfterExp, mk(HDR, &claims_with(&format!(r#""nbf":{}"#, NOW + 900))), o()),
        (Code::NumericDateMalformed, mk(HDR, &claims_with("").replace(&(NOW + 600).to_string(), "\"tomorrow\"")), o()),
        (Code::TooOld, mk(HDR, &claims_with("")), InspectOptions { policy: Policy { max_age: Some(10), leeway: 0, ..opts().policy }, ..o() }),
        (Code::AudMissing, mk(HDR, &claims_with("").replace(r#""aud":"api://default","#, "")), o()),
        (Code::AudMismatch, mk(HDR, &claims_with("").replace("api://default", "api://other")), o()),
        (Code::IssMissing, mk(HDR, &claims_with("").replace(r#""iss":"https://issuer.example","#, "")), o()),
        (Code::IssMismatch, mk(HDR, &claims_with("").replace("https://issuer.example", "https://evil.example")), o()),
        (Code::RequiredClaimMissing, clean(), InspectOptions { policy: Policy { required_claims: vec!["tenant".into()], ..opts().policy }, ..o() }),
        (Code::AtJwtMissingClaims, mk(HDR, &claims_with("").replace(r#","jti":"abc""#, "")), o()),
        (Code::IdJagMissingClaims, mk(r#"{"alg":"ES256","typ":"oauth-id-jag+jwt","kid":"k1"}"#, &format!(r#"{{"iss":"https://idp.example","sub":"u","aud":"https://as.example","jti":"j","exp":{},"iat":{}}}"#, NOW + 60, NOW)), InspectOptions { policy: Policy { typ: None, ..opts().policy }, ..o() }),
        (Code::ClientAssertionMissingClaims, mk(r#"{"alg":"ES256","typ":"JWT","kid":"k1"}"#, &format!(r#"{{"iss":"app-1","sub":"app-1","aud":"https://as.example/token","exp":{}}}"#, NOW + 60)), InspectOptions { policy: Policy { typ: None, issuer: vec![], audience: vec![], ..opts().policy }, ..o() }),
        (Code::IdTokenAzpMissing, mk(r#"{"alg":"ES256","typ":"JWT"}"#, &format!(r#"{{"iss":"https://issuer.example","sub":"u","aud":["api://default","b"],"exp":{},"iat":{},"nonce":"n"}}"#, NOW + 60, NOW)), InspectOptions { policy: Policy { typ: None, ..opts().policy }, ..o() }),
        (Code::ActTooDeep, mk(HDR, &claims_with(&format!(r#""act":{}"#, nested_act(6)))), o()),
        (Code::ActSelfDelegation, mk(HDR, &claims_with(r#""act":{"sub":"user-123"}"#)), o()),
        (Code::ActNotAllowed, mk(HDR, &claims_with(r#""act":{"sub":"svc-b"},"may_act":{"sub":"svc-a"}"#)), o()),
        (Code::ActMalformed, mk(HDR, &claims_with(r#""act":"svc-b""#)), o()),
        (Code::CnfMalformed, mk(HDR, &claims_with(r#""cnf":{"jkt":"not-a-thumbprint"}"#)), o()),
        (Code::AuthzDetailsMalformed, mk(HDR, &claims_with(r#""authorization_details":[{"actions":["read"]}]"#)), o()),
        (Code::DpopTypInvalid, mk(&format!(r#"{{"typ":"JWT","alg":"ES256","jwk":{EC_JWK}}}"#), r#"{"jti":"p1","htm":"GET","htu":"https://r.example/x","iat":1800000000}"#), InspectOptions::at(NOW)),
        (Code::DpopAlgNotAsymmetric, hs(&format!(r#"{{"typ":"dpop+jwt","alg":"HS256","jwk":{EC_JWK}}}"#), r#"{"jti":"p1","htm":"GET","htu":"https://r.example/x","iat":1800000000}"#, good_secret), InspectOptions::at(NOW)),
        (Code::DpopJwkMissing, mk(r#"{"typ":"dpop+jwt","alg":"ES256"}"#, r#"{"jti":"p1","htm":"GET","htu":"https://r.example/x","iat":1800000000}"#), InspectOptions::at(NOW)),
        (Code::DpopJwkInvalid, dpop("ES256", r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}"#, ""), InspectOptions::at(NOW)),
        (Code::DpopPrivateKey, dpop("ES256", &EC_JWK.replace(r#""crv""#, r#""d":"LCd6-TYfFDWnSepNmyP_jlZo-RydhEWIsVmnhkmq-q0","crv""#), ""), InspectOptions::at(NOW)),
        (Code::DpopSignatureInvalid, { let t = dpop("ES256", EC_JWK, ""); replace_sig(&t, &sig_of(&dpop("ES256", EC_JWK, r#""x":1"#))) }, InspectOptions::at(NOW)),
        (Code::DpopClaimMissing, mk(&format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{EC_JWK}}}"#), r#"{"jti":"p1","htm":"GET","htu":"https://r.example/x"}"#), InspectOptions::at(NOW)),
        (Code::DpopHtuInvalid, mk(&format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{EC_JWK}}}"#), r#"{"jti":"p1","htm":"GET","htu":"https://r.example/x?q=1","iat":1800000000}"#), InspectOptions::at(NOW)),
        (Code::DpopStale, mk(&format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{EC_JWK}}}"#), &format!(r#"{{"jti":"p1","htm":"GET","htu":"https://r.example/x","iat":{}}}"#, NOW - 3600)), InspectOptions::at(NOW)),
        (Code::DpopAthMissing, dpop("ES256", EC_JWK, ""), with_at(&at)),
        (Code::DpopAthMismatch, dpop("ES256", EC_JWK, r#""ath":"fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo""#), with_at(&at)),
        (Code::DpopJktMissing, { let a = clean(); dpop("ES256", EC_JWK, &format!(r#""ath":"{}""#, sealpost_core::jwt::access_token_hash(&a))) }, with_at(&clean())),
        (Code::DpopJktMismatch, dpop("ES256", EC_JWK, &format!(r#""ath":"{ath}""#)), with_at(&at)),
        (Code::DpopJktUnchecked, dpop("ES256", EC_JWK, r#""ath":"fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo""#), with_at("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU")),
        (Code::PiiEmail, mk(HDR, &claims_with(r#""contact":"alice@example.com""#)), o()),
        (Code::PiiPhone, mk(HDR, &claims_with(r#""reach":"+1 415 555 2671""#)), o()),
        (Code::PiiName, mk(HDR, &claims_with(r#""given_name":"Alice""#)), o()),
        (Code::PiiAddress, mk(HDR, &claims_with(r#""address":{"street_address":"1 Main St"}"#)), o()),
        (Code::PiiBirthdate, mk(HDR, &claims_with(r#""birthdate":"1990-01-31""#)), o()),
        (Code::PiiGovernmentId, mk(HDR, &claims_with(r#""ref":"123-45-6789""#)), o()),
        (Code::PiiCardNumber, mk(HDR, &claims_with(r#""pay":"4111 1111 1111 1111""#)), o()),
        (Code::PrivateKeyInPayload, mk(HDR, &claims_with(r#""key":{"kty":"oct","k":"c2VjcmV0"}"#)), o()),
        (Code::SecretInPayload, mk(HDR, &claims_with(r#""password":"hunter2""#)), o()),
    ]
}

#[test]
fn clean_token_has_no_findings() {
    let r = inspect(&clean(), &opts());
    assert_eq!(r.verification.status, VerifyStatus::Valid, "{:?}", r.verification);
    assert!(r.findings.is_empty(), "clean token fired: {:#?}", r.findings);
    assert_eq!(r.summary.highest, None);
}

#[test]
fn every_code_fires_on_its_crafted_token() {
    let mut covered = BTreeSet::new();
    for (code, token, o) in cases() {
        let r = inspect(&token, &o);
        assert!(
            r.has(code.as_str()),
            "{} did not fire; got {:#?}",
            code.as_str(),
            r.findings.iter().map(|f| (f.code, &f.message)).collect::<Vec<_>>()
        );
        let f = r.findings.iter().find(|f| f.code == code.as_str()).unwrap();
        assert!(!f.fix.is_empty() && !f.location.is_empty() && !f.message.is_empty());
        covered.insert(code.as_str());
    }
    let all: BTreeSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    let missing: Vec<_> = all.difference(&covered).collect();
    assert!(missing.is_empty(), "codes without a crafted token: {missing:?}");
}

#[test]
fn psychic_signature_is_never_valid_and_weak_secret_is_named() {
    let r = inspect(&replace_sig(&clean(), &[0u8; 64]), &opts());
    assert_ne!(r.verification.status, VerifyStatus::Valid);
    let r = inspect(&hs(r#"{"alg":"HS256"}"#, "{}", b"your-256-bit-secret"), &InspectOptions::at(NOW));
    assert!(r.findings.iter().any(|f| f.message.contains("your-256-bit-secret")));
}

#[test]
fn parse_problems_are_precise() {
    let t = clean();
    let dot = t.find('.').unwrap();
    let bad = format!("{}$", &t[..dot + 5]) + &t[dot + 6..];
    let r = inspect(&bad, &opts());
    let f = r.findings.iter().find(|f| f.code == "JWT_B64_INVALID").unwrap();
    assert_eq!(f.location, "payload");
    assert!(f.message.contains("byte 4") && f.message.contains(&format!("token offset {}", dot + 5)), "{}", f.message);
    // a malformed token still yields a report with the header decoded
    assert!(r.header.is_some());
}

#[test]
fn explanation_times_act_chain_and_kind() {
    let t = mk(
        HDR,
        &claims_with(&format!(
            r#""act":{},"cnf":{{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}},"authorization_details":[{{"type":"payment","actions":["initiate"]}}]"#,
            nested_act(3)
        )),
    );
    let r = inspect(&t, &opts());
    let e = &r.explanation;
    assert_eq!(e.kind, Some(sealpost_core::jwt::TokenKind::AccessToken));
    let exp = e.times.iter().find(|t| t.claim == "exp").unwrap();
    assert_eq!(exp.relative.as_deref(), Some("in 10m"));
    assert_eq!(exp.utc.as_deref(), Some("2027-01-15T08:10:00Z"));
    let subs: Vec<_> = e.act_chain.iter().map(|a| a.sub.clone().unwrap()).collect();
    assert_eq!(subs, ["agent-2", "agent-1", "agent-0"]);
    assert_eq!(e.confirmation.as_ref().unwrap().method, "dpop");
    assert_eq!(e.authorization_details[0].kind.as_deref(), Some("payment"));
    assert_eq!(e.scopes, ["read", "write"]);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}
