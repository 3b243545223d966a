//! Clock, random identifiers and hashing.

use base64::Engine;
use sha2::{Digest, Sha256};
use std::time::{SystemTime, UNIX_EPOCH};

use sealpost_core::protocol::USER_CODE_ISSUE_ALPHABET;

/// SHA-256 digest of a bearer token, the form tokens are stored in.
pub type TokenHash = [u8; 32];

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or(0)
}

/// SHA-256 of a token (or any secret we only need to recognise).
pub fn hash_token(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// Constant-time equality of two token hashes.
pub fn hashes_equal(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Error from the operating system's random source.
#[derive(Debug, thiserror::Error)]
#[error("random source unavailable")]
#[non_exhaustive]
pub struct RandomError;

impl RandomError {
    /// The stable code, as core's `ERR_RANDOM_UNAVAILABLE`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        "ERR_RANDOM_UNAVAILABLE"
    }
}

fn random_bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|_| RandomError)?;
    Ok(buf)
}

/// `prefix` + base64url(32 random bytes), e.g. `pt_...`, `ct_...`, `it_...`.
pub fn new_token(prefix: &str) -> Result<String, RandomError> {
    let bytes = random_bytes::<32>()?;
    let mut out = String::with_capacity(prefix.len() + 43);
    out.push_str(prefix);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(bytes, &mut out);
    Ok(out)
}

/// A fresh user code `ABCD-1234`: 8 characters of [`USER_CODE_ISSUE_ALPHABET`]
/// (no `O`/`0`, no `I`/`1`), 40 bits, uniform (32 = 2^5: each character is 5 bits of
/// one random byte, nothing rejected).
pub fn new_user_code() -> Result<String, RandomError> {
    let bytes = random_bytes::<8>()?;
    let mut out = String::with_capacity(9);
    for (i, b) in bytes.into_iter().enumerate() {
        if i == 4 {
            out.push('-');
        }
        out.push(char::from(USER_CODE_ISSUE_ALPHABET[usize::from(b & 31)]));
    }
    Ok(out)
}

fn new_b32_id(prefix: &str) -> Result<String, RandomError> {
    const B32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let bytes = random_bytes::<16>()?;
    let mut out = String::from(prefix);
    for b in bytes {
        out.push(char::from(B32[usize::from(b & 31)]));
    }
    Ok(out)
}

fn is_b32_id(s: &str, prefix: &str) -> bool {
    s.len() == 19
        && s.starts_with(prefix)
        && s[3..].bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
}

/// `ib_` + 16 base32 characters (80 random bits).
pub fn new_inbox_id() -> Result<String, RandomError> {
    new_b32_id("ib_")
}

/// Whether `s` looks like an inbox id (so junk never reaches the database).
pub fn is_inbox_id(s: &str) -> bool {
    is_b32_id(s, "ib_")
}

/// `sd_` + 16 base32 characters: a sender's public id.
pub fn new_sender_id() -> Result<String, RandomError> {
    new_b32_id("sd_")
}

/// Whether `s` looks like a sender id.
pub fn is_sender_id(s: &str) -> bool {
    is_b32_id(s, "sd_")
}

/// Whether `s` has the shape of a sender credential: `is_` + 43 base64url characters.
pub fn is_sender_credential(s: &str) -> bool {
    s.len() == 46 && s.starts_with("is_") && s[3..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// Raw session id of a user code (any accepted spelling): core's
/// [`sealpost_core::protocol::session_digest_for_code`], the bytes of
/// [`sealpost_core::protocol::session_id_for_code`].
pub fn raw_session_id(code: &str) -> Option<[u8; 32]> {
    sealpost_core::protocol::session_digest_for_code(code)
}

/// Decode a 64-character lowercase (or uppercase) hex session id.
pub fn parse_session_id(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in s.as_bytes().chunks_exact(2).enumerate() {
        let hi = hex_val(pair[0])?;
        let lo = hex_val(pair[1])?;
        out[i] = (hi << 4) | lo;
    }
    Some(out)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// RFC 3339 UTC with second precision, e.g. `2026-04-02T12:00:00Z`
/// ([`sealpost_core::time::format_rfc3339`]). Times outside years 0000-9999
/// are clamped to the nearest representable second.
pub fn rfc3339(ms: i64) -> String {
    use sealpost_core::time::{MAX_UNIX, MIN_UNIX, format_rfc3339};
    format_rfc3339(ms.div_euclid(1000).clamp(MIN_UNIX, MAX_UNIX)).unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_775_131_200_999), "2026-04-02T12:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(i64::MIN), "0000-01-01T00:00:00Z");
    }

    #[test]
    fn new_codes_have_no_look_alikes_and_use_all_32_characters() {
        let mut seen = [0u32; 256];
        for _ in 0..2_000 {
            let code = new_user_code().unwrap();
            assert_eq!(code.as_bytes()[4], b'-', "{code}");
            assert_eq!(sealpost_core::protocol::normalize_user_code(&code).as_deref(), Some(&*code.replace('-', "")));
            for b in code.bytes().filter(|b| *b != b'-') {
                assert!(!b"O0I1".contains(&b), "look-alike {} in {code}", char::from(b));
                seen[usize::from(b)] += 1;
            }
        }
        // 16,000 characters over 32 symbols: 500 expected each; a symbol never drawn or
        // drawn far off its share means a biased or truncated alphabet.
        for &c in USER_CODE_ISSUE_ALPHABET {
            let n = seen[usize::from(c)];
            assert!((350..=650).contains(&n), "{} drawn {n} times of 16,000", char::from(c));
        }
        // Codes typed from other brokers (any of A-Z0-9) are still accepted.
        assert!(sealpost_core::protocol::normalize_user_code("O0I1-ab9z").is_some());
    }

    #[test]
    fn identifiers_have_the_documented_shape() {
        let code = new_user_code().unwrap();
        assert_eq!(code.len(), 9);
        assert!(sealpost_core::protocol::normalize_user_code(&code).is_some());
        let t = new_token("pt_").unwrap();
        assert!(t.starts_with("pt_") && t.len() == 46);
        let ib = new_inbox_id().unwrap();
        assert!(is_inbox_id(&ib), "{ib}");
        assert!(!is_inbox_id("ib_0000000000000000"));
    }

    #[test]
    fn session_id_hex_roundtrip() {
        let id = sealpost_core::protocol::session_id_for_code("ABCD-1234").unwrap();
        let raw = parse_session_id(&id).unwrap();
        assert_eq!(raw[0], 0x16);
        assert_eq!(raw_session_id("abcd1234"), Some(raw));
        assert!(parse_session_id("zz").is_none());
        assert!(parse_session_id(&"g".repeat(64)).is_none());
    }

    #[test]
    fn constant_time_compare() {
        let a = hash_token("pt_a");
        assert!(hashes_equal(&a, &hash_token("pt_a")));
        assert!(!hashes_equal(&a, &hash_token("pt_b")));
        assert!(!hashes_equal(&a, &a[..31]));
    }
}
