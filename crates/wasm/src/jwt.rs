//! JWT exports of the full bundle: `inspectJwt` and `signJwt`. Conversion only
//! (JS values to core's options, errors to JS errors) and the cache of parsed
//! public keys; the engine and every decision (option meaning, policy, signing
//! key, which keys may be cached) is `sealpost_core::jwt`, tested natively.

use std::cell::RefCell;

use js_sys::JsString;
use sealpost_core::jwt::{self, InspectOptions, JsonOptions, JwtError, KeySet, Policy, SignOptions};
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
  kind: "id_token" | "access_token" | "access_token_like" | "dpop_proof" | "logout_token" | "id_jag" | "client_assertion" | "encrypted" | "other" | null;
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
  /** Only "valid" means verified. With a key given, every other status comes with a critical finding. */
  status: "not_attempted" | "valid" | "invalid" | "no_matching_key" | "alg_mismatch" | "unsupported" | "malformed";
  alg: string | null; key: JwtKeySummary | null; keysSupplied: number; candidates: number; detail: string;
}
export interface JwtDpopBinding {
  status: "match" | "mismatch" | "missing" | "unchecked";
  /** What the inspector computed: SHA-256 of the access token (ath), or the proof's thumbprint (jkt). */
  expected: string | null;
  /** What the tokens say: the proof's ath, or the access token's cnf.jkt. */
  actual: string | null;
}
/** DPoP proof checks (RFC 9449). `proofKeyVerified` is the signature against the proof's own
 *  header jwk: possession of that key, not trust (that is `verification` / `summary.signatureVerified`). */
export interface JwtDpop {
  thumbprint: string | null;
  key: JwtKeySummary | null;
  proofKeyStatus: "valid" | "invalid" | "no_key" | "private_key" | "key_unusable" | "unsupported" | "malformed";
  proofKeyVerified: boolean;
  detail: string;
  htm: string | null;
  htu: string | null;
  accessTokenGiven: boolean;
  ath: JwtDpopBinding | null;
  jkt: JwtDpopBinding | null;
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
  /** Present when the token is a DPoP proof. */
  dpop: JwtDpop | null;
  findings: JwtFinding[];
  findingsTruncated: boolean;
  /** `signatureVerified`: a supplied key verified the signature over a well-formed compact token (status "valid"). */
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
  /** The access token a DPoP proof accompanies: checks the proof's ath and the token's cnf.jkt. */
  accessToken?: string;
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

/// An options object, read through one `JSON.stringify` (one boundary crossing
/// instead of one per property) into core's [`JsonOptions`].
fn read_opts(v: &JsValue, what: &'static str) -> Result<JsonOptions, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(JsonOptions::default());
    }
    let text = js_sys::JSON::stringify(v).ok().and_then(|s| s.as_string()).ok_or_else(|| opts_err(what))?;
    JsonOptions::parse(&text, what).map_err(|e| err(&e))
}

fn err(e: &JwtError) -> JsValue {
    js_error(e.code(), &e.to_string())
}

fn opts_err(msg: &'static str) -> JsValue {
    err(&JwtError::OptionsInvalid(msg))
}

/// Seconds since the epoch as given, else the current time.
#[allow(clippy::cast_possible_truncation)]
fn secs(v: Option<f64>) -> i64 {
    let now = v.unwrap_or_else(|| js_sys::Date::now() / 1000.0);
    if now.is_finite() { now.trunc() as i64 } else { 0 }
}

/// Most public key texts kept parsed between calls.
const KEY_CACHE: usize = 4;

thread_local! {
    /// Parsed public keys by their exact text. Pages and the extension check many
    /// tokens against the same key or JWKS, and parsing an RSA key (its Montgomery
    /// parameters need a 2048-bit division) costs as much as verifying with it.
    /// Only sets core calls public-only ([`KeySet::is_public_only`]) are kept.
    static PARSED_KEYS: RefCell<Vec<(String, KeySet)>> = const { RefCell::new(Vec::new()) };
}

