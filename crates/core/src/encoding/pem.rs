//! PEM blocks (RFC 7468): one reader of `-----BEGIN L-----` ... `-----END L-----`,
//! two policies over it.
//!
//! - [`decode_strict`] (agent keys): the text is exactly one block (surrounding
//!   whitespace aside), the END label equals the BEGIN label, no headers, a
//!   base64 body in any line width (64 per RFC 7468, 76 from MIME encoders, or
//!   one long line as JS string concatenation builds it), CRLF or LF, in either
//!   alphabet, padding optional ([`super::b64::decode_any`]).
//! - [`decode_lenient`] (the JWT engine's keys and certificates): the first block
//!   anywhere in the text (pasted with prose around it), header lines (`Name:
//!   value`) skipped, the END label unchecked, a canonical padded standard base64
//!   body ([`super::b64::decode_std_canonical`]).

use super::b64;

/// The first block of a text, cut at its markers.
struct Block<'a> {
    /// Text before `-----BEGIN `.
    before: &'a str,
    /// Between `-----BEGIN ` and the next `-----`.
    label: &'a str,
    /// Between the BEGIN line's `-----` and the first `-----END `.
    body: &'a str,
    /// `(label, text after)` of the END marker, when it is closed by `-----`.
    end: Option<(&'a str, &'a str)>,
}

fn first_block(text: &str) -> Option<Block<'_>> {
    let start = find(text, "-----BEGIN ")?;
    let before = text.get(..start)?;
    let (label, rest) = split_once(text.get(start + 11..)?, "-----")?;
    let end_at = find(rest, "-----END ")?;
    let body = rest.get(..end_at)?;
    let end = split_once(rest.get(end_at + 9..)?, "-----");
    Some(Block { before, label, body, end })
}

/// Where the ASCII `marker` (not empty) first starts in `text`. A byte search:
/// `str::find` with a `&str` pattern brought core's two-way searcher, its
/// slicing panic and that panic's formatting into the seal bundle (12 KB of
/// code and 3 KB of data; 5 KB gzip), for markers of a few bytes in a key's
/// text. ASCII bytes never occur inside a multi-byte UTF-8 sequence, so the
/// index is a char boundary.
fn find(text: &str, marker: &str) -> Option<usize> {
    text.as_bytes().windows(marker.len()).position(|w| w == marker.as_bytes())
}

/// `text` around the first ASCII `marker`, as `str::split_once`.
fn split_once<'a>(text: &'a str, marker: &str) -> Option<(&'a str, &'a str)> {
    let at = find(text, marker)?;
    Some((text.get(..at)?, text.get(at + marker.len()..)?))
}

/// One whole-text block, strictly (see the module documentation): `(label, DER)`.
#[must_use]
pub fn decode_strict(text: &str) -> Option<(String, Vec<u8>)> {
    let b = first_block(text)?;
    let (end_label, after) = b.end?;
    let single = b.before.trim().is_empty() && after.trim().is_empty() && end_label == b.label;
    if !single || b.body.contains(['-', ':']) || b.label.is_empty() || b.label.len() > 64 {
        return None;
    }
    Some((b.label.to_owned(), b64::decode_any(b.body)?))
}

/// The first block in the text, leniently (see the module documentation):
/// `(label trimmed, DER)`.
#[must_use]
pub fn decode_lenient(text: &str) -> Option<(String, Vec<u8>)> {
    let b = first_block(text)?;
    let body: String = b.body.lines().filter(|l| !l.contains(':')).collect();
    Some((b.label.trim().to_owned(), b64::decode_std_canonical(&body)?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const BODY: &str = "MIIBIjANBgkqhkiG9w0B\nAQEFAAOCAQ8A\n";

    #[test]
    fn strict_is_one_whole_block() {
        let der = b64::decode_any(BODY).unwrap();
        let ok = format!("\n -----BEGIN PUBLIC KEY-----\r\n{BODY}-----END PUBLIC KEY-----\n");
        assert_eq!(decode_strict(&ok), Some(("PUBLIC KEY".to_owned(), der.clone())));
        for bad in [
            format!("x-----BEGIN PUBLIC KEY-----\n{BODY}-----END PUBLIC KEY-----"),
            format!("-----BEGIN PUBLIC KEY-----\n{BODY}-----END PUBLIC KEY-----x"),
            format!("-----BEGIN PUBLIC KEY-----\n{BODY}-----END RSA PUBLIC KEY-----"),
            format!("-----BEGIN PUBLIC KEY-----\nProc-Type: 4\n{BODY}-----END PUBLIC KEY-----"),
            format!("-----BEGIN -----\n{BODY}-----END -----"),
            format!("-----BEGIN PUBLIC KEY-----\n{BODY}-----END PUBLIC KEY"),
        ] {
            assert_eq!(decode_strict(&bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        /// The byte search agrees with `str::find` and `str::split_once` on
        /// texts of markers, parts of markers and multi-byte characters.
        #[test]
        fn byte_search_is_str_search(
            parts in proptest::collection::vec(
                proptest::sample::select(vec!["-----BEGIN ", "-----END ", "-----", "-", "BEGIN", " ", "a", "\u{e9}", "\u{6f22}", "\u{1F511}", "\u{FF0D}"]),
                0..12,
            ),
            marker in proptest::sample::select(vec!["-----BEGIN ", "-----END ", "-----"]),
        ) {
            let text = parts.concat();
            proptest::prop_assert_eq!(find(&text, marker), text.find(marker));
            proptest::prop_assert_eq!(split_once(&text, marker), text.split_once(marker));
        }
    }

    #[test]
    fn lenient_finds_the_first_block() {
        let der = b64::decode_any(BODY).unwrap();
        let text = format!("cert:\n-----BEGIN  CERTIFICATE -----\nProc-Type: 4\n{BODY}-----END X-----\nmore");
        assert_eq!(decode_lenient(&text), Some(("CERTIFICATE".to_owned(), der)));
        let unpadded = "-----BEGIN K-----\nQQ\n-----END K-----";
        assert_eq!(decode_lenient(unpadded), None);
        assert_eq!(decode_strict(unpadded).unwrap().1, b"A");
    }
}
