//! DPoP proofs (RFC 9449): the proof is verified with the public `jwk` in its own
//! header (section 4.3), its JWK SHA-256 thumbprint (RFC 7638) is computed, and,
//! when the access token it accompanies is given, `ath` and the token's `cnf.jkt`
//! are checked against the proof.
//!
//! A signature that verifies with the proof's own key proves possession of that
//! key, not who owns it: that is what the access token's `cnf.jkt` binds. So this
//! result is kept apart from [`Verification`](super::Verification) (verification
//! with a key the person trusts) and never sets `summary.signatureVerified`.

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::alg::Alg;
use super::b64;
use super::codes::{Code, push};
use super::decode::{self, Decoded};
use super::error::JwtError;
use super::explain::numeric_date;
use super::findings::{clip, typ_eq};
use super::keys::{KeySet, PublicMaterial};
use super::report::{Finding, KeySummary};
use super::verify;

/// Private or symmetric JWK members: a DPoP header `jwk` carrying any of them is
/// refused (RFC 9449 section 4.3: "MUST NOT contain a private key").
pub const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
/// Claims a DPoP proof must carry (RFC 9449 section 4.2).
pub const REQUIRED_CLAIMS: [&str; 4] = ["jti", "htm", "htu", "iat"];
/// Oldest `iat` accepted for a proof, in seconds before `now` (plus the leeway).
/// RFC 9449 section 11.1 leaves the window to the server; a few minutes is usual.
pub const MAX_PROOF_AGE: i64 = 300;

/// How the proof's signature fared against the public key in its own header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProofKeyStatus {
    /// The signature verifies with the header `jwk` over a well-formed token.
    Valid,
    /// The signature does not verify with the header `jwk`.
    Invalid,
    /// The header has no `jwk` object.
    NoKey,
    /// The header `jwk` carries private or symmetric members: refused, not used.
    PrivateKey,
    /// The header `jwk` cannot be used (unsupported, malformed, wrong for `alg`).
    KeyUnusable,
    /// `alg` is missing, `none`, symmetric or unknown, or there is no signature.
    Unsupported,
    /// The input is not one well-formed compact JWS: nothing over it is accepted.
    Malformed,
}

/// Outcome of one binding check between the proof and the access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BindingStatus {
    /// The values are equal.
    Match,
    /// The values differ.
    Mismatch,
    /// The value to check is missing.
    Missing,
    /// Could not be checked (no thumbprint, or an opaque access token).
    Unchecked,
}

/// One binding check: `expected` is computed here, `actual` is what the tokens say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    /// Outcome.
    pub status: BindingStatus,
    /// The value computed by the inspector (hash of the access token, or the proof's thumbprint).
    pub expected: Option<String>,
    /// The value found (`ath` of the proof, or `cnf.jkt` of the access token).
    pub actual: Option<String>,
}

/// What the inspector learned about a DPoP proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DpopReport {
    /// RFC 7638 SHA-256 thumbprint (base64url) of the header `jwk`.
    pub thumbprint: Option<String>,
    /// The header key (source `header.jwk`), when usable.
    pub key: Option<KeySummary>,
    /// The proof's signature against its own header key.
    pub proof_key_status: ProofKeyStatus,
    /// True exactly when `proof_key_status` is `valid`. This is not trust: it says
    /// the sender holds the key whose thumbprint is shown.
    pub proof_key_verified: bool,
    /// One line explaining the outcome.
    pub detail: String,
    /// `htm` of the proof.
    pub htm: Option<String>,
    /// `htu` of the proof.
    pub htu: Option<String>,
    /// Whether an access token was given beside the proof.
    pub access_token_given: bool,
    /// `ath` against the SHA-256 of the given access token.
    pub ath: Option<Binding>,
    /// The access token's `cnf.jkt` against the proof's thumbprint.
    pub jkt: Option<Binding>,
}

