//! The JWT engine's base64url: the diagnosing decoder (precise offsets for bad
//! bytes, and a note of every non-canonical form it tolerated: padding,
//! `+`/`/`, dirty trailing bits) and the unpadded encoder. Both are
//! [`crate::encoding::b64`]'s, the one base64 implementation of the crate.

pub use crate::encoding::b64::{B64Error, Quirk};

/// Decode `seg` tolerantly. Returns the bytes and the quirks met
/// ([`crate::encoding::b64::decode_diagnosed`]).
///
/// # Errors
/// [`B64Error`] with the offending offset when a byte is outside the alphabet
/// (including `=` anywhere but the end) or the length is impossible.
pub fn decode(seg: &[u8]) -> Result<(Vec<u8>, Vec<Quirk>), B64Error> {
    crate::encoding::b64::decode_diagnosed(seg)
}

/// Encode bytes as unpadded base64url.
#[must_use]
pub fn encode(bytes: &[u8]) -> String {
    crate::encoding::b64::url(bytes)
}
