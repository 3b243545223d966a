//! Sealpost WASM bindings: a thin wasm-bindgen layer over `sealpost-core`.
//!
//! No logic lives here: this crate converts JS values to core types and core
//! errors to JS `Error`s carrying a stable `code` (the same string as core's
//! `code()`). Everything it calls is tested natively in `crates/core`; this
//! layer is tested against the built bundle in `tests/node/wasm_*.test.mjs`.
//!
//! Nothing here may panic: the bundle is built with `panic = "abort"`, and a
//! panic would surface as a `RuntimeError: unreachable` that kills the module.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[cfg(feature = "jwt")]
mod jwt;

/// The allocator: talc instead of Rust's default dlmalloc for WASM, about a
/// fifth of its code at the same speed (docs/performance.md); it
/// grows the module's memory as dlmalloc does, and reuses what is freed
/// (tests/node/wasm_seal.test.mjs checks that memory stays put over many seals).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

use js_sys::{Array, JsString, Object, Reflect};
use sealpost_core::envelope::{self, Credentials, EnvelopeError, MAX_CREDENTIAL_FIELDS, MAX_CREDENTIALS_BYTES};
use sealpost_core::keys::{AgentPublicKey, KeyError, MAX_KEY_INPUT};
use wasm_bindgen::prelude::*;

/// Code for a `credentials` argument that is not a plain object of strings.
/// Same string as core's `EnvelopeError` code for invalid credentials.
pub(crate) const ERR_CREDENTIALS_INVALID: &str = "ERR_CREDENTIALS_INVALID";
/// Code for a `sessionId` that is not a string (only reachable from plain JS
/// callers that ignore the TypeScript types) or holds a lone UTF-16 surrogate.
/// Every other code comes from core.
pub(crate) const ERR_INVALID_ARGUMENT: &str = "ERR_INVALID_ARGUMENT";
/// Code for a string that cannot be a user code (`userCode`).
pub(crate) const ERR_CODE_INVALID: &str = "ERR_CODE_INVALID";

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Key fingerprint: SHA-256 of the DER SubjectPublicKeyInfo (docs/protocol.md, "Key fingerprint"). */
export interface Fingerprint {
  /** Lowercase hex of the first 6 digest bytes in three groups, e.g. `3f9a-41c2-7d0e`. */
  short: string;
  /** `SHA256:` + unpadded standard base64 of the digest (SSH style). */
  long: string;
}

/** A user code in its three spellings (`userCode`). */
export interface UserCode {
  /** Canonical 8 characters, upper case, no hyphen. */
  code: string;
  /** Display form `ABCD-1234`. */
  display: string;
  /** `session_id`: lowercase hex SHA-256 of `code`. */
  sessionId: string;
}

/** Stable error codes carried by every error this module throws (`err.code`). */
export type SealpostErrorCode =
  | "ERR_KEY_MALFORMED"
  | "ERR_KEY_NOT_RSA"
  | "ERR_KEY_TOO_SMALL"
  | "ERR_KEY_TOO_LARGE"
  | "ERR_KEY_BAD_EXPONENT"
  | "ERR_RANDOM_UNAVAILABLE"
  | "ERR_CREDENTIALS_INVALID"
  | "ERR_INPUT_TOO_LARGE"
  | "ERR_INVALID_ARGUMENT"
  | "ERR_CODE_INVALID"
  // Open-ended: the full bundle's JWT exports add their own ERR_JWT_* codes.
  | (string & {});

/**
 * The errors thrown by this module: real `Error` instances (`name` is
 * `"SealpostError"`) with a stable `code`. Messages never contain secrets
 * or key material.
 */
export interface SealpostError extends Error {
  name: "SealpostError";
  code: SealpostErrorCode;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// `Object.entries`, with JS exceptions (throwing getters, proxies) caught.
    #[wasm_bindgen(js_namespace = Object, js_name = entries, catch)]
    fn object_entries(obj: &JsValue) -> Result<Array, JsValue>;

    /// `Object.getPrototypeOf`, with JS exceptions (proxy traps) caught.
    #[wasm_bindgen(js_namespace = Object, js_name = getPrototypeOf, catch)]
    fn get_prototype_of(obj: &JsValue) -> Result<JsValue, JsValue>;

    /// A JS string, seen only for `String.prototype.isWellFormed` (ES2024).
    type WellFormed;
    /// An error where the method is missing.
    #[wasm_bindgen(method, js_name = isWellFormed, catch)]
    fn is_well_formed(this: &WellFormed) -> Result<bool, JsValue>;
}