/// RFC 7638 JWK thumbprint: base64url SHA-256 of the required members in
/// lexicographic order, no whitespace.
///
/// # Errors
/// `ERR_JWT_KEY_MALFORMED` when a required member is missing or not a string,
/// `ERR_JWT_KEY_UNSUPPORTED` for an unknown `kty`.
pub fn jwk_thumbprint(jwk: &Map<String, Value>) -> Result<String, JwtError> {
    let kty = jwk.get("kty").and_then(Value::as_str).ok_or(JwtError::KeyMalformed("JWK kty"))?;
    let members: &[&str] = match kty {
        "EC" => &["crv", "kty", "x", "y"],
        "RSA" => &["e", "kty", "n"],
        "OKP" => &["crv", "kty", "x"],
        "oct" => &["k", "kty"],
        _ => return Err(JwtError::KeyUnsupported("JWK kty")),
    };
    let mut canon = String::from("{");
    for (i, m) in members.iter().enumerate() {
        let v = jwk
            .get(*m)
            .filter(|v| v.is_string())
            .ok_or(JwtError::KeyMalformed("JWK member required for the thumbprint"))?;
        if i > 0 {
            canon.push(',');
        }
        canon.push('"');
        canon.push_str(m);
        canon.push_str("\":");
        // serde_json writes a string the way RFC 7638 section 3.3 asks (RFC 8259 escaping).
        canon.push_str(&v.to_string());
    }
    canon.push('}');
    Ok(b64::encode(&Sha256::digest(canon.as_bytes())))
}

/// `ath`: base64url SHA-256 of the access token's ASCII (RFC 9449 section 4.2).
#[must_use]
pub fn access_token_hash(access_token: &str) -> String {
    b64::encode(&Sha256::digest(access_token.as_bytes()))
}

/// The bare access token: surrounding whitespace and a `DPoP `/`Bearer ` scheme removed.
#[must_use]
pub fn bare_access_token(text: &str) -> &str {
    let t = text.trim();
    for scheme in ["dpop ", "bearer "] {
        if t.len() > scheme.len() && t.is_char_boundary(scheme.len()) && t[..scheme.len()].eq_ignore_ascii_case(scheme)
        {
            return t[scheme.len()..].trim_start();
        }
    }
    t
}

/// Every DPoP rule for a token that is a DPoP proof (by `typ` or shape).
/// `defect` names a structural problem of the input (then nothing is accepted).
pub fn check(
    d: &Decoded,
    access_token: Option<&str>,
    now: i64,
    leeway: i64,
    defect: Option<&str>,
    out: &mut Vec<Finding>,
) -> DpopReport {
    let header = d.header.as_ref();
    let typed = d.header_str("typ").is_some_and(|t| typ_eq(t, "dpop+jwt"));
    if typed {
        // The key in a proof's header is how DPoP works (section 4.3): not an untrusted-key finding.
        out.retain(|f| f.code != Code::HeaderJwk.as_str());
    } else {
        let shown = d.header_str("typ").map_or_else(|| "missing".to_owned(), |t| format!("\"{}\"", clip(t, 40)));
        push(
            out,
            Code::DpopTypInvalid,
            "header.typ",
            format!("a DPoP proof must have typ \"dpop+jwt\"; typ is {shown}"),
        );
    }
    let mut r = DpopReport {
        thumbprint: None,
        key: None,
        proof_key_status: ProofKeyStatus::NoKey,
        proof_key_verified: false,
        detail: String::new(),
        htm: None,
        htu: None,
        access_token_given: false,
        ath: None,
        jkt: None,
    };
    let alg = alg_rule(d, out);
    proof_key(d, alg, defect, &mut r, out);
    if let Some(p) = &d.payload {
        claim_rules(p, now, leeway, &mut r, out);
    } else if header.is_some() {
        push(
            out,
            Code::DpopClaimMissing,
            "payload",
            "the proof has no claims object: jti, htm, htu and iat are required".to_owned(),
        );
    }
    if let Some(at) = access_token.map(bare_access_token).filter(|t| !t.is_empty()) {
        r.access_token_given = true;
        binding_rules(d, at, &mut r, out);
    }
    r
}

fn alg_rule(d: &Decoded, out: &mut Vec<Finding>) -> Option<Alg> {
    let name = d.header_str("alg");
    let alg = name.and_then(Alg::parse);
    let why = match (name, alg) {
        (_, Some(a)) if !a.is_hmac() => return Some(a),
        (_, Some(a)) => {
            format!("alg {} is symmetric: a DPoP proof is signed with the private key of its header jwk", a.name())
        }
        (Some(n), None) if n.eq_ignore_ascii_case("none") => {
            "alg none: a DPoP proof must be signed with an asymmetric algorithm".to_owned()
        }
        (Some(n), None) => format!("alg \"{}\" is not a supported asymmetric algorithm", clip(n, 40)),
        (None, None) => "no alg: a DPoP proof must name an asymmetric algorithm".to_owned(),
    };
    push(out, Code::DpopAlgNotAsymmetric, "header.alg", why);
    None
}

