//! The LinkAuth envelope (`RSA-OAEP-256+AES-256-GCM`) and its JWE form.
//!
//! Spec: `docs/protocol.md`, sections "The envelope" and "JWE envelope".
//!
//! Sealing runs in the browser (wasm32) and opening on the agent (native); both
//! are this code. Opening fails with one opaque [`EnvelopeError::DecryptFailed`]
//! whatever went wrong cryptographically: callers never learn whether RSA-OAEP
//! or AES-GCM failed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::encoding::b64;
use crate::error::ErrorCode;
#[cfg(feature = "keygen")]
use crate::keys::AgentPrivateKey;
use crate::keys::AgentPublicKey;

pub use crate::protocol::{ALG_JWE, ALG_LINKAUTH, EnvelopeKind};
/// Largest serialized credentials (JSON bytes) that may be sealed.
pub const MAX_CREDENTIALS_BYTES: usize = 64 * 1024;
/// Largest number of credentials (fields) an envelope may carry. Not
/// [`crate::protocol::MAX_FORM_FIELDS`], which bounds the fields a form asks for.
pub const MAX_CREDENTIAL_FIELDS: usize = 256;
/// Largest envelope text that `open`/`open_jwe` will look at.
pub const MAX_ENVELOPE_BYTES: usize = 256 * 1024;

/// Why sealing or opening failed. Never carries secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The recipient key was refused.
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
    /// The credentials are not a JSON object whose values are all strings, or a
    /// field name is empty.
    #[error("credentials must be an object of string values: {0}")]
    CredentialsInvalid(&'static str),
    /// The input exceeds the size limits ([`MAX_CREDENTIALS_BYTES`],
    /// [`MAX_CREDENTIAL_FIELDS`], [`MAX_ENVELOPE_BYTES`]).
    #[error("input too large: {0}")]
    InputTooLarge(&'static str),
    /// The envelope's structure is wrong (base64, JSON, part count or lengths).
    #[error("the envelope is malformed: {0}")]
    Malformed(&'static str),
    /// The envelope uses an algorithm this implementation does not open.
    #[error("unsupported envelope: {0}")]
    Unsupported(&'static str),
    /// Opening failed. Deliberately says nothing about which step failed.
    #[error("the envelope could not be decrypted")]
    DecryptFailed,
    /// A JWE envelope was made for another session (`sid` mismatch).
    #[error("the envelope was sealed for a different session")]
    SessionMismatch,
    /// The platform random number generator is unavailable.
    #[error("no secure random number generator is available")]
    RandomUnavailable,
}

impl ErrorCode for EnvelopeError {
    fn code(&self) -> &'static str {
        match self {
            EnvelopeError::Key(k) => ErrorCode::code(k),
            EnvelopeError::CredentialsInvalid(_) => "ERR_CREDENTIALS_INVALID",
            EnvelopeError::InputTooLarge(_) => "ERR_INPUT_TOO_LARGE",
            EnvelopeError::Malformed(_) => "ERR_ENVELOPE_MALFORMED",
            EnvelopeError::Unsupported(_) => "ERR_ENVELOPE_UNSUPPORTED",
            EnvelopeError::DecryptFailed => "ERR_DECRYPT_FAILED",
            EnvelopeError::SessionMismatch => "ERR_JWE_SESSION_MISMATCH",
            EnvelopeError::RandomUnavailable => "ERR_RANDOM_UNAVAILABLE",
        }
    }
}

impl From<crate::crypto::CryptoError> for EnvelopeError {
    fn from(e: crate::crypto::CryptoError) -> Self {
        use crate::crypto::CryptoError;
        match e {
            CryptoError::RandomUnavailable => EnvelopeError::RandomUnavailable,
            CryptoError::DecryptFailed => EnvelopeError::DecryptFailed,
            CryptoError::InputTooLarge(what) => EnvelopeError::InputTooLarge(what),
            CryptoError::Malformed(what) => EnvelopeError::Malformed(what),
        }
    }
}

impl EnvelopeError {
    /// The stable code (same as [`ErrorCode::code`]).
    pub fn code(&self) -> &'static str {
        ErrorCode::code(self)
    }
}

/// Credentials: field name -> value, kept in name order with one value per
/// name. Every string is zeroized on drop; `Debug` shows field names only.
///
/// A sorted `Vec`, not a `BTreeMap`: at most [`MAX_CREDENTIAL_FIELDS`] small
/// entries, and the tree's node code was 2.3 KB gzip of the seal-only WASM
/// bundle (docs/performance.md).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials(Vec<(String, String)>);

impl core::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_set().entries(self.0.iter().map(|(k, _)| k)).finish()
    }
}

