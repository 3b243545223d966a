//! Rules over the claims: times, parties, token-kind requirements, delegation,
//! confirmation, authorization details. Personal data and secrets: see `pii`.

use serde_json::{Map, Value};

use super::codes::{Code, push, push_sev};
use super::explain::{act_chain, numeric_date};
use super::findings::clip;
use super::policy::Policy;
use super::report::{Finding, Severity, TokenKind};
use super::time;

/// Apply every claim rule.
pub fn claim_rules(out: &mut Vec<Finding>, p: &Map<String, Value>, kind: TokenKind, policy: &Policy, now: i64) {
    time_rules(out, p, kind, policy, now);
    party_rules(out, p, kind, policy);
    act_rules(out, p, policy);
    cnf_rules(out, p);
    authz_rules(out, p);
}

fn time_rules(out: &mut Vec<Finding>, p: &Map<String, Value>, kind: TokenKind, policy: &Policy, now: i64) {
    let leeway = policy.leeway.max(0);
    let mut dates = [None; 4];
    for (i, name) in ["exp", "nbf", "iat", "auth_time"].into_iter().enumerate() {
        if let Some(v) = p.get(name) {
            match numeric_date(v) {
                Some(t) => {
                    if v.as_f64().is_some_and(|f| f > 1.0e11) {
                        push(
                            out,
                            Code::NumericDateMalformed,
                            &format!("payload.{name}"),
                            format!("{name} looks like milliseconds, not seconds"),
                        );
                    }
                    dates[i] = Some(t);
                }
                None => push(
                    out,
                    Code::NumericDateMalformed,
                    &format!("payload.{name}"),
                    format!("{name} is not a NumericDate (got {})", clip(&v.to_string(), 32)),
                ),
            }
        }
    }
    let [exp, nbf, iat, auth_time] = dates;
    let dpop = kind == TokenKind::DpopProof;
    match exp {
        None if !p.contains_key("exp") && !dpop && kind != TokenKind::LogoutToken => {
            push(out, Code::ExpMissing, "payload.exp", "no exp: the token never expires".to_owned())
        }
        Some(x) if now > x.saturating_add(leeway) => {
            push(
                out,
                Code::Expired,
                "payload.exp",
                format!("expired {} ({})", time::relative(x, now), time::utc(x).unwrap_or_default()),
            );
        }
        _ => {}
    }
    if let Some(n) = nbf {
        if n > now.saturating_add(leeway) {
            push(
                out,
                Code::NbfFuture,
                "payload.nbf",
                format!("not valid before {} ({})", time::utc(n).unwrap_or_default(), time::relative(n, now)),
            );
        }
        if exp.is_some_and(|x| n > x) {
            push(out, Code::NbfAfterExp, "payload.nbf", "nbf is after exp: the token is never valid".to_owned());
        }
    }
    if let Some(i) = iat
        && i > now.saturating_add(leeway)
    {
        push(out, Code::IatFuture, "payload.iat", format!("issued {} — in the future", time::relative(i, now)));
    }
    if let (Some(x), Some(start)) = (exp, iat.or(nbf))
        && let Some(max) = policy.max_lifetime
    {
        // i128: exp and iat are attacker-chosen i64 values
        let lifetime = i128::from(x) - i128::from(start);
        if lifetime > i128::from(max) {
            push(
                out,
                Code::LifetimeTooLong,
                "payload.exp",
                format!(
                    "lifetime {} exceeds {}",
                    time::duration(u64::try_from(lifetime).unwrap_or(0)),
                    time::duration(u64::try_from(max).unwrap_or(0))
                ),
            );
        }
    }
    if let Some(max_age) = policy.max_age {
        let (claim, t) = match (auth_time, iat) {
            (Some(a), _) => ("auth_time", Some(a)),
            (None, Some(i)) => ("iat", Some(i)),
            _ => ("iat", None),
        };
        let age = t.map(|t| i128::from(now) - i128::from(t));
        match age {
            Some(age) if age > i128::from(max_age.saturating_add(leeway)) => {
                push(
                    out,
                    Code::TooOld,
                    &format!("payload.{claim}"),
                    format!(
                        "{claim} is {} old; maximum age is {}",
                        time::duration(u64::try_from(age).unwrap_or(0)),
                        time::duration(u64::try_from(max_age).unwrap_or(0))
                    ),
                );
            }
            None => push(
                out,
                Code::TooOld,
                "payload.iat",
                "a maximum age is required but the token has no iat or auth_time".to_owned(),
            ),
            _ => {}
        }
    }
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn party_rules(out: &mut Vec<Finding>, p: &Map<String, Value>, kind: TokenKind, policy: &Policy) {
    let aud = strings(p.get("aud"));
    let dpop = kind == TokenKind::DpopProof;
    if aud.is_empty() && !dpop {
        let sev = if policy.audience.is_empty() { Severity::Medium } else { Severity::High };
        push_sev(
            out,
            Code::AudMissing,
            sev,
            "payload.aud",
            "no aud: any service accepting this issuer would accept the token".to_owned(),
        );
    } else if !policy.audience.is_empty() && !aud.iter().any(|a| policy.audience.iter().any(|e| e == a)) {
        push(
            out,
            Code::AudMismatch,
            "payload.aud",
            format!(
                "aud {} does not include any expected audience ({})",
                clip(&aud.join(", "), 120),
                clip(&policy.audience.join(", "), 120)
            ),
        );
    }
    match p.get("iss").and_then(Value::as_str) {
        None if !dpop => {
            let sev = if policy.issuer.is_empty() { Severity::Medium } else { Severity::High };
            push_sev(out, Code::IssMissing, sev, "payload.iss", "no iss".to_owned());
        }
        Some(iss) if !policy.issuer.is_empty() && !policy.issuer.iter().any(|e| e == iss) => {
            push(
                out,
                Code::IssMismatch,
                "payload.iss",
                format!(
                    "iss \"{}\" is not an expected issuer ({})",
                    clip(iss, 120),
                    clip(&policy.issuer.join(", "), 120)
                ),
            );
        }
        _ => {}
    }
    for c in &policy.required_claims {
        if !p.contains_key(c) {
            push(
                out,
                Code::RequiredClaimMissing,
                &format!("payload.{}", clip(c, 40)),
                format!("required claim \"{}\" is missing", clip(c, 40)),
            );
        }
    }
    if kind == TokenKind::AccessToken {
        let missing: Vec<&str> = ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"]
            .into_iter()
            .filter(|c| !p.contains_key(*c))
            .collect();
        if !missing.is_empty() {
            push(out, Code::AtJwtMissingClaims, "payload", format!("at+jwt token lacks {}", missing.join(", ")));
        }
    }
    let required: &[&str] = match kind {
        TokenKind::IdJag => &["iss", "sub", "aud", "client_id", "jti", "exp", "iat"],
        TokenKind::ClientAssertion => &["iss", "sub", "aud", "jti", "exp"],
        _ => &[],
    };
    let missing: Vec<&str> = required.iter().copied().filter(|c| !p.contains_key(*c)).collect();
    if !missing.is_empty() {
        let (code, what) = if kind == TokenKind::IdJag {
            (Code::IdJagMissingClaims, "ID-JAG")
        } else {
            (Code::ClientAssertionMissingClaims, "client assertion")
        };
        push(out, code, "payload", format!("{what} lacks {}", missing.join(", ")));
    }
    if kind == TokenKind::IdToken && aud.len() > 1 && !p.contains_key("azp") {
        push(out, Code::IdTokenAzpMissing, "payload.azp", format!("ID token has {} audiences and no azp", aud.len()));
    }
}

fn act_rules(out: &mut Vec<Finding>, p: &Map<String, Value>, policy: &Policy) {
    if let Some(act) = p.get("act")
        && !act.is_object()
    {
        push(out, Code::ActMalformed, "payload.act", "act is not a JSON object".to_owned());
    }
    let chain = act_chain(p);
    if chain.len() > policy.max_act_depth {
        push(
            out,
            Code::ActTooDeep,
            "payload.act",
            format!("delegation chain has {} actors; the limit is {}", chain.len(), policy.max_act_depth),
        );
    }
    let sub = p.get("sub").and_then(Value::as_str);
    for (i, a) in chain.iter().enumerate() {
        let loc = format!("payload{}", ".act".repeat(i + 1));
        let prev_sub = if i == 0 { sub.map(str::to_owned) } else { chain.get(i - 1).and_then(|x| x.sub.clone()) };
        if a.sub.is_some() && a.sub == prev_sub {
            let whom = if i == 0 { "the token's subject" } else { "the actor it acts for" };
            push(
                out,
                Code::ActSelfDelegation,
                &loc,
                format!("actor \"{}\" is also {whom}", clip(a.sub.as_deref().unwrap_or_default(), 80)),
            );
        }
    }
    match p.get("may_act") {
        Some(Value::Object(may)) => {
            if let Some(cur) = p.get("act").and_then(Value::as_object) {
                let mismatch: Vec<&String> = may
                    .keys()
                    .filter(|k| matches!(k.as_str(), "sub" | "iss" | "client_id"))
                    .filter(|k| cur.get(k.as_str()) != may.get(k.as_str()))
                    .collect();
                if !mismatch.is_empty() {
                    push(
                        out,
                        Code::ActNotAllowed,
                        "payload.act",
                        format!(
                            "current actor does not match may_act ({} differ)",
                            mismatch.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    );
                }
            }
        }
        Some(_) => push(out, Code::ActMalformed, "payload.may_act", "may_act is not a JSON object".to_owned()),
        None => {}
    }
}

fn thumbprint_ok(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 43 && super::b64::decode(s.as_bytes()).is_ok_and(|(b, q)| b.len() == 32 && q.is_empty())
    })
}