/// A real JS `Error` with `name = "SealpostError"` and a stable `code`.
///
/// `message` must never contain secrets; callers pass core's `Display`
/// output, which is documented to be secret-free.
pub(crate) fn js_error(code: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    err.set_name("SealpostError");
    // Setting a property on a fresh Error cannot fail; if it ever did, the
    // error still propagates (without a code) rather than panicking.
    let _ = Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
    err.into()
}

/// Converts a core error (anything with `code()` and `Display`) into a JS error.
macro_rules! to_js {
    ($e:expr) => {{
        let e = $e;
        js_error(e.code(), &e.to_string())
    }};
}

fn parse_key(public_key: &JsValue) -> Result<AgentPublicKey, JsValue> {
    let Some(key) = public_key.dyn_ref::<JsString>() else {
        return Err(to_js!(KeyError::Malformed("the key must be a string")));
    };
    // Refuse oversize input before copying it into WASM memory. A UTF-16 length
    // never exceeds the UTF-8 length, so this only catches inputs core refuses too.
    if key.length() as usize > MAX_KEY_INPUT {
        return Err(to_js!(KeyError::InputTooLarge));
    }
    AgentPublicKey::from_wire(&String::from(key)).map_err(|e| to_js!(e))
}

/// A plain object is one whose prototype is `Object.prototype` of some realm
/// (its own prototype is `null`) or `null` itself. Arrays, Maps, class
/// instances and boxed primitives are rejected.
fn is_plain_object(value: &JsValue) -> bool {
    if !value.is_object() || Array::is_array(value) {
        return false;
    }
    match get_prototype_of(value) {
        Ok(proto) if proto.is_null() => true,
        Ok(proto) => matches!(get_prototype_of(&proto), Ok(p) if p.is_null()),
        Err(_) => false,
    }
}

/// Whether `String::from(js)` (which gave `text`) may have replaced a lone
/// UTF-16 surrogate with U+FFFD: a silent change of the string. Only a text that
/// holds U+FFFD is asked about, so well-formed input costs nothing extra; where
/// `isWellFormed` is missing (browsers before 2023) such a text is refused.
fn lost_surrogate(js: &JsValue, text: &str) -> bool {
    text.as_bytes().windows(3).any(|w| w == "\u{FFFD}".as_bytes())
        && !js.unchecked_ref::<WellFormed>().is_well_formed().unwrap_or(false)
}

fn credentials_from_js(value: &JsValue) -> Result<Credentials, JsValue> {
    const NOT_OBJECT: &str = "credentials must be a plain object mapping field names to strings";
    const NOT_STRING: &str = "every credential value must be a string";
    const NOT_TEXT: &str = "credentials must be well-formed text (no lone surrogate)";
    if !is_plain_object(value) {
        return Err(js_error(ERR_CREDENTIALS_INVALID, NOT_OBJECT));
    }
    let entries = object_entries(value).map_err(|_| js_error(ERR_CREDENTIALS_INVALID, NOT_OBJECT))?;
    if entries.length() as usize > MAX_CREDENTIAL_FIELDS {
        return Err(to_js!(EnvelopeError::InputTooLarge("too many fields")));
    }
    // Check types and (UTF-16) sizes before copying any secret into WASM memory,
    // so a huge value is refused without a huge allocation.
    let mut total = 0usize;
    let mut pairs = Vec::with_capacity(entries.length() as usize);
    for entry in entries.iter() {
        let pair: Array = entry.unchecked_into();
        let (name, secret) = (pair.get(0), pair.get(1));
        let (Some(name), Some(secret)) = (name.dyn_ref::<JsString>(), secret.dyn_ref::<JsString>()) else {
            return Err(js_error(ERR_CREDENTIALS_INVALID, NOT_STRING));
        };
        total = total.saturating_add(name.length() as usize).saturating_add(secret.length() as usize);
        if total > MAX_CREDENTIALS_BYTES {
            return Err(to_js!(EnvelopeError::InputTooLarge("credentials exceed 64 KiB")));
        }
        pairs.push((name.clone(), secret.clone()));
    }
    // A lone surrogate is refused, not replaced: U+FFFD would change the secret
    // (and could merge two field names). The refused strings still go into
    // `creds`, so that they are zeroized when it is dropped.
    let mut creds = Credentials::new();
    let mut lossy = false;
    for (name, secret) in pairs {
        let (n, v) = (String::from(&name), String::from(&secret));
        lossy = lossy || lost_surrogate(&name, &n) || lost_surrogate(&secret, &v);
        creds.insert(n, v);
    }
    if lossy {
        return Err(js_error(ERR_CREDENTIALS_INVALID, NOT_TEXT));
    }
    Ok(creds)
}