impl Drop for Credentials {
    fn drop(&mut self) {
        for (k, v) in &mut self.0 {
            k.zeroize();
            v.zeroize();
        }
    }
}

impl From<BTreeMap<String, String>> for Credentials {
    fn from(map: BTreeMap<String, String>) -> Self {
        // Already in name order, one value per name.
        Credentials(map.into_iter().collect())
    }
}

/// A JSON object of strings, as the `BTreeMap` it used to be.
impl Serialize for Credentials {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Credentials {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BTreeMap::deserialize(d).map(Self::from)
    }
}

impl Credentials {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(name))
    }

    /// Insert a field, returning the previous value (zeroized when dropped).
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) -> Option<Zeroizing<String>> {
        let (mut name, value) = (name.into(), value.into());
        match self.find(&name) {
            Ok(i) => {
                name.zeroize();
                Some(Zeroizing::new(core::mem::replace(&mut self.0[i].1, value)))
            }
            Err(i) => {
                self.0.insert(i, (name, value));
                None
            }
        }
    }

    /// A field's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.find(name).ok().map(|i| self.0[i].1.as_str())
    }

    /// Fields in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parse a JSON object whose values are all strings.
    pub fn from_json(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        if bytes.len() > MAX_CREDENTIALS_BYTES {
            return Err(EnvelopeError::InputTooLarge("credentials exceed 64 KiB"));
        }
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|_| EnvelopeError::CredentialsInvalid("not JSON"))?;
        let serde_json::Value::Object(object) = value else {
            return Err(EnvelopeError::CredentialsInvalid("not a JSON object"));
        };
        let mut creds = Credentials::new();
        let mut invalid = false;
        // Walk every entry even after a failure so all strings get zeroized.
        for (mut name, value) in object {
            match value {
                serde_json::Value::String(s) if !invalid => {
                    creds.insert(name, s);
                }
                serde_json::Value::String(mut s) => {
                    name.zeroize();
                    s.zeroize();
                }
                mut other => {
                    name.zeroize();
                    zeroize_value(&mut other);
                    invalid = true;
                }
            }
        }
        if invalid {
            return Err(EnvelopeError::CredentialsInvalid("a value is not a string"));
        }
        creds.validate()?;
        Ok(creds)
    }

    /// Check the limits and field names.
    pub fn validate(&self) -> Result<(), EnvelopeError> {
        if self.0.len() > MAX_CREDENTIAL_FIELDS {
            return Err(EnvelopeError::InputTooLarge("too many fields"));
        }
        if self.0.iter().any(|(k, _)| k.is_empty()) {
            return Err(EnvelopeError::CredentialsInvalid("a field name is empty"));
        }
        Ok(())
    }

    /// Serialize to JSON in zeroizing memory: one compact object, members in
    /// name order, strings escaped as `serde_json` escapes them.
    pub fn to_json(&self) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        self.validate()?;
        // First pass counts the exact JSON length so the real buffer never
        // reallocates (a reallocation would leave an unzeroized copy behind).
        let mut counter = 0usize;
        json::object(&mut counter, self.iter());
        if counter > MAX_CREDENTIALS_BYTES {
            return Err(EnvelopeError::InputTooLarge("credentials exceed 64 KiB"));
        }
        let mut out = Zeroizing::new(Vec::with_capacity(counter));
        json::object(&mut *out, self.iter());
        Ok(out)
    }
}

