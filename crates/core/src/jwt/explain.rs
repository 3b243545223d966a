//! Header and claims with their meaning: times, parties, scopes, the `act`
//! chain, `cnf`, `authorization_details`, and the kind of token.

use serde_json::{Map, Value};

use super::findings::typ_eq;
use super::report::{Actor, AuthorizationDetail, Confirmation, Explanation, TimeClaim, TokenKind};
use super::time;

/// Claims rendered as times.
pub const TIME_CLAIMS: [&str; 5] = ["iat", "nbf", "exp", "auth_time", "updated_at"];
/// Deepest `act` nesting followed.
pub const MAX_ACT_WALK: usize = 32;
const MAX_LIST: usize = 64;

/// A NumericDate: a JSON number of seconds, finite, within years 0..=9999.
#[must_use]
pub fn numeric_date(v: &Value) -> Option<i64> {
    let f = v.as_f64()?;
    if !f.is_finite() || !(0.0..=253_402_300_799.0).contains(&f) {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)]
    Some(f.trunc() as i64)
}

fn s(o: &Map<String, Value>, k: &str) -> Option<String> {
    o.get(k).and_then(Value::as_str).map(|v| super::findings::clip(v, 512))
}

fn list(v: Option<&Value>, split_spaces: bool) -> Vec<String> {
    match v {
        Some(Value::String(s)) if split_spaces => s.split_whitespace().take(MAX_LIST).map(str::to_owned).collect(),
        Some(Value::String(s)) => vec![super::findings::clip(s, 512)],
        Some(Value::Array(a)) => {
            a.iter().filter_map(Value::as_str).take(MAX_LIST).map(|s| super::findings::clip(s, 512)).collect()
        }
        _ => Vec::new(),
    }
}

/// Walk the `act` chain, outermost (current) actor first.
#[must_use]
pub fn act_chain(payload: &Map<String, Value>) -> Vec<Actor> {
    let mut out = Vec::new();
    let mut cur = payload.get("act").and_then(Value::as_object);
    while let Some(a) = cur {
        if out.len() >= MAX_ACT_WALK {
            break;
        }
        out.push(Actor { depth: out.len(), sub: s(a, "sub"), iss: s(a, "iss"), client_id: s(a, "client_id") });
        cur = a.get("act").and_then(Value::as_object);
    }
    out
}

/// Decide what the token looks like, and why.
#[must_use]
pub fn kind(
    header: Option<&Map<String, Value>>,
    payload: Option<&Map<String, Value>>,
    encrypted: bool,
) -> (TokenKind, String) {
    if encrypted {
        return (TokenKind::Encrypted, "JWE (5 segments or ciphertext member)".to_owned());
    }
    let typ = header.and_then(|h| h.get("typ")).and_then(Value::as_str);
    if let Some(t) = typ {
        if typ_eq(t, "dpop+jwt") {
            return (TokenKind::DpopProof, "typ is dpop+jwt (RFC 9449)".to_owned());
        }
        if typ_eq(t, "at+jwt") {
            return (TokenKind::AccessToken, "typ is at+jwt (RFC 9068)".to_owned());
        }
        if typ_eq(t, "logout+jwt") {
            return (TokenKind::LogoutToken, "typ is logout+jwt".to_owned());
        }
        if typ_eq(t, "oauth-id-jag+jwt") {
            return (
                TokenKind::IdJag,
                "typ is oauth-id-jag+jwt (Identity Assertion JWT authorization grant)".to_owned(),
            );
        }
    }
    let Some(p) = payload else { return (TokenKind::Other, "no claims".to_owned()) };
    if p.get("events")
        .and_then(Value::as_object)
        .is_some_and(|e| e.contains_key("http://schemas.openid.net/event/backchannel-logout"))
    {
        return (TokenKind::LogoutToken, "events contains the back-channel logout event".to_owned());
    }
    let has = |k: &str| p.contains_key(k);
    if has("htm") && has("htu") && has("jti") {
        return (TokenKind::DpopProof, "htm, htu and jti claims (DPoP proof shape)".to_owned());
    }
    // private_key_jwt (RFC 7523 section 3, OIDC Core section 9): the client is
    // both issuer and subject; it carries an aud and no user-facing claims.
    let iss = p.get("iss").and_then(Value::as_str);
    if iss.is_some()
        && iss == p.get("sub").and_then(Value::as_str)
        && has("aud")
        && !["scope", "scp", "nonce", "client_id", "act"].iter().any(|k| has(k))
    {
        return (
            TokenKind::ClientAssertion,
            "iss equals sub and there is an aud (private_key_jwt client assertion shape)".to_owned(),
        );
    }
    let oidc_markers = ["nonce", "at_hash", "c_hash", "auth_time", "acr", "amr"];
    if has("iss")
        && has("sub")
        && has("aud")
        && has("exp")
        && !has("scope")
        && !has("scp")
        && let Some(m) = oidc_markers.iter().find(|m| has(m))
    {
        return (
            TokenKind::IdToken,
            format!("iss, sub, aud, exp and {m} without scope (OpenID Connect ID token shape)"),
        );
    }
    if has("scope") || has("scp") || has("client_id") {
        return (TokenKind::AccessTokenLike, "scope/scp/client_id claims but typ is not at+jwt".to_owned());
    }
    (TokenKind::Other, "no distinguishing claims".to_owned())
}