fn cnf_rules(out: &mut Vec<Finding>, p: &Map<String, Value>) {
    let Some(cnf) = p.get("cnf") else { return };
    let Some(o) = cnf.as_object() else {
        push(out, Code::CnfMalformed, "payload.cnf", "cnf is not a JSON object".to_owned());
        return;
    };
    for name in ["jkt", "x5t#S256"] {
        if let Some(v) = o.get(name)
            && !thumbprint_ok(v)
        {
            push(
                out,
                Code::CnfMalformed,
                &format!("payload.cnf.{name}"),
                format!("cnf.{name} is not a base64url SHA-256 thumbprint (43 characters, 32 bytes)"),
            );
        }
    }
}

fn authz_rules(out: &mut Vec<Finding>, p: &Map<String, Value>) {
    let Some(ad) = p.get("authorization_details") else { return };
    let Some(arr) = ad.as_array() else {
        push(
            out,
            Code::AuthzDetailsMalformed,
            "payload.authorization_details",
            "authorization_details is not an array".to_owned(),
        );
        return;
    };
    for (i, d) in arr.iter().enumerate().take(64) {
        let loc = format!("payload.authorization_details[{i}]");
        let Some(o) = d.as_object() else {
            push(out, Code::AuthzDetailsMalformed, &loc, "entry is not an object".to_owned());
            continue;
        };
        if !o.get("type").is_some_and(Value::is_string) {
            push(out, Code::AuthzDetailsMalformed, &format!("{loc}.type"), "entry has no string type".to_owned());
        }
        for f in ["locations", "actions", "datatypes", "privileges"] {
            if let Some(v) = o.get(f)
                && !v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
            {
                push(
                    out,
                    Code::AuthzDetailsMalformed,
                    &format!("{loc}.{f}"),
                    format!("{f} must be an array of strings"),
                );
            }
        }
        if let Some(v) = o.get("identifier")
            && !v.is_string()
        {
            push(
                out,
                Code::AuthzDetailsMalformed,
                &format!("{loc}.identifier"),
                "identifier must be a string".to_owned(),
            );
        }
    }
}