/// The little JSON writing sealing needs (objects of strings), by hand: the
/// seal-only WASM bundle carries no `serde_json`. Opening still parses with
/// `serde_json`.
mod json {
    /// Where JSON goes: a buffer, or a byte counter.
    pub(super) trait JsonOut {
        fn put(&mut self, bytes: &[u8]);
    }
    impl JsonOut for Vec<u8> {
        fn put(&mut self, bytes: &[u8]) {
            self.extend_from_slice(bytes);
        }
    }
    impl JsonOut for usize {
        fn put(&mut self, bytes: &[u8]) {
            *self = self.saturating_add(bytes.len());
        }
    }

    /// A JSON string, escaped as `serde_json` does: `"` `\` and the short forms
    /// `\b \f \n \r \t`, other control characters as `\u00xx`, the rest verbatim.
    pub(super) fn string(out: &mut impl JsonOut, s: &str) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.put(b"\"");
        let bytes = s.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let short = match b {
                b'"' => b'"',
                b'\\' => b'\\',
                0x08 => b'b',
                0x0c => b'f',
                b'\n' => b'n',
                b'\r' => b'r',
                b'\t' => b't',
                0..=0x1f => 0,
                _ => continue,
            };
            out.put(bytes.get(start..i).unwrap_or_default());
            start = i + 1;
            if short == 0 {
                out.put(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            } else {
                out.put(&[b'\\', short]);
            }
        }
        out.put(bytes.get(start..).unwrap_or_default());
        out.put(b"\"");
    }

    /// `{"name":"value",...}` in the given order.
    pub(super) fn object<'a>(out: &mut impl JsonOut, members: impl IntoIterator<Item = (&'a str, &'a str)>) {
        out.put(b"{");
        for (i, (name, value)) in members.into_iter().enumerate() {
            if i > 0 {
                out.put(b",");
            }
            string(out, name);
            out.put(b":");
            string(out, value);
        }
        out.put(b"}");
    }
}

fn zeroize_value(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => s.zeroize(),
        serde_json::Value::Array(items) => items.iter_mut().for_each(zeroize_value),
        serde_json::Value::Object(map) => {
            for (_, v) in map.iter_mut() {
                zeroize_value(v);
            }
        }
        _ => {}
    }
}

#[cfg(feature = "keygen")]
/// Deserialize a JSON *object* into `T`. serde's derived struct visitors also
/// accept arrays (positional fields); the spec's structures are objects only.
/// Duplicate members are refused by the derived visitor.
fn from_json_object<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &'static str) -> Result<T, EnvelopeError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(EnvelopeError::Malformed(what));
    }
    serde_json::from_slice(bytes).map_err(|_| EnvelopeError::Malformed(what))
}

/// The JSON inside the LinkAuth `ciphertext` (before the outer base64).
/// Written by [`seal`] by hand; read by [`open`].
#[cfg(feature = "keygen")]
#[derive(Deserialize)]
struct Inner {
    wrapped_key: String,
    iv: String,
    ciphertext: String,
}

/// Seal credentials to the agent key as a LinkAuth envelope. Returns the wire
/// `ciphertext` value; send it with `algorithm` = [`ALG_LINKAUTH`].
pub fn seal(recipient: &AgentPublicKey, credentials: &Credentials) -> Result<String, EnvelopeError> {
    let plaintext = credentials.to_json()?;
    let (cek, iv) = primitives::fresh_key_and_iv()?;
    let ct = primitives::aes256gcm_encrypt(&cek, &iv, &plaintext, b"")?;
    let wrapped = primitives::rsa_oaep_sha256_encrypt(recipient, &cek[..], b"")?;
    let (wrapped, iv, ct) = (b64::std(&wrapped), b64::std(&iv), b64::std(&ct));
    let mut json = Vec::new();
    json::object(&mut json, [("wrapped_key", wrapped.as_str()), ("iv", &iv), ("ciphertext", &ct)]);
    Ok(b64::std(&json))
}

