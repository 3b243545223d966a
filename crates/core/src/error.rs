//! Shared error plumbing: every Sealpost error has a stable machine-readable code.
//!
//! The code is the same string in Rust (`code()`), in JavaScript (`err.code`), in
//! the broker's `application/problem+json` bodies (`code` member) and in the CLI's
//! messages. Codes never change meaning once published.

/// An error with a stable `ERR_*` code.
pub trait ErrorCode {
    /// The stable code, e.g. `ERR_KEY_TOO_SMALL`.
    fn code(&self) -> &'static str;
}

/// Base64 for keys and envelopes, written out by hand: the seal-only WASM
/// bundle carries these few hundred bytes instead of a general base64 engine.
/// (The JWT engine has its own decoder, `jwt::b64`, that reports quirks.)
pub(crate) mod b64 {
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
    pub fn std(bytes: &[u8]) -> String {
        encode_with(bytes, STD, true)
    }

    /// Standard alphabet, unpadded (SSH-style fingerprints).
    pub fn std_no_pad(bytes: &[u8]) -> String {
        encode_with(bytes, STD, false)
    }

    /// base64url, unpadded (JOSE).
    pub fn url(bytes: &[u8]) -> String {
        encode_with(bytes, URL, false)
    }

    /// Strict decoder: the given alphabet, canonical (zero) trailing bits;
    /// padding refused unless `pad_ok`, and then only the exact padding.
    fn decode_with(input: &[u8], alphabet: &[u8; 64], pad_ok: bool) -> Option<Vec<u8>> {
        let body = input.strip_suffix(b"==").or_else(|| input.strip_suffix(b"=")).unwrap_or(input);
        if body.len() != input.len() && (!pad_ok || !input.len().is_multiple_of(4)) {
            return None;
        }
        if body.len() % 4 == 1 {
            return None;
        }
        let mut out = Vec::with_capacity(body.len() / 4 * 3 + 2);
        let (mut acc, mut bits) = (0u32, 0u32);
        for &c in body {
            let v = alphabet.iter().position(|&a| a == c)? as u32;
            acc = (acc << 6 | v) & 0xffff;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        // Leftover bits must be zero (one encoding per byte string).
        (acc & ((1 << bits) - 1) == 0).then_some(out)
    }

    /// Decode standard or url-safe base64, ignoring ASCII whitespace; padding
    /// optional (exact when present), trailing bits must be zero.
    pub fn decode_any(input: &str) -> Option<Vec<u8>> {
        let compact: Vec<u8> = input.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
        let alphabet = if compact.iter().any(|c| matches!(c, b'-' | b'_')) { URL } else { STD };
        decode_with(&compact, alphabet, true)
    }

    /// Strict unpadded base64url (JOSE compact parts).
    #[cfg_attr(not(feature = "keygen"), allow(dead_code))]
    pub fn decode_url(input: &str) -> Option<Vec<u8>> {
        decode_with(input.as_bytes(), URL, false)
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
                let wrapped: String = std(&bytes).chars().flat_map(|c| [c, '\n']).collect();
                assert_eq!(decode_any(&wrapped).unwrap(), bytes);
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
    }
}
