//! The rules over the header (alg, embedded keys, kid, crit, typ) and the
//! signature shape, and the message helpers the rules share. The codes they
//! report are catalogued in `codes.rs`.

use serde_json::{Map, Value};

use super::alg::Alg;
use super::codes::{Code, push, push_sev};
use super::report::{Finding, Severity};
use super::verify;

/// Header parameters registered by JWS/JWE/JWA (not allowed in `crit`).
const REGISTERED_HEADER: &[&str] = &[
    "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit", "enc", "zip", "epk", "apu",
    "apv", "iv", "tag", "p2s", "p2c",
];

/// Rules over the header (alg, embedded keys, kid, crit, typ) and the signature shape.
pub fn header_rules(
    out: &mut Vec<Finding>,
    header: &Map<String, Value>,
    sig: &[u8],
    sig_decoded: bool,
    expected_typ: Option<&str>,
    crit_understood: &[String],
    encrypted: bool,
) {
    match header.get("alg") {
        None => push(out, Code::AlgMissing, "header.alg", "the header has no alg".to_owned()),
        Some(Value::String(a)) if a.eq_ignore_ascii_case("none") => {
            push(
                out,
                Code::AlgNone,
                "header.alg",
                format!("alg is \"{a}\": the token is unsigned and anyone can forge it"),
            );
        }
        Some(Value::String(a)) if !encrypted && Alg::parse(a).is_none() => {
            push(
                out,
                Code::AlgUnknown,
                "header.alg",
                format!("alg \"{}\" is not a supported JWS algorithm", clip(a, 40)),
            );
        }
        Some(Value::String(_)) => {}
        Some(_) => push(out, Code::AlgUnknown, "header.alg", "alg is not a string".to_owned()),
    }
    let alg = header.get("alg").and_then(Value::as_str);
    if !encrypted && sig_decoded && sig.is_empty() && !alg.is_some_and(|a| a.eq_ignore_ascii_case("none")) {
        push(out, Code::SignatureEmpty, "signature", "the signature segment is empty".to_owned());
    }
    if let Some(a) = alg.and_then(Alg::parse)
        && !sig.is_empty()
    {
        signature_shape(out, a, sig);
    }
    for (name, code, what) in [
        (
            "jwk",
            Code::HeaderJwk,
            "embeds a public key (jwk); a verifier that trusts it accepts tokens signed by anyone",
        ),
        (
            "jku",
            Code::HeaderJku,
            "names a JWKS URL (jku); fetching it lets the sender choose the key (and enables SSRF)",
        ),
        (
            "x5u",
            Code::HeaderX5u,
            "names a certificate URL (x5u); fetching it lets the sender choose the key (and enables SSRF)",
        ),
        ("x5c", Code::HeaderX5c, "embeds a certificate chain (x5c); it proves nothing without chain validation"),
    ] {
        if header.contains_key(name) {
            push(out, code, &format!("header.{name}"), format!("the header {what}"));
        }
    }
    if let Some(kid) = header.get("kid") {
        match kid.as_str() {
            Some(k) => kid_rules(out, k),
            None => push(
                out,
                Code::KidSqlInjection,
                "header.kid",
                "kid is not a string; type confusion in key lookup".to_owned(),
            ),
        }
    }
    if let Some(crit) = header.get("crit") {
        crit_rules(out, header, crit, crit_understood);
    }
    let typ = header.get("typ").and_then(Value::as_str);
    match (typ, expected_typ) {
        (None, Some(exp)) => push_sev(
            out,
            Code::TypMismatch,
            Severity::High,
            "header.typ",
            format!("typ is missing; expected \"{exp}\""),
        ),
        (None, None) if !encrypted => push(out, Code::TypMissing, "header.typ", "the header has no typ".to_owned()),
        (Some(t), Some(exp)) if !typ_eq(t, exp) => {
            push(out, Code::TypMismatch, "header.typ", format!("typ is \"{}\"; expected \"{exp}\"", clip(t, 40)))
        }
        _ => {}
    }
}