/// The protected header of a Sealpost JWE envelope, as read by [`open_jwe`]
/// ([`seal_jwe`] writes `{"alg","enc","kid","sid"}` by hand).
#[cfg(feature = "keygen")]
#[derive(Deserialize)]
struct JweHeader {
    alg: String,
    enc: String,
    #[serde(default)]
    #[allow(dead_code)]
    kid: Option<String>,
    #[serde(default)]
    sid: Option<String>,
    // Read to refuse compressed or critical-extension envelopes.
    #[serde(default)]
    zip: Option<serde_json::Value>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// Seal credentials as a JWE compact serialization (`RSA-OAEP-256` / `A256GCM`)
/// with `kid` = the key's long fingerprint and `sid` = `session_id`, bound as AAD
/// through the protected header. Send with `algorithm` = [`ALG_JWE`].
pub fn seal_jwe(
    recipient: &AgentPublicKey,
    credentials: &Credentials,
    session_id: &str,
) -> Result<String, EnvelopeError> {
    if session_id.len() > 256 {
        return Err(EnvelopeError::InputTooLarge("session id"));
    }
    let plaintext = credentials.to_json()?;
    let kid = recipient.fingerprint().long();
    let mut header_json = Vec::new();
    json::object(&mut header_json, [("alg", "RSA-OAEP-256"), ("enc", "A256GCM"), ("kid", &kid), ("sid", session_id)]);
    let header_b64 = b64::url(&header_json);
    let (cek, iv) = primitives::fresh_key_and_iv()?;
    let mut ct = primitives::aes256gcm_encrypt(&cek, &iv, &plaintext, header_b64.as_bytes())?;
    let tag = ct.split_off(ct.len().saturating_sub(primitives::TAG_LEN));
    let wrapped = primitives::rsa_oaep_sha256_encrypt(recipient, &cek[..], b"")?;
    let parts = [header_b64, b64::url(&wrapped), b64::url(&iv), b64::url(&ct), b64::url(&tag)];
    Ok(parts.join("."))
}

/// Open a LinkAuth envelope (the wire `ciphertext` value).
#[cfg(feature = "keygen")]
pub fn open(key: &AgentPrivateKey, ciphertext: &str) -> Result<Credentials, EnvelopeError> {
    check_envelope_len(ciphertext)?;
    let json = b64::decode_any(ciphertext.trim()).ok_or(EnvelopeError::Malformed("outer base64"))?;
    let inner: Inner = from_json_object(&json, "inner JSON")?;
    let wrapped = b64::decode_any(&inner.wrapped_key).ok_or(EnvelopeError::Malformed("wrapped_key base64"))?;
    let iv = b64::decode_any(&inner.iv).ok_or(EnvelopeError::Malformed("iv base64"))?;
    let ct = b64::decode_any(&inner.ciphertext).ok_or(EnvelopeError::Malformed("ciphertext base64"))?;
    if iv.len() != primitives::IV_LEN {
        return Err(EnvelopeError::Malformed("iv must be 12 bytes"));
    }
    if ct.len() < primitives::TAG_LEN {
        return Err(EnvelopeError::Malformed("ciphertext shorter than the GCM tag"));
    }
    let plaintext = unwrap_and_decrypt(key, &wrapped, &iv, &ct, b"")?;
    Credentials::from_json(&plaintext)
}

/// Open a JWE envelope and check that it was sealed for `expected_session_id`.
#[cfg(feature = "keygen")]
pub fn open_jwe(key: &AgentPrivateKey, jwe: &str, expected_session_id: &str) -> Result<Credentials, EnvelopeError> {
    open_jwe_for(key, jwe, Some(expected_session_id))
}

/// [`open_jwe`]; without a session id every JWE is refused as a mismatch, after the same structural checks.
#[cfg(feature = "keygen")]
fn open_jwe_for(
    key: &AgentPrivateKey,
    jwe: &str,
    expected_session_id: Option<&str>,
) -> Result<Credentials, EnvelopeError> {
    check_envelope_len(jwe)?;
    let jwe = jwe.trim();
    let parts: Vec<&str> = jwe.split('.').collect();
    if parts.len() != 5 {
        return Err(EnvelopeError::Malformed("a JWE compact serialization has 5 parts"));
    }
    let decode = |s: &str, what: &'static str| b64::decode_url(s).ok_or(EnvelopeError::Malformed(what));
    let header_json = decode(parts[0], "JWE header base64url")?;
    let header: JweHeader = from_json_object(&header_json, "JWE header JSON")?;
    if header.alg != "RSA-OAEP-256" {
        return Err(EnvelopeError::Unsupported("JWE alg must be RSA-OAEP-256"));
    }
    if header.enc != "A256GCM" {
        return Err(EnvelopeError::Unsupported("JWE enc must be A256GCM"));
    }
    if header.zip.is_some() {
        return Err(EnvelopeError::Unsupported("JWE zip is not supported"));
    }
    if header.crit.is_some() {
        return Err(EnvelopeError::Unsupported("JWE crit is not supported"));
    }
    if expected_session_id.is_none() || header.sid.as_deref() != expected_session_id {
        return Err(EnvelopeError::SessionMismatch);
    }
    let wrapped = decode(parts[1], "JWE encrypted key base64url")?;
    let iv = decode(parts[2], "JWE iv base64url")?;
    let mut ct = decode(parts[3], "JWE ciphertext base64url")?;
    let tag = decode(parts[4], "JWE tag base64url")?;
    if iv.len() != primitives::IV_LEN {
        return Err(EnvelopeError::Malformed("iv must be 12 bytes"));
    }
    if tag.len() != primitives::TAG_LEN {
        return Err(EnvelopeError::Malformed("tag must be 16 bytes"));
    }
    ct.extend_from_slice(&tag);
    let plaintext = unwrap_and_decrypt(key, &wrapped, &iv, &ct, parts[0].as_bytes())?;
    Credentials::from_json(&plaintext)
}

/// The envelope kind an `algorithm` value names ([`ALG_LINKAUTH`] or [`ALG_JWE`],
/// exact spellings); anything else is [`EnvelopeError::Unsupported`].
pub fn envelope_kind(algorithm: &str) -> Result<EnvelopeKind, EnvelopeError> {
    EnvelopeKind::from_algorithm(algorithm).ok_or(EnvelopeError::Unsupported("unknown algorithm"))
}

/// Open an envelope of `kind`. A JWE must name `session_id` (`None`: refused
/// as [`EnvelopeError::SessionMismatch`]); a LinkAuth envelope ignores it.
#[cfg(feature = "keygen")]
pub fn open_any(
    key: &AgentPrivateKey,
    kind: EnvelopeKind,
    ciphertext: &str,
    session_id: Option<&str>,
) -> Result<Credentials, EnvelopeError> {
    match kind {
        EnvelopeKind::Linkauth => open(key, ciphertext),
        EnvelopeKind::Jwe => open_jwe_for(key, ciphertext, session_id),
    }
}

#[cfg(feature = "keygen")]
fn unwrap_and_decrypt(
    key: &AgentPrivateKey,
    wrapped: &[u8],
    iv: &[u8],
    ct_and_tag: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    let cek = primitives::rsa_oaep_sha256_decrypt(key, wrapped, b"")?;
    let cek: &[u8; 32] = cek.as_slice().try_into().map_err(|_| EnvelopeError::DecryptFailed)?;
    primitives::aes256gcm_decrypt(cek, iv, ct_and_tag, aad)
}

#[cfg(feature = "keygen")]
fn check_envelope_len(s: &str) -> Result<(), EnvelopeError> {
    if s.len() > MAX_ENVELOPE_BYTES { Err(EnvelopeError::InputTooLarge("envelope exceeds 256 KiB")) } else { Ok(()) }
}

/// The primitives the envelope is made of ([`crate::crypto`]) on agent keys,
/// exposed for test suites (Wycheproof) and for other Sealpost code: the very
/// functions [`seal`], [`seal_jwe`], [`open`] and [`open_jwe`] call. Every
/// decryption failure is [`EnvelopeError::DecryptFailed`].
pub mod primitives {
    use zeroize::Zeroizing;

