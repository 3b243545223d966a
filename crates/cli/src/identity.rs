//! A short identity summary of JWTs found in the credentials (`iss`, `sub`,
//! `email`, `aud`, expiry), printed on stderr so the person can spot a token
//! for the wrong account. This is an unverified *decode*, not validation:
//! nothing here is trusted, it is only shown.

use sealpost_core::envelope::Credentials;
use serde_json::Value;

use crate::errors::sanitize;
use crate::timefmt::{format_utc, human_duration};

/// Decode a compact JWS without verifying it: `(header, claims)`. Only strings
/// shaped like a JWS (three base64url segments, a JSON header with `alg`, a JSON
/// object payload) count; the decoding is the JWT engine's (`sealpost_core::jwt`).
pub fn decode_unverified(token: &str) -> Option<(serde_json::Map<String, Value>, serde_json::Map<String, Value>)> {
    let trimmed = token.trim();
    let bare = trimmed.strip_prefix("Bearer ").unwrap_or(trimmed);
    let parts: Vec<&str> = bare.split('.').collect();
    let b64url = |x: &str| x.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'=');
    if parts.len() != 3 || parts[0].is_empty() || parts[1].is_empty() || !parts.iter().all(|p| b64url(p)) {
        return None;
    }
    let d = sealpost_core::jwt::decode_unverified(bare);
    if d.encrypted {
        return None;
    }
    let header = d.header?;
    header.get("alg")?.as_str()?;
    Some((header, d.payload?))
}

fn claim_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(sanitize(s, 80)),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) => {
            let items: Vec<String> = a.iter().filter_map(claim_text).collect();
            (!items.is_empty()).then(|| items.join(","))
        }
        _ => None,
    }
}

/// One line per field holding a JWT.
pub fn summaries(creds: &Credentials, now: i64) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in creds.iter() {
        let Some((header, claims)) = decode_unverified(v) else { continue };
        let alg = header.get("alg").and_then(Value::as_str).map(|a| sanitize(a, 16)).unwrap_or_default();
        let mut line = format!("field \"{}\" holds a JWT ({alg}, not verified):", sanitize(k, 64));
        for name in ["iss", "sub", "email", "aud"] {
            if let Some(text) = claims.get(name).and_then(claim_text) {
                line.push_str(&format!(" {name}={text}"));
            }
        }
        if let Some(exp) = claims.get("exp").and_then(Value::as_i64) {
            let when = if exp >= now {
                format!("in {}", human_duration(std::time::Duration::from_secs(exp.abs_diff(now))))
            } else {
                format!("EXPIRED {} ago", human_duration(std::time::Duration::from_secs(exp.abs_diff(now))))
            };
            line.push_str(&format!(" exp={} ({when})", format_utc(exp)));
        }
        out.push(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn jwt(header: &str, claims: &str) -> String {
        format!("{}.{}.c2ln", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims))
    }

    #[test]
    fn summary_of_an_id_token() {
        let mut c = Credentials::new();
        c.insert(
            "id_token".to_string(),
            jwt(
                r#"{"alg":"RS256","typ":"JWT"}"#,
                r#"{"iss":"https://accounts.example","sub":"42","email":"a@b.example","aud":["app","api"],"exp":1000}"#,
            ),
        );
        c.insert("password".to_string(), "not.a.jwt".to_string());
        let s = summaries(&c, 400);
        assert_eq!(s.len(), 1);
        assert_eq!(
            s[0],
            "field \"id_token\" holds a JWT (RS256, not verified): iss=https://accounts.example sub=42 email=a@b.example aud=app,api exp=1970-01-01T00:16:40Z (in 10m00s)"
        );
        assert!(summaries(&c, 2000)[0].contains("EXPIRED 16m40s ago"));
        // any i64 exp: no overflow, no panic
        for exp in [i64::MIN, i64::MAX] {
            let mut c = Credentials::new();
            c.insert("t".to_string(), jwt(r#"{"alg":"RS256"}"#, &format!(r#"{{"exp":{exp}}}"#)));
            assert!(summaries(&c, 1_700_000_000)[0].contains("not a date"), "{exp}");
        }
    }

    #[test]
    fn non_jwts_are_ignored() {
        assert!(decode_unverified("abc.def.ghi").is_none());
        assert!(decode_unverified(&jwt(r#"{"typ":"JWT"}"#, "{}")).is_none()); // no alg
        assert!(decode_unverified(&jwt(r#"{"alg":"none"}"#, "[1]")).is_none());
    }
}