/// Compare media types ignoring case and an `application/` prefix (RFC 7515 4.1.9).
#[must_use]
pub fn typ_eq(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let s = s.trim();
        let l = s.to_ascii_lowercase();
        l.strip_prefix("application/").map(str::to_owned).unwrap_or(l)
    };
    norm(a) == norm(b)
}

fn signature_shape(out: &mut Vec<Finding>, alg: Alg, sig: &[u8]) {
    let Some(expected) = alg.fixed_sig_len() else { return };
    if sig.len() != expected {
        if alg.is_ecdsa() && verify::looks_like_der_ecdsa(sig) {
            push(
                out,
                Code::EcdsaDerSignature,
                "signature",
                format!(
                    "{} signature is DER-encoded ({} bytes); JWS requires {expected} bytes r||s",
                    alg.name(),
                    sig.len()
                ),
            );
        } else {
            push(
                out,
                Code::SignatureLength,
                "signature",
                format!("{} signature is {} bytes; expected {expected}", alg.name(), sig.len()),
            );
        }
        return;
    }
    if let Some(why) = verify::ecdsa_out_of_range(alg, sig) {
        push(
            out,
            Code::EcdsaPsychicSignature,
            "signature",
            format!("ECDSA {why}: a valid signature never has this; vulnerable verifiers accept it for any message"),
        );
    }
}

fn kid_rules(out: &mut Vec<Finding>, kid: &str) {
    let lower = kid.to_ascii_lowercase();
    if kid.contains('\0') || kid.chars().any(|c| c.is_control()) {
        push(
            out,
            Code::KidNul,
            "header.kid",
            "kid contains NUL or control characters (path truncation, log injection)".to_owned(),
        );
    }
    if kid.contains("../")
        || kid.contains("..\\")
        || lower.contains("%2e%2e")
        || kid.starts_with('/')
        || lower.starts_with("file:")
        || kid.contains(":\\")
    {
        push(
            out,
            Code::KidPathTraversal,
            "header.kid",
            "kid looks like a file path or traversal (e.g. ../../dev/null used as an empty key)".to_owned(),
        );
    }
    let sql_words = [" or ", " and ", "union select", "union all", "select ", "drop table", "sleep(", "--", "/*", "#"];
    if kid.contains('\'') || kid.contains('"') || kid.contains(';') || sql_words.iter().any(|w| lower.contains(w)) {
        push(out, Code::KidSqlInjection, "header.kid", "kid contains SQL metacharacters or keywords".to_owned());
    }
    if kid.contains(['|', '&', '`', '$', '<', '>']) || kid.contains("$(") || kid.contains(';') {
        push(out, Code::KidShellInjection, "header.kid", "kid contains shell metacharacters".to_owned());
    }
    if lower.contains("://") {
        push(out, Code::KidUrl, "header.kid", "kid is a URL".to_owned());
    }
}

fn crit_rules(out: &mut Vec<Finding>, header: &Map<String, Value>, crit: &Value, understood: &[String]) {
    let Some(arr) = crit.as_array() else {
        push(out, Code::CritMalformed, "header.crit", "crit is not an array".to_owned());
        return;
    };
    if arr.is_empty() {
        push(out, Code::CritEmpty, "header.crit", "crit is an empty array (forbidden by RFC 7515)".to_owned());
        return;
    }
    for v in arr.iter().take(16) {
        let Some(name) = v.as_str() else {
            push(out, Code::CritMalformed, "header.crit", "crit contains a non-string".to_owned());
            continue;
        };
        if REGISTERED_HEADER.contains(&name) {
            push(out, Code::CritRegistered, "header.crit", format!("crit lists the registered parameter \"{name}\""));
        } else if !understood.iter().any(|u| u == name) {
            push(
                out,
                Code::CritUnknown,
                "header.crit",
                format!("crit requires the extension \"{}\", which this recipient does not understand", clip(name, 40)),
            );
        }
        if !header.contains_key(name) {
            push(
                out,
                Code::CritMalformed,
                "header.crit",
                format!("crit lists \"{}\" but the header does not contain it", clip(name, 40)),
            );
        }
    }
}

/// Shorten `s` to at most `n` characters for messages.
#[must_use]
pub fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}