    use super::EnvelopeError;
    use crate::crypto;
    #[cfg(feature = "keygen")]
    use crate::keys::AgentPrivateKey;
    use crate::keys::AgentPublicKey;

    /// AES-GCM IV length in bytes.
    pub const IV_LEN: usize = crypto::IV_LEN;
    /// AES-GCM tag length in bytes.
    pub const TAG_LEN: usize = crypto::TAG_LEN;

    /// Make sure the platform RNG answers (so later infallible draws cannot fail).
    pub fn check_rng() -> Result<(), EnvelopeError> {
        Ok(crypto::check_rng()?)
    }

    /// A fresh random 32-byte content key and 12-byte IV.
    pub fn fresh_key_and_iv() -> Result<(Zeroizing<[u8; 32]>, [u8; IV_LEN]), EnvelopeError> {
        Ok(crypto::fresh_key_and_iv()?)
    }

    /// RSA-OAEP with SHA-256 as hash and MGF1 hash (RFC 8017, 7.1.1), with a
    /// fresh random seed.
    pub fn rsa_oaep_sha256_encrypt(
        key: &AgentPublicKey,
        message: &[u8],
        label: &[u8],
    ) -> Result<Vec<u8>, EnvelopeError> {
        Ok(crypto::rsa_oaep_sha256_encrypt(key.modulus(), message, label)?)
    }