fn proof_key(d: &Decoded, alg: Option<Alg>, defect: Option<&str>, r: &mut DpopReport, out: &mut Vec<Finding>) {
    let Some(jwk_value) = d.header.as_ref().and_then(|h| h.get("jwk")) else {
        "the header has no jwk: a DPoP proof carries its public key there".clone_into(&mut r.detail);
        push(out, Code::DpopJwkMissing, "header.jwk", r.detail.clone());
        return;
    };
    let Some(jwk) = jwk_value.as_object() else {
        "the header jwk is not a JSON object".clone_into(&mut r.detail);
        push(out, Code::DpopJwkMissing, "header.jwk", r.detail.clone());
        return;
    };
    let private: Vec<&str> = PRIVATE_MEMBERS.iter().copied().filter(|m| jwk.contains_key(*m)).collect();
    if !private.is_empty() {
        r.proof_key_status = ProofKeyStatus::PrivateKey;
        // Names only: the values are secret and never copied into a message.
        r.detail = format!(
            "the header jwk carries private or symmetric members ({}): refused, not used to verify",
            private.join(", ")
        );
        push(
            out,
            Code::DpopPrivateKey,
            "header.jwk",
            format!("the header jwk contains {}: the sender has published its private key", private.join(", ")),
        );
        return;
    }
    match jwk_thumbprint(jwk) {
        Ok(t) => r.thumbprint = Some(t),
        Err(e) => {
            r.proof_key_status = ProofKeyStatus::KeyUnusable;
            r.detail = format!("the header jwk has no thumbprint: {e}");
            push(out, Code::DpopJwkInvalid, "header.jwk", r.detail.clone());
            return;
        }
    }
    // Parsed through the one JWK reader; a `keys` member would make it a JWKS.
    let parsed = if jwk.contains_key("keys") {
        Err(JwtError::KeyMalformed("a JWK, not a JWKS, is expected"))
    } else {
        KeySet::parse(&Value::Object(jwk.clone()).to_string())
    };
    let mut key = match parsed.map(|s| s.keys.into_iter().next()) {
        Ok(Some(k)) if !matches!(k.material, PublicMaterial::Hmac(_)) => k,
        Ok(_) => {
            r.proof_key_status = ProofKeyStatus::KeyUnusable;
            "the header jwk is not a public key".clone_into(&mut r.detail);
            push(out, Code::DpopJwkInvalid, "header.jwk", r.detail.clone());
            return;
        }
        Err(e) => {
            r.proof_key_status = ProofKeyStatus::KeyUnusable;
            r.detail = format!("the header jwk is unusable: {e}");
            push(out, Code::DpopJwkInvalid, "header.jwk", r.detail.clone());
            return;
        }
    };
    "header.jwk".clone_into(&mut key.source);
    r.key = Some(key.summary());
    if let PublicMaterial::Rsa(_) = key.material {
        let bits = key.material.bits();
        if bits < 2048 {
            push(out, Code::KeyRsaTooSmall, "header.jwk", format!("the proof's RSA key is {bits} bits"));
        }
    }
    let Some(alg) = alg else {
        r.proof_key_status = ProofKeyStatus::Unsupported;
        "not verified: alg is not an asymmetric algorithm".clone_into(&mut r.detail);
        return;
    };
    if let Some(why) = key.mismatch(alg) {
        r.proof_key_status = ProofKeyStatus::KeyUnusable;
        r.detail = format!("the header jwk cannot verify this proof: {why}");
        push(out, Code::DpopJwkInvalid, "header.jwk", r.detail.clone());
        return;
    }
    if !d.signature_decoded || d.signature.is_empty() || d.signing_input.is_empty() {
        r.proof_key_status = ProofKeyStatus::Unsupported;
        "not verified: the signature segment is missing, empty or undecodable".clone_into(&mut r.detail);
        return;
    }
    match verify::verify_signature(alg, &key.material, &d.signing_input, &d.signature) {
        Ok(()) if defect.is_none() => {
            r.proof_key_status = ProofKeyStatus::Valid;
            r.proof_key_verified = true;
            r.detail = format!(
                "the proof's signature verifies with the {} key in its own header",
                key.material.crv().unwrap_or(key.material.kty())
            );
        }
        Ok(()) => {
            r.proof_key_status = ProofKeyStatus::Malformed;
            r.detail = format!(
                "not well-formed ({}); the signature matches its literal bytes but is not accepted",
                defect.unwrap_or_default()
            );
        }
        Err(_) => {
            r.proof_key_status = ProofKeyStatus::Invalid;
            "the proof's signature does not verify with the key in its own header".clone_into(&mut r.detail);
            push(out, Code::DpopSignatureInvalid, "signature", r.detail.clone());
        }
    }
}

