//! A diagnosing base64url decoder: precise offsets for bad bytes, and a note
//! of every non-canonical form it tolerated (padding, `+`/`/`, dirty trailing bits).

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

/// Why a segment could not be decoded at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum B64Error {
    /// A byte outside the alphabet, at this offset within the segment.
    InvalidByte {
        /// offset within the segment
        offset: usize,
        /// the offending byte
        byte: u8,
    },
    /// A length that no base64 encoding produces (`len % 4 == 1`).
    InvalidLength(usize),
}

fn value(b: u8) -> Option<(u8, bool)> {
    Some(match b {
        b'A'..=b'Z' => (b - b'A', false),
        b'a'..=b'z' => (b - b'a' + 26, false),
        b'0'..=b'9' => (b - b'0' + 52, false),
        b'-' => (62, false),
        b'_' => (63, false),
        b'+' => (62, true),
        b'/' => (63, true),
        _ => return None,
    })
}

/// Decode `seg` tolerantly. Returns the bytes and the quirks met.
///
/// # Errors
/// [`B64Error`] with the offending offset when a byte is outside the alphabet
/// (including `=` anywhere but the end) or the length is impossible.
pub fn decode(seg: &[u8]) -> Result<(Vec<u8>, Vec<Quirk>), B64Error> {
    let mut quirks = Vec::new();
    // Strip trailing padding (at most 2).
    let mut end = seg.len();
    while end > 0 && seg.get(end - 1) == Some(&b'=') && seg.len() - end < 2 {
        end -= 1;
    }
    if end < seg.len() {
        quirks.push(Quirk::Padding(end));
    }
    let body = seg.get(..end).unwrap_or_default();
    if body.len() % 4 == 1 {
        return Err(B64Error::InvalidLength(body.len()));
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4 + 1);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut std_seen = false;
    for (i, &b) in body.iter().enumerate() {
        let Some((v, is_std)) = value(b) else {
            return Err(B64Error::InvalidByte { offset: i, byte: b });
        };
        if is_std && !std_seen {
            std_seen = true;
            quirks.push(Quirk::StdAlphabet(i));
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    if bits > 0 && acc & ((1 << bits) - 1) != 0 {
        quirks.push(Quirk::TrailingBits(body.len().saturating_sub(1)));
    }
    // Padding that was present but of the wrong amount is still a quirk, not an error.
    Ok((out, quirks))
}

/// Encode bytes as unpadded base64url.
#[must_use]
pub fn encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_quirks() {
        for n in 0..40u8 {
            let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            let enc = encode(&data);
            let (dec, q) = decode(enc.as_bytes()).unwrap();
            assert_eq!(dec, data);
            assert!(q.is_empty());
        }
        assert_eq!(decode(b"QQ==").unwrap().1, vec![Quirk::Padding(2)]);
        assert_eq!(decode(b"QR").unwrap().1, vec![Quirk::TrailingBits(1)]);
        assert_eq!(decode(b"+/8").unwrap().1, vec![Quirk::StdAlphabet(0)]);
        assert_eq!(decode(b"ab$d"), Err(B64Error::InvalidByte { offset: 2, byte: b'$' }));
        assert_eq!(decode(b"abcde"), Err(B64Error::InvalidLength(5)));
    }
}