    /// [`rsa_oaep_sha256_encrypt`] with the OAEP seed given: for known-answer
    /// tests only (a fixed seed makes encryption deterministic).
    #[doc(hidden)]
    pub fn rsa_oaep_sha256_encrypt_with_seed(
        key: &AgentPublicKey,
        message: &[u8],
        label: &[u8],
        seed: &[u8; 32],
    ) -> Result<Vec<u8>, EnvelopeError> {
        Ok(crypto::rsa_oaep_sha256_encrypt_with_seed(key.modulus(), message, label, seed)?)
    }

    /// RSA-OAEP with SHA-256 as hash and MGF1 hash, blinded, constant-time arithmetic.
    #[cfg(feature = "keygen")]
    pub fn rsa_oaep_sha256_decrypt(
        key: &AgentPrivateKey,
        ciphertext: &[u8],
        label: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        Ok(crypto::rsa_oaep_sha256_decrypt(key.rsa(), ciphertext, label)?)
    }

    /// AES-256-GCM encryption; returns ciphertext || 16-byte tag.
    pub fn aes256gcm_encrypt(
        key: &[u8; 32],
        iv: &[u8],
        plaintext: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, EnvelopeError> {
        Ok(crypto::aes256gcm_encrypt(key, iv, plaintext, aad)?)
    }

    /// AES-256-GCM decryption of ciphertext || 16-byte tag.
    pub fn aes256gcm_decrypt(
        key: &[u8; 32],
        iv: &[u8],
        ciphertext_and_tag: &[u8],
        aad: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        Ok(crypto::aes256gcm_decrypt(key, iv, ciphertext_and_tag, aad)?)
    }
}

#[cfg(all(test, feature = "keygen"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::keys::KeyBits;

    fn creds() -> Credentials {
        let mut c = Credentials::new();
        c.insert("api_key", "sk-live-\u{e9}\"quoted\"\n");
        c.insert("user", "alice");
        c
    }

    #[test]
    fn linkauth_round_trip() {
        let sk = AgentPrivateKey::generate(KeyBits::B2048).unwrap();
        let sealed = seal(sk.public_key(), &creds()).unwrap();
        assert_eq!(open(&sk, &sealed).unwrap(), creds());
        assert_eq!(open_any(&sk, EnvelopeKind::Linkauth, &sealed, None).unwrap(), creds());
    }