fn parse_keys(text: &str) -> Result<KeySet, JsValue> {
    if let Some(hit) = PARSED_KEYS.with_borrow(|c| c.iter().find(|(t, _)| t == text).map(|(_, k)| k.clone())) {
        return Ok(hit);
    }
    let set = KeySet::parse(text).map_err(|e| err(&e))?;
    if set.is_public_only() {
        give_back(text.to_owned(), set.clone());
    }
    Ok(set)
}

/// A cached set, taken out whole (no copy) for one call; see [`give_back`].
fn take_cached(text: &str) -> Option<KeySet> {
    PARSED_KEYS.with_borrow_mut(|c| c.iter().position(|(t, _)| t == text).map(|i| c.remove(i).1))
}

/// Keep a set (as the most recently used entry), or return one lent by [`take_cached`].
fn give_back(text: String, set: KeySet) {
    PARSED_KEYS.with_borrow_mut(|c| {
        if c.len() >= KEY_CACHE {
            c.remove(0);
        }
        c.push((text, set));
    });
}

/// The keys of one call, and the key text to give the set back under when it
/// was lent whole from the cache (the common case: one JWK or JWKS text, no
/// secret; the parsed keys, with an RSA key's Montgomery parameters and an EC
/// key's place in core's table cache, are then neither parsed nor copied).
fn keys_from(
    key: Option<String>,
    jwks: Option<String>,
    secret: Option<String>,
    secret_b64: Option<String>,
) -> Result<(KeySet, Option<String>), JsValue> {
    if secret.is_none()
        && secret_b64.is_none()
        && let (Some(text), None) | (None, Some(text)) = (&key, &jwks)
        && let Some(set) = take_cached(text)
    {
        return Ok((set, key.or(jwks)));
    }
    let mut set = KeySet::default();
    for text in [key, jwks].into_iter().flatten() {
        set.extend(parse_keys(&text)?);
    }
    if let Some(s) = secret {
        set.extend(KeySet::secret_utf8(&s));
    }
    if let Some(s) = secret_b64 {
        set.extend(KeySet::secret_base64(&s).map_err(|e| err(&e))?);
    }
    Ok((set, None))
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
    let o = read_opts(&options, "options do not match InspectJwtOptions")?;
    let policy = Policy::from_json(&o).map_err(|e| err(&e))?;
    let string = |k: &str, bad: &'static str| o.string(k, bad).map_err(|e| err(&e));
    let now = o.number("now", "now must be a number (seconds since the epoch)").map_err(|e| err(&e))?;
    let (keys, lent) = keys_from(
        string("key", "key must be a string")?,
        string("jwks", "jwks must be a string (JWKS JSON text)")?,
        string("secret", "secret must be a string")?,
        string("secretBase64", "secretBase64 must be a string")?,
    )?;
    let access_token =
        string("accessToken", "accessToken must be a string (the access token a DPoP proof accompanies)")?;
    let opts = InspectOptions { now: secs(now), policy, keys, access_token };
    let report = jwt::inspect(&token, &opts);
    if let Some(text) = lent {
        give_back(text, opts.keys);
    }
    // The report crosses the boundary as one JSON string and one JSON.parse:
    // several times faster than building it object by object from WASM
    // (serde-wasm-bindgen sets each property with a separate JS call).
    let mut out = JsonOut { done: Vec::new(), buf: [0; JsonOut::BUF], n: 0 };
    serde_json::to_writer(&mut out, &report).map_err(|_| opts_err("report serialization failed"))?;
    let json = out.finish();
    let json = std::str::from_utf8(&json).map_err(|_| opts_err("report serialization failed"))?;
    js_sys::JSON::parse(json).map_err(|_| opts_err("report serialization failed"))
}

/// The report's JSON text. serde_json writes it in hundreds of small pieces (a
/// quote, a colon, a key); appended to a `Vec` each is a variable-length copy,
/// a `memory.copy` that V8 runs as a call out of the module, costlier than the
/// copy itself. Here small pieces go into a fixed buffer in 8-, 4-, 2- and
/// 1-byte moves of constant size (plain loads and stores), and the buffer
/// joins the output a few KB at a time.
struct JsonOut {
    done: Vec<u8>,
    buf: [u8; JsonOut::BUF],
    n: usize,
}

