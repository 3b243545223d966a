//! One pass over a token: decode, explain, verify, apply every rule, report.

use super::alg::Alg;
use super::claims;
use super::codes::{Code, push, push_sev};
use super::decode::{self, Decoded};
use super::explain;
use super::findings;
use super::keys::PublicMaterial;
use super::pii;
use super::policy::InspectOptions;
use super::report::{Finding, Report, Severity, SignatureSummary, Summary, Verification, VerifyStatus};
use super::verify::{self, SigFailure};
use super::weak;

/// Most findings kept in one report.
pub const MAX_FINDINGS: usize = 200;
/// Deepest nested (`cty: JWT`) token inspected.
pub const MAX_NESTING: usize = 2;

/// Decoder findings that make the input something other than one well-formed
/// compact JWS. With a key, a token that has any of them is never accepted, even
/// when the signature matches its literal bytes: what was signed is then not
/// what other parsers (or this report) read. (A payload that is not a JSON
/// object is a well-formed JWS, RFC 7515 A.4, and stays a high finding.)
const STRUCTURAL: [Code; 10] = [
    Code::InputTooLarge,
    Code::NonCompactInput,
    Code::Malformed,
    Code::B64Invalid,
    Code::B64NonCanonical,
    Code::HeaderNotUtf8,
    Code::HeaderNotJsonObject,
    Code::DuplicateHeaderParam,
    Code::DuplicateClaim,
    Code::JsonSerialization,
];

/// Inspect `token`: decode it tolerantly, explain it, verify it with the supplied
/// keys, and report every finding. Never fails and never panics; the report size
/// is bounded whatever the input.
#[must_use]
pub fn inspect(token: &str, opts: &InspectOptions) -> Report {
    inspect_at(token, opts, 0)
}