    #[test]
    fn jwe_round_trip_and_sid_binding() {
        let sk = AgentPrivateKey::generate(KeyBits::B2048).unwrap();
        let jwe = seal_jwe(sk.public_key(), &creds(), "abc").unwrap();
        assert_eq!(open_jwe(&sk, &jwe, "abc").unwrap(), creds());
        assert_eq!(open_jwe(&sk, &jwe, "abd").unwrap_err(), EnvelopeError::SessionMismatch);
    }

    /// The hand-written RSA-OAEP against the `rsa` crate's decryption, at modulus
    /// sizes that are not a whole number of 32-bit limbs (the Wycheproof keys all are).
    #[test]
    fn rsa_oaep_odd_sizes_open_with_the_rsa_crate() {
        use rsa::Oaep;
        use sha2::Sha256;
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        for bits in [2049usize, 2056, 2081, 2110] {
            let sk = rsa::RsaPrivateKey::new(&mut rng, bits).unwrap();
            let key = AgentPrivateKey::from_rsa(sk).unwrap();
            assert_eq!(key.public_key().bits(), bits);
            for len in [0usize, 1, 32, 190] {
                let msg: Vec<u8> = (0..len).map(|i| (i * 7 + bits) as u8).collect();
                let ct = primitives::rsa_oaep_sha256_encrypt(key.public_key(), &msg, b"label").unwrap();
                assert_eq!(ct.len(), bits.div_ceil(8));
                let pt = key.rsa().decrypt(Oaep::<Sha256>::new_with_label(&b"label"[..]), &ct).unwrap();
                assert_eq!(pt, msg, "{bits} bits, {len} bytes");
            }
        }
    }

    #[test]
    fn json_matches_serde_json() {
        let mut c = creds();
        c.insert("ctl", "\u{0}\u{1f}\u{7f}\u{8}\u{c}\t\r\\/\u{2028}");
        let ours = c.to_json().unwrap();
        assert_eq!(ours.as_slice(), serde_json::to_vec(&c).unwrap().as_slice());
        assert_eq!(Credentials::from_json(&ours).unwrap(), c);
    }

    #[test]
    fn other_key_is_opaque_failure() {
        let sk = AgentPrivateKey::generate(KeyBits::B2048).unwrap();
        let other = AgentPrivateKey::generate(KeyBits::B2048).unwrap();
        let sealed = seal(sk.public_key(), &creds()).unwrap();
        assert_eq!(open(&other, &sealed).unwrap_err().code(), "ERR_DECRYPT_FAILED");
    }
}

#[cfg(test)]
mod credentials_tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::Credentials;

    proptest! {
        /// The sorted `Vec` behaves as the `BTreeMap` it replaced: what each
        /// insert returns, the order, lookups, and the JSON serde writes and reads.
        #[test]
        fn credentials_behave_as_a_btreemap(
            ops in proptest::collection::vec(("[a-e]{0,2}", "\\PC{0,4}"), 0..40),
            probes in proptest::collection::vec("[a-e]{0,2}", 0..8),
        ) {
            let mut model = BTreeMap::new();
            let mut c = Credentials::new();
            for (k, v) in &ops {
                let got = c.insert(k.as_str(), v.as_str()).map(|old| old.to_string());
                prop_assert_eq!(got, model.insert(k.clone(), v.clone()));
            }
            prop_assert_eq!(c.len(), model.len());
            prop_assert_eq!(c.is_empty(), model.is_empty());
            let ours: Vec<(&str, &str)> = c.iter().collect();
            let theirs: Vec<(&str, &str)> = model.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            prop_assert_eq!(ours, theirs);
            for p in probes.iter().chain(ops.iter().map(|(k, _)| k)) {
                prop_assert_eq!(c.get(p), model.get(p).map(String::as_str));
            }
            let json = serde_json::to_string(&c).unwrap();
            prop_assert_eq!(&json, &serde_json::to_string(&model).unwrap());
            let back: Credentials = serde_json::from_str(&json).unwrap();
            prop_assert!(back == c);
            prop_assert!(Credentials::from(model.clone()) == c);
        }
    }
}
