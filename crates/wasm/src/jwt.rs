//! JWT exports of the full bundle: `inspectJwt` and `signJwt`. Conversion only;
//! the engine is `sealpost_core::jwt`, tested natively.

use js_sys::JsString;
use sealpost_core::jwt::{self, Alg, Broken, InspectOptions, JwtError, KeySet, Policy, SignKey, SignRequest};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::js_error;

#[wasm_bindgen(typescript_custom_section)]
const TS_JWT: &str = r#"
export type Severity = "info" | "low" | "medium" | "high" | "critical";
export interface JwtFinding { code: string; severity: Severity; location: string; message: string; fix: string; }
export interface JwtSegment { name: string; offset: number; length: number; decoded_length: number | null; }
export interface JwtTimeClaim { claim: string; raw: unknown; unix: number | null; utc: string | null; relative: string | null; }
export interface JwtActor { depth: number; sub: string | null; iss: string | null; clientId: string | null; }
export interface JwtExplanation {
  kind: "id_token" | "access_token" | "access_token_like" | "dpop_proof" | "logout_token" | "encrypted" | "other" | null;
  kindReason: string | null; alg: string | null; typ: string | null; cty: string | null; kid: string | null; enc: string | null;
  times: JwtTimeClaim[]; lifetimeSeconds: number | null;
  issuer: string | null; subject: string | null; audience: string[]; authorizedParty: string | null; clientId: string | null; jwtId: string | null;
  scopes: string[]; roles: string[]; permissions: string[]; groups: string[];
  actChain: JwtActor[]; mayAct: unknown | null;
  confirmation: { method: string; jkt: string | null; x5tS256: string | null } | null;
  authorizationDetails: { type: string | null; actions: string[]; locations: string[]; datatypes: string[]; identifier: string | null }[];
}
export interface JwtKeySummary { kty: string; crv: string | null; bits: number; kid: string | null; alg: string | null; source: string; }
export interface JwtVerification {
  status: "not_attempted" | "valid" | "invalid" | "no_matching_key" | "alg_mismatch" | "unsupported";
  alg: string | null; key: JwtKeySummary | null; keysSupplied: number; candidates: number; detail: string;
}
export interface JwtReport {
  input: { length: number; form: "compact_jws" | "compact_jwe" | "json_jws" | "json_jwe" | "unknown"; segments: JwtSegment[] };
  header: Record<string, unknown> | null;
  payload: Record<string, unknown> | null;
  payloadText: string | null;
  signature: { length: number; expectedLength: number | null; encoding: "raw" | "p1363" | "der" } | null;
  explanation: JwtExplanation;
  verification: JwtVerification;
  nested: JwtReport | null;
  findings: JwtFinding[];
  findingsTruncated: boolean;
  summary: { highest: Severity | null; critical: number; high: number; medium: number; low: number; info: number; signatureVerified: boolean };
}
export interface InspectJwtOptions {
  /** Seconds since the epoch; defaults to the current time. */
  now?: number;
  /** JWK, PEM public key, PEM certificate or PEM private key. */
  key?: string;
  /** JWKS JSON text. */
  jwks?: string;
  /** Shared HMAC secret as UTF-8 text. */
  secret?: string;
  /** Shared HMAC secret as base64 / base64url. */
  secretBase64?: string;
  issuer?: string | string[];
  audience?: string | string[];
  typ?: string;
  requiredClaims?: string[];
  maxAge?: number;
  leeway?: number;
  maxLifetime?: number | null;
  maxActDepth?: number;
  critUnderstood?: string[];
}
export interface SignJwtOptions {
  header?: Record<string, unknown>;
  /** Claims; exp/nbf/iat/auth_time may be relative: "+1h", "-5m", "now". */
  claims: Record<string, unknown>;
  alg?: string;
  /** PEM private key or private JWK. */
  key?: string;
  secret?: string;
  secretBase64?: string;
  now?: number;
  broken?: "alg-none" | "strip-signature";
}
"#;

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(s) => vec![s],
            Self::Many(v) => v,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JsInspectOptions {
    now: Option<f64>,
    key: Option<String>,
    jwks: Option<String>,
    secret: Option<String>,
    secret_base64: Option<String>,
    issuer: Option<OneOrMany>,
    audience: Option<OneOrMany>,
    typ: Option<String>,
    required_claims: Option<Vec<String>>,
    max_age: Option<f64>,
    leeway: Option<f64>,
    max_lifetime: Option<Option<f64>>,
    max_act_depth: Option<u32>,
    crit_understood: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JsSignOptions {
    alg: Option<String>,
    key: Option<String>,
    secret: Option<String>,
    secret_base64: Option<String>,
    now: Option<f64>,
    broken: Option<String>,
}

fn err(e: &JwtError) -> JsValue {
    js_error(e.code(), &e.to_string())
}

fn opts_err(msg: &'static str) -> JsValue {
    err(&JwtError::OptionsInvalid(msg))
}

#[allow(clippy::cast_possible_truncation)]
fn secs(v: Option<f64>) -> i64 {
    let now = v.unwrap_or_else(|| js_sys::Date::now() / 1000.0);
    if now.is_finite() { now.trunc() as i64 } else { 0 }
}

fn keys_from(key: Option<String>, jwks: Option<String>, secret: Option<String>, secret_b64: Option<String>) -> Result<KeySet, JsValue> {
    let mut set = KeySet::default();
    for text in [key, jwks].into_iter().flatten() {
        set.extend(KeySet::parse(&text).map_err(|e| err(&e))?);
    }
    if let Some(s) = secret {
        set.extend(KeySet::secret_utf8(&s));
    }
    if let Some(s) = secret_b64 {
        set.extend(KeySet::secret_base64(&s).map_err(|e| err(&e))?);
    }
    Ok(set)
}

/// Inspect a JWT: decode, explain, verify (when a key is given) and report every
/// finding. Never throws for a bad token (problems are findings); throws a
/// `SealpostError` with `code` for unusable options or keys.
#[wasm_bindgen(js_name = inspectJwt, unchecked_return_type = "JwtReport")]
pub fn inspect_jwt(
    #[wasm_bindgen(unchecked_param_type = "string")] token: JsValue,
    #[wasm_bindgen(unchecked_param_type = "InspectJwtOptions | undefined")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let Some(token) = token.dyn_ref::<JsString>() else {
        return Err(opts_err("the token must be a string"));
    };
    if token.length() as usize > jwt::MAX_TOKEN * 4 {
        return Err(err(&JwtError::InputTooLarge { limit: jwt::MAX_TOKEN }));
    }
    let token: String = token.into();
    let o: JsInspectOptions = if options.is_undefined() || options.is_null() {
        JsInspectOptions::default()
    } else {
        // One JSON.stringify + serde_json beats a property-by-property walk
        // across the JS boundary (bench/jwt.mjs).
        let text = js_sys::JSON::stringify(&options).ok().and_then(|s| s.as_string());
        text.and_then(|t| serde_json::from_str(&t).ok()).ok_or_else(|| opts_err("options do not match InspectJwtOptions"))?
    };
    let mut policy = Policy::default();
    policy.issuer = o.issuer.map(OneOrMany::into_vec).unwrap_or_default();
    policy.audience = o.audience.map(OneOrMany::into_vec).unwrap_or_default();
    policy.typ = o.typ;
    policy.required_claims = o.required_claims.unwrap_or_default();
    #[allow(clippy::cast_possible_truncation)]
    {
        policy.max_age = o.max_age.filter(|v| v.is_finite()).map(|v| v as i64);
        if let Some(l) = o.leeway.filter(|v| v.is_finite()) {
            policy.leeway = l as i64;
        }
        if let Some(ml) = o.max_lifetime {
            policy.max_lifetime = ml.filter(|v| v.is_finite()).map(|v| v as i64);
        }
    }
    if let Some(d) = o.max_act_depth {
        policy.max_act_depth = d as usize;
    }
    policy.crit_understood = o.crit_understood.unwrap_or_default();
    let opts = InspectOptions { now: secs(o.now), policy, keys: keys_from(o.key, o.jwks, o.secret, o.secret_base64)? };
    let report = jwt::inspect(&token, &opts);
    // The report crosses the boundary as one JSON string and one JSON.parse:
    // several times faster than building it object by object from WASM
    // (serde-wasm-bindgen sets each property with a separate JS call).
    let json = serde_json::to_string(&report).map_err(|_| opts_err("report serialization failed"))?;
    js_sys::JSON::parse(&json).map_err(|_| opts_err("report serialization failed"))
}