fn inspect_at(token: &str, opts: &InspectOptions, depth: usize) -> Report {
    let mut d = decode::decode_unverified(token);
    let mut out: Vec<Finding> = std::mem::take(&mut d.findings);
    let defect = out
        .iter()
        .find(|f| STRUCTURAL.iter().any(|c| c.as_str() == f.code))
        .map(|f| format!("{} ({})", f.message, f.code));
    if let Some(h) = &d.header {
        findings::header_rules(
            &mut out,
            h,
            &d.signature,
            d.signature_decoded,
            opts.policy.typ.as_deref(),
            &opts.policy.crit_understood,
            d.encrypted,
        );
    }
    let explanation = explain::explain(d.header.as_ref(), d.payload.as_ref(), d.encrypted, opts.now);
    if let Some(p) = &d.payload {
        claims::claim_rules(
            &mut out,
            p,
            explanation.kind.unwrap_or(super::report::TokenKind::Other),
            &opts.policy,
            opts.now,
        );
        pii::scan(&mut out, p);
    }
    let verification = verify_token(&d, opts, defect.as_deref(), &mut out);
    let dpop = (explanation.kind == Some(super::report::TokenKind::DpopProof)).then(|| {
        super::dpop::check(&d, opts.access_token.as_deref(), opts.now, opts.policy.leeway, defect.as_deref(), &mut out)
    });
    let mut nested = None;
    let is_nested =
        d.header_str("cty").is_some_and(|c| c.eq_ignore_ascii_case("JWT") || c.eq_ignore_ascii_case("application/jwt"));
    if is_nested && let Ok(inner) = std::str::from_utf8(&d.payload_bytes) {
        if depth < MAX_NESTING {
            push(
                &mut out,
                Code::Nested,
                "payload",
                "cty is JWT: the payload is a nested token, inspected below".to_owned(),
            );
            nested = Some(Box::new(inspect_at(inner, opts, depth + 1)));
        } else {
            push(
                &mut out,
                Code::Nested,
                "payload",
                format!("nested token not inspected: nesting deeper than {MAX_NESTING}"),
            );
        }
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let truncated = out.len() > MAX_FINDINGS;
    out.truncate(MAX_FINDINGS);
    let mut summary = Summary { signature_verified: verification.status == VerifyStatus::Valid, ..Summary::default() };
    for f in &out {
        match f.severity {
            Severity::Critical => summary.critical += 1,
            Severity::High => summary.high += 1,
            Severity::Medium => summary.medium += 1,
            Severity::Low => summary.low += 1,
            Severity::Info => summary.info += 1,
        }
        summary.highest = summary.highest.max(Some(f.severity));
    }
    let alg = d.header_str("alg").and_then(Alg::parse);
    let signature = (d.signature_decoded || !d.signature.is_empty()).then(|| SignatureSummary {
        length: d.signature.len(),
        expected_length: alg.and_then(Alg::fixed_sig_len),
        encoding: if alg.is_some_and(Alg::is_ecdsa) {
            if verify::looks_like_der_ecdsa(&d.signature) { "der" } else { "p1363" }
        } else {
            "raw"
        },
    });
    Report {
        payload_text: decode::payload_text(&d),
        input: d.input.take().unwrap_or(super::report::InputSummary {
            length: token.len(),
            form: super::report::InputForm::Unknown,
            segments: Vec::new(),
        }),
        header: d.header.take().map(serde_json::Value::Object),
        payload: d.payload.take().map(serde_json::Value::Object),
        signature,
        explanation,
        verification,
        nested,
        dpop,
        findings: out,
        findings_truncated: truncated,
        summary,
    }
}

/// The verdict. With a key source (usable keys, or a JWKS whose keys were all
/// skipped), only a signature that verifies over one well-formed compact JWS is
/// `Valid`. Every other outcome (unknown or malformed `alg`, no fitting key, a
/// structural defect, a wrong signature) carries a critical finding:
/// `JWT_SIGNATURE_INVALID` for a wrong signature, `JWT_SIGNATURE_UNVERIFIED`
/// otherwise. So `summary.signatureVerified` is false and no severity
/// threshold lets the token pass; the CLI and the WASM bundle only read this.
fn verify_token(d: &Decoded, opts: &InspectOptions, defect: Option<&str>, out: &mut Vec<Finding>) -> Verification {
    let mut v = check_signature(d, opts, out);
    if opts.keys.keys.is_empty() && opts.keys.skipped.is_empty() {
        return v;
    }
    if let (Some(defect), false) = (defect, d.encrypted) {
        v.detail = if v.status == VerifyStatus::Valid {
            format!("not well-formed ({defect}); the signature matches its literal bytes but is not accepted")
        } else {
            format!("not well-formed ({defect})")
        };
        v.status = VerifyStatus::Malformed;
    }
    if v.status != VerifyStatus::Valid && !out.iter().any(|f| f.code == Code::SignatureInvalid.as_str()) {
        push(out, Code::SignatureUnverified, "signature", format!("not verified with the supplied key: {}", v.detail));
    }
    v
}

fn check_signature(d: &Decoded, opts: &InspectOptions, out: &mut Vec<Finding>) -> Verification {
    let keys = &opts.keys.keys;
    let mut v = Verification { keys_supplied: keys.len(), ..Verification::default() };
    let unsupported = |v: &mut Verification, why: &str| {
        v.status = VerifyStatus::Unsupported;
        why.clone_into(&mut v.detail);
    };
    if d.encrypted {
        unsupported(&mut v, "encrypted token: nothing to verify without decrypting");
        return v;
    }
    let Some(alg_name) = d.header_str("alg") else {
        let present = d.header.as_ref().is_some_and(|h| h.contains_key("alg"));
        unsupported(&mut v, if present { "alg is not a string: cannot verify" } else { "no alg: cannot verify" });
        return v;
    };
    let Some(alg) = Alg::parse(alg_name) else {
        let shown = findings::clip(alg_name, 40);
        // (Quoted by hand: `{:?}` would link str's Debug escaping into the WASM bundle.)
        let why = if alg_name.eq_ignore_ascii_case("none") {
            format!("alg \"{shown}\": an unsigned token cannot be verified")
        } else {
            format!("alg \"{shown}\" is not a supported algorithm: cannot verify")
        };
        unsupported(&mut v, &why);
        return v;
    };
    v.alg = Some(alg.name().to_owned());
    if !d.signature_decoded || d.signing_input.is_empty() {
        unsupported(&mut v, "the signature segment is missing or undecodable");
        return v;
    }
    let msg = &d.signing_input;
    let sig = &d.signature;
    // Checks that need no key: the well-known weak HMAC secrets.
    if alg.is_hmac() && !sig.is_empty() {
        if verify::hmac_ok(alg, b"", msg, sig) {
            push(
                out,
                Code::HmacEmptySecret,
                "header.alg",
                format!("{} signature verifies with an empty secret", alg.name()),
            );
        } else if let Some(w) = weak::SECRETS.iter().find(|w| verify::hmac_ok(alg, w.as_bytes(), msg, sig)) {
            push(
                out,
                Code::HmacWeakSecret,
                "header.alg",
                format!("{} signature verifies with the well-known secret \"{w}\"", alg.name()),
            );
        }
    }
    for s in opts.keys.skipped.iter().take(4) {
        push_sev(out, Code::NoMatchingKey, Severity::Info, "key", format!("key skipped: {s}"));
    }
    if keys.is_empty() {
        if opts.keys.skipped.is_empty() {
            push(out, Code::NotVerified, "signature", "no key supplied: the signature was not checked".to_owned());
        } else {
            v.status = VerifyStatus::NoMatchingKey;
            v.detail = format!("none of the {} supplied key(s) is usable", opts.keys.skipped.len());
        }
        return v;
    }
    // Key confusion: an HS* token that verifies with a public key's bytes as the secret.
    if alg.is_hmac() {
        for k in keys.iter().filter(|k| !matches!(k.material, PublicMaterial::Hmac(_))) {
            if k.public_forms.iter().any(|form| verify::hmac_ok(alg, form, msg, sig)) {
                push(
                    out,
                    Code::KeyConfusion,
                    "header.alg",
                    format!(
                        "{} signature verifies with the bytes of the {} public key ({}) used as an HMAC secret",
                        alg.name(),
                        k.material.kty(),
                        k.source
                    ),
                );
            }
        }
    }
    let kid = d.header_str("kid");
    let sel = verify::select(keys, alg, kid);
    v.candidates = sel.candidates.len();
    if sel.candidates.is_empty() {
        if let Some((k, why)) = sel.mismatched.first() {
            v.status = VerifyStatus::AlgMismatch;
            v.key = Some(k.summary());
            v.detail = format!("not verified: {why}");
            for (k, why) in sel.mismatched.iter().take(4) {
                push(
                    out,
                    Code::AlgKeyMismatch,
                    "header.alg",
                    format!("{why} (key {})", k.kid.as_deref().unwrap_or(&k.source)),
                );
            }
        } else {
            v.status = VerifyStatus::NoMatchingKey;
            v.detail = match kid {
                Some(kid) => format!("no supplied key has kid \"{}\"", findings::clip(kid, 60)),
                None => "no supplied key fits the token".to_owned(),
            };
            push(out, Code::NoMatchingKey, "header.kid", v.detail.clone());
        }
        return v;
    }
    if sel.candidates.len() > 1 {
        push(
            out,
            Code::SeveralKeysMatch,
            "header.kid",
            format!("{} supplied keys match kid/alg/kty; each was tried", sel.candidates.len()),
        );
    }
    let mut malformed = false;
    for k in &sel.candidates {
        key_strength(out, alg, k);
        match verify::verify_signature(alg, &k.material, msg, sig) {
            Ok(()) => {
                v.status = VerifyStatus::Valid;
                v.key = Some(k.summary());
                v.detail = format!(
                    "signature verifies with {} key {}",
                    k.material.kty(),
                    k.kid.as_deref().unwrap_or(&k.source)
                );
                return v;
            }
            Err(SigFailure::Malformed) => malformed = true,
            Err(_) => {}
        }
    }
    v.status = VerifyStatus::Invalid;
    v.key = sel.candidates.first().map(|k| k.summary());
    v.detail = if malformed {
        "signature is malformed for the algorithm".to_owned()
    } else {
        "signature does not verify with the supplied key(s)".to_owned()
    };
    push(out, Code::SignatureInvalid, "signature", v.detail.clone());
    v
}

fn key_strength(out: &mut Vec<Finding>, alg: Alg, k: &super::keys::VerifyKey) {
    let bits = k.material.bits();
    match &k.material {
        PublicMaterial::Rsa(_) if bits < 2048 => {
            push(
                out,
                Code::KeyRsaTooSmall,
                "key",
                format!("RSA key {} is {bits} bits", k.kid.as_deref().unwrap_or(&k.source)),
            );
        }
        PublicMaterial::Hmac(s) if s.len() < alg.hash_len() && !s.is_empty() => {
            push(
                out,
                Code::KeyHmacTooShort,
                "key",
                format!("HMAC secret is {} bytes; {} needs at least {}", s.len(), alg.name(), alg.hash_len()),
            );
        }
        _ => {}
    }
}