/// Seals `credentials` for the agent key `publicKey` as a LinkAuth v1 envelope
/// (`algorithm: "RSA-OAEP-256+AES-256-GCM"`) and returns the wire `ciphertext`.
///
/// `publicKey` is the session's `public_key` (base64 DER SPKI; PEM accepted).
/// `credentials` is a plain object of field name -> string value.
///
/// @throws {SealpostError} `ERR_KEY_*` for an unusable key, `ERR_CREDENTIALS_INVALID`
/// for anything but a plain object of strings (or a name or value holding a lone
/// UTF-16 surrogate, which is refused rather than replaced), `ERR_INPUT_TOO_LARGE`,
/// `ERR_RANDOM_UNAVAILABLE`.
#[wasm_bindgen(js_name = seal)]
pub fn seal(
    #[wasm_bindgen(js_name = publicKey, unchecked_param_type = "string")] public_key: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Record<string, string>")] credentials: JsValue,
) -> Result<String, JsValue> {
    let key = parse_key(&public_key)?;
    let creds = credentials_from_js(&credentials)?;
    envelope::seal(&key, &creds).map_err(|e| to_js!(e))
}

/// Seals `credentials` as a JWE compact serialization (`algorithm: "JWE"`) with
/// protected header `{alg: "RSA-OAEP-256", enc: "A256GCM", kid: <long fingerprint>, sid: sessionId}`.
///
/// @throws {SealpostError} the same codes as `seal`, and `ERR_INVALID_ARGUMENT`
/// when `sessionId` is not a string or holds a lone UTF-16 surrogate.
#[wasm_bindgen(js_name = sealJwe)]
pub fn seal_jwe(
    #[wasm_bindgen(js_name = publicKey, unchecked_param_type = "string")] public_key: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Record<string, string>")] credentials: JsValue,
    #[wasm_bindgen(js_name = sessionId, unchecked_param_type = "string")] session_id: JsValue,
) -> Result<String, JsValue> {
    let key = parse_key(&public_key)?;
    let creds = credentials_from_js(&credentials)?;
    // The session id is bound into the JWE header: a replaced lone surrogate
    // would seal for another session, so it is refused.
    let Some(sid) = session_id.as_string().filter(|t| !lost_surrogate(&session_id, t)) else {
        return Err(js_error(ERR_INVALID_ARGUMENT, "sessionId must be a string of well-formed text"));
    };
    envelope::seal_jwe(&key, &creds, &sid).map_err(|e| to_js!(e))
}

/// Computes the fingerprint of `publicKey` (SHA-256 of its DER SPKI).
/// The consent page must compute this itself, never trust one from the broker.
///
/// @throws {SealpostError} `ERR_KEY_*` for an unusable key.
#[wasm_bindgen(js_name = fingerprint, unchecked_return_type = "Fingerprint")]
pub fn fingerprint(
    #[wasm_bindgen(js_name = publicKey, unchecked_param_type = "string")] public_key: JsValue,
) -> Result<JsValue, JsValue> {
    let fp = parse_key(&public_key)?.fingerprint();
    let out = Object::new();
    for (name, value) in [("short", fp.short()), ("long", fp.long())] {
        Reflect::set(&out, &JsValue::from_str(name), &JsValue::from_str(&value))?;
    }
    Ok(out.into())
}

/// Normalizes a user code as typed (hyphens and whitespace dropped, upper-cased)
/// and returns `{code, display, sessionId}`: the canonical 8 characters, the
/// `ABCD-1234` form, and `session_id = hex SHA-256(code)` (docs/protocol.md,
/// "Identifiers"), the same function the broker and the CLI use.
///
/// @throws {SealpostError} `ERR_CODE_INVALID` when `code` cannot be a user code.
#[wasm_bindgen(js_name = userCode, unchecked_return_type = "UserCode")]
pub fn user_code(#[wasm_bindgen(unchecked_param_type = "string")] code: JsValue) -> Result<JsValue, JsValue> {
    use sealpost_core::protocol::{normalize_user_code, session_id_for_code};
    let text = code.as_string().unwrap_or_default();
    let canonical = normalize_user_code(&text);
    // Display form built by hand: `format!` would pull core::fmt into the seal bundle.
    let parts = canonical.as_deref().and_then(|c| Some((c.get(..4)?, c.get(4..)?, session_id_for_code(c)?)));
    let (Some(canonical), Some((head, tail, sid))) = (canonical.as_deref(), parts) else {
        return Err(js_error(ERR_CODE_INVALID, "not a user code: 8 characters from A-Z and 0-9"));
    };
    let display = [head, "-", tail].concat();
    let out = Object::new();
    for (name, value) in [("code", canonical), ("display", display.as_str()), ("sessionId", sid.as_str())] {
        Reflect::set(&out, &JsValue::from_str(name), &JsValue::from_str(value))?;
    }
    Ok(out.into())
}