fn claim_rules(p: &Map<String, Value>, now: i64, leeway: i64, r: &mut DpopReport, out: &mut Vec<Finding>) {
    for name in REQUIRED_CLAIMS {
        let loc = format!("payload.{name}");
        match p.get(name) {
            None => push(
                out,
                Code::DpopClaimMissing,
                &loc,
                format!("the proof has no {name} (required by RFC 9449 section 4.2)"),
            ),
            Some(v) if name == "iat" => {
                if numeric_date(v).is_none() {
                    push(out, Code::DpopClaimMissing, &loc, "iat is not a NumericDate".to_owned());
                }
            }
            Some(v) if v.as_str().is_none_or(str::is_empty) => {
                push(out, Code::DpopClaimMissing, &loc, format!("{name} must be a non-empty string"))
            }
            Some(_) => {}
        }
    }
    r.htm = p.get("htm").and_then(Value::as_str).map(|s| clip(s, 64));
    r.htu = p.get("htu").and_then(Value::as_str).map(|s| clip(s, 512));
    if let Some(htu) = p.get("htu").and_then(Value::as_str) {
        let lower = htu.to_ascii_lowercase();
        if !(lower.starts_with("https://") || lower.starts_with("http://")) {
            push(
                out,
                Code::DpopHtuInvalid,
                "payload.htu",
                "htu must be the absolute http(s) URI of the request".to_owned(),
            );
        } else if htu.contains(['?', '#']) {
            push(
                out,
                Code::DpopHtuInvalid,
                "payload.htu",
                "htu must not carry a query or fragment (RFC 9449 section 4.2)".to_owned(),
            );
        }
    }
    if let Some(iat) = p.get("iat").and_then(numeric_date) {
        let age = now.saturating_sub(iat);
        if age > MAX_PROOF_AGE.saturating_add(leeway.max(0)) {
            push(
                out,
                Code::DpopStale,
                "payload.iat",
                format!(
                    "the proof was made {} ago; servers accept proofs only minutes old",
                    super::time::duration(age.unsigned_abs())
                ),
            );
        }
    }
}

fn binding_rules(d: &Decoded, at: &str, r: &mut DpopReport, out: &mut Vec<Finding>) {
    let expected = access_token_hash(at);
    let ath = d.payload.as_ref().and_then(|p| p.get("ath"));
    let status = match ath {
        None => {
            push(
                out,
                Code::DpopAthMissing,
                "payload.ath",
                "an access token was given but the proof has no ath: it is not bound to that token".to_owned(),
            );
            BindingStatus::Missing
        }
        Some(Value::String(s)) if *s == expected => BindingStatus::Match,
        Some(_) => {
            push(
                out,
                Code::DpopAthMismatch,
                "payload.ath",
                "ath is not the SHA-256 of the given access token: the proof was made for another token".to_owned(),
            );
            BindingStatus::Mismatch
        }
    };
    r.ath =
        Some(Binding { status, expected: Some(expected), actual: ath.and_then(Value::as_str).map(|s| clip(s, 64)) });

    let atd = decode::decode_unverified(at);
    let jkt = atd.payload.as_ref().map(|p| p.get("cnf").and_then(Value::as_object).and_then(|c| c.get("jkt")));
    let actual = jkt.flatten().and_then(Value::as_str).map(|s| clip(s, 64));
    let status = match (jkt, &r.thumbprint) {
        (None, _) => {
            push(out, Code::DpopJktUnchecked, "access_token", "the access token is not a readable JWT: its cnf.jkt binding is known only to the server (token introspection)".to_owned());
            BindingStatus::Unchecked
        }
        (Some(None), _) => {
            push(
                out,
                Code::DpopJktMissing,
                "access_token.cnf",
                "the access token has no cnf.jkt: it is not bound to a DPoP key".to_owned(),
            );
            BindingStatus::Missing
        }
        (Some(Some(_)), None) => BindingStatus::Unchecked,
        (Some(Some(v)), Some(t)) if v.as_str() == Some(t.as_str()) => BindingStatus::Match,
        (Some(Some(_)), Some(_)) => {
            push(out, Code::DpopJktMismatch, "header.jwk", "the access token's cnf.jkt is not the thumbprint of the proof's key: the token is bound to another key".to_owned());
            BindingStatus::Mismatch
        }
    };
    r.jkt = Some(Binding { status, expected: r.thumbprint.clone(), actual });
}
