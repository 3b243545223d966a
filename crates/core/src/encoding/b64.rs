//! Base64 (RFC 4648): the standard and url-safe alphabets, padded or not.
//!
//! Encoding: [`std`] (the LinkAuth wire form), [`std_no_pad`] (fingerprints),
//! [`url`] (JOSE). Decoding: one pass over the text ([`decode_diagnosed`])
//! that records every non-canonical spelling it met; the other decoders are
//! policies over that pass:
//!
//! | decoder | whitespace | alphabet | padding | non-zero trailing bits |
//! | --- | --- | --- | --- | --- |
//! | [`decode_any`] (keys, LinkAuth envelope) | skipped | std or url, not mixed | optional, exact when present | refused |
//! | [`decode_url`] (JWE parts) | refused | url | refused | refused |
//! | [`decode_std_canonical`] (PEM bodies of the JWT engine) | skipped | std | required | refused |
//! | [`decode_lenient`] (JWT secrets, JWK members via [`decode_diagnosed`]) | skipped | either, even mixed | tolerated | tolerated |
//! | [`decode_diagnosed`] (JWT segments) | refused | either, reported | tolerated, reported | reported |

use crate::error::ErrorCode;

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn encode_with(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk.first(), chunk.get(1), chunk.get(2)].map(|b| b.copied().unwrap_or(0));
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        // A chunk of k bytes gives k + 1 characters.
        for i in 0..=chunk.len() {
            out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 63) as usize]));
        }
        if pad {
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
    }
    out
}

/// Standard alphabet, padded (the LinkAuth wire form).
#[must_use]
pub fn std(bytes: &[u8]) -> String {
    encode_with(bytes, STD, true)
}

/// Standard alphabet, unpadded (SSH-style fingerprints).
#[must_use]
pub fn std_no_pad(bytes: &[u8]) -> String {
    encode_with(bytes, STD, false)
}

/// base64url, unpadded (JOSE).
#[must_use]
pub fn url(bytes: &[u8]) -> String {
    encode_with(bytes, URL, false)
}

/// A tolerated deviation from canonical unpadded base64url.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quirk {
    /// `=` padding present (offset of the first `=`).
    Padding(usize),
    /// Standard-alphabet `+` or `/` (offset of the first one).
    StdAlphabet(usize),
    /// The unused low bits of the last character are not zero (offset of that char).
    TrailingBits(usize),
}

/// Why a text could not be decoded at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum B64Error {
    /// A byte outside the alphabet, at this offset within the text.
    #[error("byte {byte:#04x} at offset {offset} is not base64")]
    InvalidByte {
        /// offset within the text
        offset: usize,
        /// the offending byte
        byte: u8,
    },
    /// A length that no base64 encoding produces (`len % 4 == 1`).
    #[error("length {0} is impossible for base64")]
    InvalidLength(usize),
}

impl ErrorCode for B64Error {
    fn code(&self) -> &'static str {
        match self {
            B64Error::InvalidByte { .. } => "ERR_BASE64_INVALID_BYTE",
            B64Error::InvalidLength(_) => "ERR_BASE64_INVALID_LENGTH",
        }
    }
}

impl B64Error {
    /// The stable code (same as [`ErrorCode::code`]).
    #[must_use]
    pub fn code(&self) -> &'static str {
        ErrorCode::code(self)
    }
}

/// What one pass over a text met, besides the bytes.
struct Scan {
    bytes: Vec<u8>,
    /// Offset of the first `=` of the trailing padding (at most two `=`).
    pad_at: Option<usize>,
    /// Offset of the first standard-alphabet `+` or `/`.
    std_at: Option<usize>,
    /// A url-safe `-` or `_` was met.
    url_seen: bool,
    /// Length of the text without its padding.
    body_len: usize,
    /// The unused low bits of the last character are not zero.
    dirty_bits: bool,
}