impl JsonOut {
    const BUF: usize = 2048;
    /// Longest piece copied through the buffer.
    const SMALL: usize = 64;

    fn flush_buf(&mut self) {
        if let Some(b) = self.buf.get(..self.n) {
            self.done.extend_from_slice(b);
        }
        self.n = 0;
    }

    fn finish(mut self) -> Vec<u8> {
        self.flush_buf();
        self.done
    }

    /// Appends `b` (exactly `N` bytes, with room for them in the buffer).
    fn put<const N: usize>(&mut self, b: &[u8]) -> std::io::Result<()> {
        if let (Ok(src), Some(dst)) = (<&[u8; N]>::try_from(b), self.buf.get_mut(self.n..self.n + N))
            && let Ok(dst) = <&mut [u8; N]>::try_from(dst)
        {
            *dst = *src;
            self.n += N;
            return Ok(());
        }
        Err(std::io::Error::other("report buffer"))
    }
}

impl std::io::Write for JsonOut {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.write_all(b)?;
        Ok(b.len())
    }

    fn write_all(&mut self, mut b: &[u8]) -> std::io::Result<()> {
        if b.len() > Self::SMALL {
            self.flush_buf();
            self.done.extend_from_slice(b);
            return Ok(());
        }
        if self.n + b.len() > Self::BUF {
            self.flush_buf();
        }
        while let Some((head, rest)) = b.split_at_checked(8) {
            self.put::<8>(head)?;
            b = rest;
        }
        if let Some((head, rest)) = b.split_at_checked(4) {
            self.put::<4>(head)?;
            b = rest;
        }
        if let Some((head, rest)) = b.split_at_checked(2) {
            self.put::<2>(head)?;
            b = rest;
        }
        if let Some((head, _)) = b.split_at_checked(1) {
            self.put::<1>(head)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sign a test token. `claims` times may be relative (`+1h`, `-5m`, `now`).
/// `broken: "alg-none" | "strip-signature"` produces deliberately invalid tokens.
#[wasm_bindgen(js_name = signJwt)]
pub fn sign_jwt(#[wasm_bindgen(unchecked_param_type = "SignJwtOptions")] options: JsValue) -> Result<String, JsValue> {
    let o = read_opts(&options, "options do not match SignJwtOptions")?;
    let request = SignOptions::from_json(&o).map_err(|e| err(&e))?;
    let now = secs(request.now);
    request.sign(now).map_err(|e| err(&e))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::JsonOut;
    use std::io::Write as _;

    /// Pieces of every length from 0 to past the small-piece limit, across
    /// several buffer flushes, come out byte for byte as written.
    #[test]
    fn json_out_keeps_every_byte() {
        let mut out = JsonOut { done: Vec::new(), buf: [0; JsonOut::BUF], n: 0 };
        let mut want = Vec::new();
        for round in 0..40u8 {
            for len in 0..=JsonOut::SMALL + 3 {
                let piece: Vec<u8> = (0..len).map(|i| round.wrapping_mul(31).wrapping_add(i as u8)).collect();
                out.write_all(&piece).unwrap();
                want.extend_from_slice(&piece);
            }
        }
        assert!(want.len() > 10 * JsonOut::BUF);
        assert_eq!(out.finish(), want);
    }

    /// A report serialized through it is serde_json's own text.
    #[test]
    fn json_out_report_matches_serde_json() {
        let token = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4IiwiaXNzIjoiaHR0cHM6Ly9pc3N1ZXIuZXhhbXBsZSIsImV4cCI6MTcwMDAwMzYwMCwibmFtZSI6IlwiZXNjYXBlZFwiIFx1MDBlOSJ9.";
        let report = sealpost_core::jwt::inspect(token, &sealpost_core::jwt::InspectOptions::at(1_700_000_000));
        let mut out = JsonOut { done: Vec::new(), buf: [0; JsonOut::BUF], n: 0 };
        serde_json::to_writer(&mut out, &report).unwrap();
        assert_eq!(out.finish(), serde_json::to_vec(&report).unwrap());
    }
}