fn object_text(v: &JsValue, what: &'static str) -> Result<String, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok("{}".to_owned());
    }
    js_sys::JSON::stringify(v).ok().and_then(|s| s.as_string()).ok_or_else(|| err(&JwtError::JsonInvalid(what)))
}

/// Sign a test token. `claims` times may be relative (`+1h`, `-5m`, `now`).
/// `broken: "alg-none" | "strip-signature"` produces deliberately invalid tokens.
#[wasm_bindgen(js_name = signJwt)]
pub fn sign_jwt(#[wasm_bindgen(unchecked_param_type = "SignJwtOptions")] options: JsValue) -> Result<String, JsValue> {
    let get = |name: &str| js_sys::Reflect::get(&options, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
    let header = jwt::parse_object(&object_text(&get("header"), "header")?, "header").map_err(|e| err(&e))?;
    let claims = jwt::parse_object(&object_text(&get("claims"), "claims")?, "claims").map_err(|e| err(&e))?;
    let o: JsSignOptions = js_sys::JSON::stringify(&options)
        .ok()
        .and_then(|s| s.as_string())
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| opts_err("options do not match SignJwtOptions"))?;
    let broken = match o.broken.as_deref() {
        None => None,
        Some(b) => Some(Broken::parse(b).ok_or_else(|| opts_err("broken must be alg-none or strip-signature"))?),
    };
    let alg = match o.alg.as_deref() {
        None => None,
        Some(a) => Some(Alg::parse(a).ok_or_else(|| err(&JwtError::AlgUnsupported(a.chars().take(16).collect())))?),
    };
    let key = if let Some(k) = o.key {
        Some(SignKey::parse(&k).map_err(|e| err(&e))?)
    } else if let Some(s) = o.secret {
        Some(SignKey::secret(s.as_bytes()))
    } else if let Some(s) = o.secret_base64 {
        let set = KeySet::secret_base64(&s).map_err(|e| err(&e))?;
        match set.keys.first().map(|k| &k.material) {
            Some(jwt::PublicMaterial::Hmac(b)) => Some(SignKey::secret(b)),
            _ => None,
        }
    } else {
        None
    };
    jwt::sign(SignRequest { header, claims, alg, key: key.as_ref(), now: secs(o.now), broken }).map_err(|e| err(&e))
}