/// The one base64 decoder: either alphabet, up to two trailing `=`.
fn scan(text: &[u8]) -> Result<Scan, B64Error> {
    let body = text.strip_suffix(b"==").or_else(|| text.strip_suffix(b"=")).unwrap_or(text);
    let body_len = body.len();
    if body_len % 4 == 1 {
        return Err(B64Error::InvalidLength(body_len));
    }
    let mut out = Vec::with_capacity(body_len / 4 * 3 + 2);
    let (mut acc, mut bits) = (0u32, 0u32);
    let (mut std_at, mut url_seen) = (None, false);
    for (offset, &byte) in body.iter().enumerate() {
        let v = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' | b'_' => {
                url_seen = true;
                if byte == b'-' { 62 } else { 63 }
            }
            b'+' | b'/' => {
                std_at = std_at.or(Some(offset));
                if byte == b'+' { 62 } else { 63 }
            }
            _ => return Err(B64Error::InvalidByte { offset, byte }),
        };
        acc = (acc << 6 | u32::from(v)) & 0xffff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    let pad_at = (body_len < text.len()).then_some(body_len);
    Ok(Scan { bytes: out, pad_at, std_at, url_seen, body_len, dirty_bits: acc & ((1 << bits) - 1) != 0 })
}

/// The text without ASCII whitespace (line breaks of PEM and MIME bodies).
fn compact(text: &str) -> Vec<u8> {
    text.bytes().filter(|c| !c.is_ascii_whitespace()).collect()
}

/// Decode `seg` tolerantly (the JWT engine's view of a token segment). Returns
/// the bytes and the quirks met, in the order padding, alphabet, trailing bits.
///
/// # Errors
/// [`B64Error`] with the offending offset when a byte is outside both
/// alphabets (including `=` anywhere but the last two places) or the length is
/// impossible.
pub fn decode_diagnosed(seg: &[u8]) -> Result<(Vec<u8>, Vec<Quirk>), B64Error> {
    let s = scan(seg)?;
    let mut quirks = Vec::new();
    if let Some(at) = s.pad_at {
        quirks.push(Quirk::Padding(at));
    }
    if let Some(at) = s.std_at {
        quirks.push(Quirk::StdAlphabet(at));
    }
    if s.dirty_bits {
        quirks.push(Quirk::TrailingBits(s.body_len.saturating_sub(1)));
    }
    Ok((s.bytes, quirks))
}

/// Decode standard or url-safe base64 (not both in one text), ignoring ASCII
/// whitespace; padding optional (exact when present), trailing bits must be zero.
#[must_use]
pub fn decode_any(text: &str) -> Option<Vec<u8>> {
    let compact = compact(text);
    let s = scan(&compact).ok()?;
    let mixed = s.url_seen && s.std_at.is_some();
    let bad_pad = s.pad_at.is_some() && !compact.len().is_multiple_of(4);
    (!mixed && !bad_pad && !s.dirty_bits).then_some(s.bytes)
}

/// Strict unpadded base64url (JOSE compact parts).
#[must_use]
pub fn decode_url(text: &str) -> Option<Vec<u8>> {
    let s = scan(text.as_bytes()).ok()?;
    (s.pad_at.is_none() && s.std_at.is_none() && !s.dirty_bits).then_some(s.bytes)
}

/// Canonical padded standard base64 (RFC 4648 section 4), ignoring ASCII
/// whitespace: what `openssl` writes in PEM bodies.
#[must_use]
pub fn decode_std_canonical(text: &str) -> Option<Vec<u8>> {
    let compact = compact(text);
    let s = scan(&compact).ok()?;
    (!s.url_seen && !s.dirty_bits && compact.len().is_multiple_of(4)).then_some(s.bytes)
}

