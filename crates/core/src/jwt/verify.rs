//! Signature primitives (called directly on RustCrypto) and key selection.

use hmac::{KeyInit, Mac};
use sha2::{Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

use super::alg::Alg;
use super::keys::{PublicMaterial, VerifyKey};

/// Why a signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigFailure {
    /// The key cannot be used with this algorithm.
    WrongKey,
    /// The signature bytes are not a valid encoding for the algorithm (length, range).
    Malformed,
    /// Well-formed but wrong.
    Invalid,
}

/// HMAC of `msg` under `key` with the hash of `alg` (HS256/384/512).
#[must_use]
pub fn hmac(alg: Alg, key: &[u8], msg: &[u8]) -> Vec<u8> {
    fn run<M: Mac + KeyInit>(key: &[u8], msg: &[u8]) -> Vec<u8> {
        match <M as KeyInit>::new_from_slice(key) {
            Ok(mut m) => {
                m.update(msg);
                m.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    }
    match alg {
        Alg::HS384 => run::<hmac::Hmac<Sha384>>(key, msg),
        Alg::HS512 => run::<hmac::Hmac<Sha512>>(key, msg),
        _ => run::<hmac::Hmac<Sha256>>(key, msg),
    }
}

/// Constant-time HMAC check: the tag must be the full hash length.
#[must_use]
pub fn hmac_ok(alg: Alg, key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let tag = hmac(alg, key, msg);
    !tag.is_empty() && tag.len() == sig.len() && bool::from(tag.ct_eq(sig))
}

/// Verify `sig` over `msg` (the JWS signing input) with `key` under `alg`.
///
/// ECDSA signatures must be in the JWS (IEEE P1363, `r || s`) form; RSA-PSS uses a
/// salt as long as the hash (RFC 7518 §3.5).
///
/// # Errors
/// [`SigFailure`] saying whether the key, the encoding or the signature is wrong.
pub fn verify_signature(alg: Alg, key: &PublicMaterial, msg: &[u8], sig: &[u8]) -> Result<(), SigFailure> {
    use rsa::signature::Verifier;
    match (key, alg) {
        (PublicMaterial::Hmac(k), a) if a.is_hmac() => {
            if sig.len() != a.hash_len() {
                return Err(SigFailure::Malformed);
            }
            if hmac_ok(a, k, msg, sig) { Ok(()) } else { Err(SigFailure::Invalid) }
        }
        (PublicMaterial::Rsa(k), a) if a.is_rsa() => {
            if super::rsa_verify::verify(a, k, msg, sig) {
                Ok(())
            } else {
                Err(SigFailure::Invalid)
            }
        }
        (PublicMaterial::P256(k), Alg::ES256) => super::ec_verify::p256v::verify(k, msg, sig),
        (PublicMaterial::P384(k), Alg::ES384) => {
            let s = p384::ecdsa::Signature::from_slice(sig).map_err(|_| SigFailure::Malformed)?;
            k.verify(msg, &s).map_err(|_| SigFailure::Invalid)
        }
        (PublicMaterial::P521(k), Alg::ES512) => {
            let s = p521::ecdsa::Signature::from_slice(sig).map_err(|_| SigFailure::Malformed)?;
            k.verify(msg, &s).map_err(|_| SigFailure::Invalid)
        }
        (PublicMaterial::Ed25519(k), Alg::EdDSA | Alg::Ed25519) => {
            let s = ed25519_dalek::Signature::from_slice(sig).map_err(|_| SigFailure::Malformed)?;
            k.verify_strict(msg, &s).map_err(|_| SigFailure::Invalid)
        }
        _ => Err(SigFailure::WrongKey),
    }
}

/// Group order (big-endian) of the curve used by an ES* algorithm.
#[must_use]
pub fn curve_order(alg: Alg) -> Option<&'static [u8]> {
    const P256: [u8; 32] = hex32(*b"ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
    const P384: [u8; 48] =
        hex48(*b"ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973");
    const P521: [u8; 66] = hex66(*b"01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409");
    match alg {
        Alg::ES256 => Some(&P256),
        Alg::ES384 => Some(&P384),
        Alg::ES512 => Some(&P521),
        _ => None,
    }
}

const fn nib(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => 0,
    }
}
macro_rules! hexn {
    ($name:ident, $n:expr) => {
        const fn $name(h: [u8; $n * 2]) -> [u8; $n] {
            let mut out = [0u8; $n];
            let mut i = 0;
            while i < $n {
                out[i] = (nib(h[2 * i]) << 4) | nib(h[2 * i + 1]);
                i += 1;
            }
            out
        }
    };
}
hexn!(hex32, 32);
hexn!(hex48, 48);
hexn!(hex66, 66);

/// For a P1363 ECDSA signature: is r or s zero or not below the group order?
/// (CVE-2022-21449 "psychic signatures" send r = s = 0.)
#[must_use]
pub fn ecdsa_out_of_range(alg: Alg, sig: &[u8]) -> Option<&'static str> {
    let order = curve_order(alg)?;
    if sig.len() != order.len() * 2 {
        return None;
    }
    let (r, s) = sig.split_at(order.len());
    for (name, v) in [("r", r), ("s", s)] {
        if v.iter().all(|&b| b == 0) {
            return Some(if name == "r" { "r is zero" } else { "s is zero" });
        }
        if v >= order {
            return Some(if name == "r" { "r is not below the curve order" } else { "s is not below the curve order" });
        }
    }
    None
}

/// Does this look like a DER `SEQUENCE { INTEGER r, INTEGER s }`?
#[must_use]
pub fn looks_like_der_ecdsa(sig: &[u8]) -> bool {
    let Some((seq, rest)) = super::der::expect(sig, super::der::SEQ) else { return false };
    if !rest.is_empty() {
        return false;
    }
    let Some((_, r)) = super::der::expect(seq.content, super::der::INT) else { return false };
    matches!(super::der::expect(r, super::der::INT), Some((_, [])))
}

/// Outcome of choosing keys for a token.
#[derive(Debug)]
pub struct Selection<'a> {
    /// Keys that fit kid/alg/kty.
    pub candidates: Vec<&'a VerifyKey>,
    /// Keys matching by kid but of the wrong family/alg/use, with the reason.
    pub mismatched: Vec<(&'a VerifyKey, String)>,
}

/// Choose keys for `alg` and `kid` (JWKS rules: kid first, then alg/kty/use).
#[must_use]
pub fn select<'a>(keys: &'a [VerifyKey], alg: Alg, kid: Option<&str>) -> Selection<'a> {
    let any_kid = keys.iter().any(|k| k.kid.is_some());
    let by_kid: Vec<&VerifyKey> = match kid {
        Some(kid) if any_kid => keys.iter().filter(|k| k.kid.as_deref() == Some(kid) || k.kid.is_none()).collect(),
        _ => keys.iter().collect(),
    };
    let mut sel = Selection { candidates: Vec::new(), mismatched: Vec::new() };
    for k in by_kid {
        match k.mismatch(alg) {
            None => sel.candidates.push(k),
            Some(why) => sel.mismatched.push((k, why)),
        }
    }
    sel
}