/// Build the explanation.
#[must_use]
pub fn explain(
    header: Option<&Map<String, Value>>,
    payload: Option<&Map<String, Value>>,
    encrypted: bool,
    now: i64,
) -> Explanation {
    let (k, reason) = kind(header, payload, encrypted);
    let mut e = Explanation { kind: Some(k), kind_reason: Some(reason), ..Explanation::default() };
    if let Some(h) = header {
        e.alg = s(h, "alg");
        e.typ = s(h, "typ");
        e.cty = s(h, "cty");
        e.kid = s(h, "kid");
        e.enc = s(h, "enc");
    }
    let Some(p) = payload else { return e };
    for name in TIME_CLAIMS {
        if let Some(v) = p.get(name) {
            let unix = numeric_date(v);
            e.times.push(TimeClaim {
                claim: name.to_owned(),
                raw: if v.is_number() { v.clone() } else { Value::String(super::findings::clip(&v.to_string(), 64)) },
                unix,
                utc: unix.and_then(time::utc),
                relative: unix.map(|t| time::relative(t, now)),
            });
        }
    }
    let exp = p.get("exp").and_then(numeric_date);
    let start = p.get("iat").and_then(numeric_date).or_else(|| p.get("nbf").and_then(numeric_date));
    if let (Some(x), Some(st)) = (exp, start) {
        e.lifetime_seconds = Some(x - st);
    }
    e.issuer = s(p, "iss");
    e.subject = s(p, "sub");
    e.audience = list(p.get("aud"), false);
    e.authorized_party = s(p, "azp");
    e.client_id = s(p, "client_id");
    e.jwt_id = s(p, "jti");
    e.scopes = list(p.get("scope").or_else(|| p.get("scp")), true);
    e.roles = list(p.get("roles"), false);
    e.permissions = list(p.get("permissions"), false);
    e.groups = list(p.get("groups"), false);
    e.act_chain = act_chain(p);
    e.may_act = p.get("may_act").cloned();
    if let Some(cnf) = p.get("cnf").and_then(Value::as_object) {
        let jkt = s(cnf, "jkt");
        let x5t = s(cnf, "x5t#S256");
        let method = if jkt.is_some() {
            "dpop"
        } else if x5t.is_some() {
            "mtls"
        } else if cnf.contains_key("jwk") {
            "jwk"
        } else if cnf.contains_key("jku") {
            "jku"
        } else if cnf.contains_key("kid") {
            "kid"
        } else {
            "unknown"
        };
        e.confirmation = Some(Confirmation { method, jkt, x5t_s256: x5t });
    }
    if let Some(Value::Array(details)) = p.get("authorization_details") {
        for d in details.iter().take(MAX_LIST) {
            if let Some(o) = d.as_object() {
                e.authorization_details.push(AuthorizationDetail {
                    kind: s(o, "type"),
                    actions: list(o.get("actions"), false),
                    locations: list(o.get("locations"), false),
                    datatypes: list(o.get("datatypes"), false),
                    identifier: s(o, "identifier"),
                });
            }
        }
    }
    e
}