/// Any spelling [`decode_diagnosed`] reads, ignoring ASCII whitespace, with its
/// quirks tolerated silently (shared secrets typed or pasted by people).
#[must_use]
pub fn decode_lenient(text: &str) -> Option<Vec<u8>> {
    scan(&compact(text)).ok().map(|s| s.bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};

    #[test]
    fn agrees_with_the_base64_crate() {
        for len in 0..70usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 97 + len * 31) as u8).collect();
            assert_eq!(std(&bytes), STANDARD.encode(&bytes));
            assert_eq!(std_no_pad(&bytes), STANDARD_NO_PAD.encode(&bytes));
            assert_eq!(url(&bytes), URL_SAFE_NO_PAD.encode(&bytes));
            assert_eq!(decode_any(&std(&bytes)).unwrap(), bytes);
            assert_eq!(decode_any(&std_no_pad(&bytes)).unwrap(), bytes);
            assert_eq!(decode_url(&url(&bytes)).unwrap(), bytes);
            assert_eq!(decode_std_canonical(&std(&bytes)).unwrap(), bytes);
            let wrapped: String = std(&bytes).chars().flat_map(|c| [c, '\n']).collect();
            assert_eq!(decode_any(&wrapped).unwrap(), bytes);
            assert_eq!(decode_std_canonical(&wrapped).unwrap(), bytes);
        }
    }

    #[test]
    fn refusals() {
        for bad in ["A", "QQ=", "QQ===", "QR==", "QR", "Q=Q=", "QQ==QQ==", "a+b-", "QUJD!", "=", "QUI=\u{e9}"] {
            assert_eq!(decode_any(bad), None, "{bad}");
        }
        assert_eq!(decode_url("QQ=="), None);
        assert_eq!(decode_url("QUI+"), None);
        assert_eq!(decode_any("QQ").unwrap(), b"A");
        assert_eq!(decode_any("QQ==").unwrap(), b"A");
        assert_eq!(decode_any("").unwrap(), b"");
    }

    /// `decode_std_canonical` is exactly the base64 crate's `STANDARD` decoder
    /// (which the JWT engine's PEM reader used before) on whitespace-free text:
    /// every string of up to 5 characters over an alphabet with each class of
    /// character, plus longer mutations of real encodings.
    #[test]
    fn std_canonical_is_the_base64_crate_standard() {
        let alphabet = b"AQgw+/-_=.";
        let mut texts: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=5u32 {
            for mut i in 0..alphabet.len().pow(len) {
                let mut t = Vec::new();
                for _ in 0..len {
                    t.push(alphabet[i % alphabet.len()]);
                    i /= alphabet.len();
                }
                texts.push(t);
            }
        }
        for len in 0..40usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 59 + 7) as u8).collect();
            let enc = std(&bytes).into_bytes();
            for at in 0..enc.len() {
                for c in [b'A', b'=', b'/', b'_'] {
                    let mut t = enc.clone();
                    t[at] = c;
                    texts.push(t);
                }
            }
            texts.push(enc);
        }
        for t in &texts {
            let s = String::from_utf8(t.clone()).unwrap();
            assert_eq!(decode_std_canonical(&s), STANDARD.decode(t).ok(), "{s}");
        }
    }

    #[test]
    fn diagnosed_quirks_and_errors() {
        for n in 0..40u8 {
            let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            let (dec, q) = decode_diagnosed(url(&data).as_bytes()).unwrap();
            assert_eq!(dec, data);
            assert!(q.is_empty());
        }
        assert_eq!(decode_diagnosed(b"QQ==").unwrap().1, vec![Quirk::Padding(2)]);
        assert_eq!(decode_diagnosed(b"QR").unwrap().1, vec![Quirk::TrailingBits(1)]);
        assert_eq!(decode_diagnosed(b"+/8").unwrap().1, vec![Quirk::StdAlphabet(0)]);
        assert_eq!(decode_diagnosed(b"ab$d"), Err(B64Error::InvalidByte { offset: 2, byte: b'$' }));
        assert_eq!(decode_diagnosed(b"abcde"), Err(B64Error::InvalidLength(5)));
        assert_eq!(decode_lenient(" a+b-\n"), Some(vec![0x6b, 0xe6, 0xfe]));
    }
}
