//! Agent RSA keys: parsing, the Sealpost key fingerprint, generation.
//!
//! Spec: `docs/protocol.md`, sections "Parties" (RSA >= 2048 bits, e = 65537),
//! "`POST /v1/sessions`" (wire form: base64 of the DER SubjectPublicKeyInfo) and
//! "Key fingerprint".

use core::fmt;

#[cfg(any(feature = "keygen", feature = "jwt"))]
use rsa::{BoxedUint, RsaPublicKey};
use sha2::{Digest, Sha256};

use crate::encoding::{b64, pem};
use crate::error::ErrorCode;

/// Smallest modulus accepted, in bits.
pub const MIN_KEY_BITS: usize = 2048;
/// Largest modulus accepted, in bits (bounds the work an untrusted key can cause).
pub const MAX_KEY_BITS: usize = 8192;
/// The only public exponent accepted (65537).
pub const REQUIRED_EXPONENT: u32 = 65_537;
/// Longest key text accepted by the parsers, in bytes.
pub const MAX_KEY_INPUT: usize = 16 * 1024;

/// DER contents of OID 1.2.840.113549.1.1.1 (rsaEncryption). Compared as bytes so
/// the seal-only WASM build carries no OID formatting code.
const RSA_ENCRYPTION_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The input is not a well-formed key in any accepted form (base64 DER SPKI,
    /// PEM SPKI, PEM PKCS#1, RSA JWK, or for private keys PKCS#8 / PKCS#1 PEM).
    #[error("the key is malformed: {0}")]
    Malformed(&'static str),
    /// The key is well-formed but not an RSA (rsaEncryption) key.
    #[error("the key is not an RSA key")]
    NotRsa,
    /// The RSA modulus is shorter than [`MIN_KEY_BITS`].
    #[error("the RSA key has {bits} bits; at least 2048 are required")]
    TooSmall {
        /// Modulus size of the refused key.
        bits: usize,
    },
    /// The RSA modulus is longer than [`MAX_KEY_BITS`].
    #[error("the RSA key has {bits} bits; at most 8192 are accepted")]
    TooLarge {
        /// Modulus size of the refused key.
        bits: usize,
    },
    /// The public exponent is not 65537.
    #[error("the RSA public exponent must be 65537")]
    BadExponent,
    /// A key size other than 2048, 3072 or 4096 bits was asked of the generator.
    #[error("key size {0} is not supported; use 2048, 3072 or 4096")]
    BitsUnsupported(u32),
    /// Key generation failed.
    #[error("key generation failed")]
    KeygenFailed,
    /// The key text is longer than [`MAX_KEY_INPUT`].
    #[error("the key input is too large")]
    InputTooLarge,
    /// Encoding a key failed (should not happen for a valid key).
    #[error("the key could not be encoded")]
    Encoding,
}

impl ErrorCode for KeyError {
    fn code(&self) -> &'static str {
        match self {
            KeyError::Malformed(_) => "ERR_KEY_MALFORMED",
            KeyError::NotRsa => "ERR_KEY_NOT_RSA",
            KeyError::TooSmall { .. } => "ERR_KEY_TOO_SMALL",
            KeyError::TooLarge { .. } => "ERR_KEY_TOO_LARGE",
            KeyError::BadExponent => "ERR_KEY_BAD_EXPONENT",
            KeyError::BitsUnsupported(_) => "ERR_KEY_BITS_UNSUPPORTED",
            KeyError::KeygenFailed => "ERR_KEYGEN_FAILED",
            KeyError::InputTooLarge => "ERR_INPUT_TOO_LARGE",
            KeyError::Encoding => "ERR_KEY_MALFORMED",
        }
    }
}

impl KeyError {
    /// The stable code (same as [`ErrorCode::code`]).
    pub fn code(&self) -> &'static str {
        ErrorCode::code(self)
    }
}

/// The SHA-256 fingerprint of an agent key's DER SubjectPublicKeyInfo.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// Fingerprint of DER SPKI bytes.
    pub fn of_spki_der(der: &[u8]) -> Self {
        Fingerprint(Sha256::digest(der).into())
    }

    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// SSH-style long form: `SHA256:` + unpadded standard base64 of the digest.
    pub fn long(&self) -> String {
        let mut s = String::with_capacity(7 + 43);
        s.push_str("SHA256:");
        s.push_str(&b64::std_no_pad(&self.0));
        s
    }

    /// Short form for eyes: lowercase hex of the first 6 bytes as `xxxx-xxxx-xxxx`.
    pub fn short(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(14);
        for (i, b) in self.0[..6].iter().enumerate() {
            if i > 0 && i % 2 == 0 {
                s.push('-');
            }
            s.push(HEX[usize::from(b >> 4)] as char);
            s.push(HEX[usize::from(b & 0x0f)] as char);
        }
        s
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.long())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.long())
    }
}

/// An agent's RSA public key, validated: rsaEncryption, 2048..=8192 bits, e = 65537.
///
/// Sealing uses the modulus through [`crate::crypto`] (a small
/// public-key-only RSA-OAEP); the `rsa` crate's key is only built where the agent
/// side or the JWT engine is compiled in (features `keygen`, `jwt`), so the
/// seal-only WASM bundle carries no general big-number library.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentPublicKey {
    #[cfg(any(feature = "keygen", feature = "jwt"))]
    key: RsaPublicKey,
    /// Big-endian modulus without leading zero bytes.
    n: Vec<u8>,
    /// Canonical DER SubjectPublicKeyInfo (what the fingerprint is computed over).
    spki: Vec<u8>,
}

impl fmt::Debug for AgentPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentPublicKey")
            .field("bits", &self.bits())
            .field("fingerprint", &self.fingerprint().long())
            .finish()
    }
}

impl AgentPublicKey {
    /// Parse a key in any accepted form: base64 DER SPKI (the wire form), PEM SPKI
    /// (`PUBLIC KEY`), PEM PKCS#1 (`RSA PUBLIC KEY`), or an RSA JWK (JSON object).
    pub fn parse(input: &str) -> Result<Self, KeyError> {
        check_len(input)?;
        if input.trim_start().starts_with('{') { Self::from_jwk(input) } else { Self::from_wire(input) }
    }

    /// Parse base64 DER SPKI or PEM (SPKI or PKCS#1). No JSON: this is the parser
    /// the seal-only WASM bundle uses.
    pub fn from_wire(input: &str) -> Result<Self, KeyError> {
        check_len(input)?;
        let trimmed = input.trim();
        if trimmed.starts_with("-----BEGIN") {
            return Self::from_pem(trimmed);
        }
        if trimmed.is_empty() {
            return Err(KeyError::Malformed("empty input"));
        }
        let der = b64::decode_any(trimmed).ok_or(KeyError::Malformed("not valid base64"))?;
        Self::from_spki_der(&der)
    }

    /// Parse a PEM `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1) block.
    pub fn from_pem(input: &str) -> Result<Self, KeyError> {
        check_len(input)?;
        let (label, der) = decode_pem(input)?;
        match label.as_str() {
            "PUBLIC KEY" => Self::from_spki_der(&der),
            "RSA PUBLIC KEY" => Self::from_pkcs1_der(&der),
            _ => Err(KeyError::Malformed("PEM label is not PUBLIC KEY or RSA PUBLIC KEY")),
        }
    }

    /// Parse DER SubjectPublicKeyInfo bytes.
    ///
    /// `SEQUENCE { SEQUENCE { OID, parameters }, BIT STRING }` in strict DER. For
    /// rsaEncryption the parameters must be NULL (RFC 3279) or absent (as openssl
    /// accepts); the key is then the same key, with the same canonical SPKI.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        const MALFORMED: KeyError = KeyError::Malformed("not a DER SubjectPublicKeyInfo");
        if der.len() > MAX_KEY_INPUT {
            return Err(KeyError::InputTooLarge);
        }
        let mut outer = Der(der);
        let mut info = Der(outer.read(SEQUENCE).ok_or(MALFORMED)?);
        let mut algorithm = Der(info.read(SEQUENCE).ok_or(MALFORMED)?);
        let bit_string = info.read(BIT_STRING).ok_or(MALFORMED)?;
        let oid = algorithm.read(OID).ok_or(MALFORMED)?;
        let params = if algorithm.0.is_empty() { None } else { Some(algorithm.read_any().ok_or(MALFORMED)?) };
        if !(outer.0.is_empty() && info.0.is_empty() && algorithm.0.is_empty()) {
            return Err(MALFORMED);
        }
        if oid != RSA_ENCRYPTION_OID {
            return Err(KeyError::NotRsa);
        }
        if params.is_some_and(|p| p != (NULL, &[][..])) {
            return Err(KeyError::Malformed("rsaEncryption parameters must be NULL"));
        }
        let Some((0, bits)) = bit_string.split_first() else {
            return Err(KeyError::Malformed("public key bit string has unused bits"));
        };
        Self::from_pkcs1_der(bits)
    }

    /// Parse a DER PKCS#1 `RSAPublicKey` (`SEQUENCE { INTEGER n, INTEGER e }`).
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        const MALFORMED: KeyError = KeyError::Malformed("not a DER RSAPublicKey");
        let mut outer = Der(der);
        let mut seq = Der(outer.read(SEQUENCE).ok_or(MALFORMED)?);
        let n = seq.uint().ok_or(MALFORMED)?;
        let e = seq.uint().ok_or(MALFORMED)?;
        if !(outer.0.is_empty() && seq.0.is_empty()) {
            return Err(MALFORMED);
        }
        Self::from_components(n, e)
    }

    /// Parse an RSA JWK (`{"kty":"RSA","n":...,"e":...}`). Private members, if
    /// present, are ignored.
    pub fn from_jwk(input: &str) -> Result<Self, KeyError> {
        check_len(input)?;
        #[derive(serde::Deserialize)]
        struct Jwk {
            kty: Option<String>,
            n: Option<String>,
            e: Option<String>,
        }
        let jwk: Jwk = serde_json::from_str(input).map_err(|_| KeyError::Malformed("not a JSON Web Key object"))?;
        match jwk.kty.as_deref() {
            Some("RSA") => {}
            Some(_) => return Err(KeyError::NotRsa),
            None => return Err(KeyError::Malformed("JWK has no kty")),
        }
        let n = jwk.n.ok_or(KeyError::Malformed("JWK has no n"))?;
        let e = jwk.e.ok_or(KeyError::Malformed("JWK has no e"))?;
        let n = b64::decode_any(&n).ok_or(KeyError::Malformed("JWK n is not base64url"))?;
        let e = b64::decode_any(&e).ok_or(KeyError::Malformed("JWK e is not base64url"))?;
        Self::from_components(&n, &e)
    }

    /// Build from big-endian modulus and exponent bytes, applying every check.
    pub fn from_components(n: &[u8], e: &[u8]) -> Result<Self, KeyError> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        if e != [0x01, 0x00, 0x01] {
            return Err(KeyError::BadExponent);
        }
        let bits = match n.first() {
            None => 0,
            Some(top) => n.len() * 8 - top.leading_zeros() as usize,
        };
        if bits < MIN_KEY_BITS {
            return Err(KeyError::TooSmall { bits });
        }
        if bits > MAX_KEY_BITS {
            return Err(KeyError::TooLarge { bits });
        }
        if n.last().is_none_or(|b| b & 1 == 0) {
            return Err(KeyError::Malformed("RSA modulus is even"));
        }
        #[cfg(any(feature = "keygen", feature = "jwt"))]
        let key = {
            let n_uint =
                BoxedUint::from_be_slice(n, (n.len() * 8) as u32).map_err(|_| KeyError::Malformed("RSA modulus"))?;
            let e_uint = BoxedUint::from_be_slice(e, 32).map_err(|_| KeyError::BadExponent)?;
            RsaPublicKey::new_with_size_limits(n_uint, e_uint, MIN_KEY_BITS..=MAX_KEY_BITS)
                .map_err(|_| KeyError::Malformed("RSA public key rejected"))?
        };
        Ok(AgentPublicKey {
            #[cfg(any(feature = "keygen", feature = "jwt"))]
            key,
            n: n.to_vec(),
            spki: encode_spki(n),
        })
    }

    /// Wrap an `rsa` public key after applying the checks.
    #[cfg(any(feature = "keygen", feature = "jwt"))]
    pub fn from_rsa_checked(key: RsaPublicKey) -> Result<Self, KeyError> {
        use rsa::traits::PublicKeyParts;
        let n = key.n_bytes();
        let e = key.e_bytes();
        Self::from_components(&n, &e)
    }

    /// Canonical DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// The wire form: standard base64 (padded) of the DER SPKI.
    pub fn to_wire(&self) -> String {
        b64::std(&self.spki)
    }

    /// PEM `PUBLIC KEY` form.
    pub fn to_pem(&self) -> String {
        pem_rfc7468::encode_string("PUBLIC KEY", pem_rfc7468::LineEnding::LF, &self.spki).unwrap_or_default()
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.n.first().map_or(0, |top| self.n.len() * 8 - top.leading_zeros() as usize)
    }

    /// Big-endian modulus, without leading zero bytes.
    pub fn modulus(&self) -> &[u8] {
        &self.n
    }

    /// The Sealpost key fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_spki_der(&self.spki)
    }

    /// The underlying `rsa` key (for signature verification in the JWT engine).
    #[cfg(any(feature = "keygen", feature = "jwt"))]
    pub fn rsa(&self) -> &RsaPublicKey {
        &self.key
    }
}

fn check_len(input: &str) -> Result<(), KeyError> {
    if input.len() > MAX_KEY_INPUT { Err(KeyError::InputTooLarge) } else { Ok(()) }
}

/// One PEM block, strictly ([`pem::decode_strict`]): `(label, DER)`.
fn decode_pem(input: &str) -> Result<(String, Vec<u8>), KeyError> {
    pem::decode_strict(input).ok_or(KeyError::Malformed("not a valid PEM block"))
}

const SEQUENCE: u8 = 0x30;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;
const NULL: u8 = 0x05;
const INTEGER: u8 = 0x02;

/// A strict DER reader for the few structures an agent key comes in: definite
/// lengths in their shortest form, single-byte tags, minimal non-negative INTEGERs.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// The next element, whatever its tag: `(tag, contents)`.
    fn read_any(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        if tag & 0x1f == 0x1f {
            return None;
        }
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = match first {
            0..=0x7f => (usize::from(first), rest),
            0x81 => match rest.split_first()? {
                (&l, rest) if l >= 0x80 => (usize::from(l), rest),
                _ => return None,
            },
            0x82 => match rest {
                [hi, lo, rest @ ..] if *hi != 0 => (usize::from(*hi) << 8 | usize::from(*lo), rest),
                _ => return None,
            },
            // Indefinite lengths, and lengths beyond any accepted key.
            _ => return None,
        };
        let (contents, rest) = rest.split_at_checked(len)?;
        self.0 = rest;
        Some((tag, contents))
    }

    /// The contents of the next element, which must have tag `tag`.
    fn read(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.read_any()? {
            (t, contents) if t == tag => Some(contents),
            _ => None,
        }
    }

    /// A non-negative INTEGER in minimal form, as big-endian bytes without the sign byte.
    fn uint(&mut self) -> Option<&'a [u8]> {
        match self.read(INTEGER)? {
            [] => None,
            [0, next, ..] if next & 0x80 == 0 => None,
            [0, magnitude @ ..] => Some(magnitude),
            [first, ..] if first & 0x80 != 0 => None,
            bytes => Some(bytes),
        }
    }
}

/// Appends a DER tag and length.
fn der_header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    match len {
        0..=0x7f => out.push(len as u8),
        0x80..=0xff => out.extend_from_slice(&[0x81, len as u8]),
        _ => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
    }
}

/// Length of a DER element with `len` content bytes.
fn der_len(len: usize) -> usize {
    len + match len {
        0..=0x7f => 2,
        0x80..=0xff => 3,
        _ => 4,
    }
}

/// The canonical SPKI of the RSA key with modulus `n` (no leading zeros, at most
/// 8192 bits) and exponent 65537: `SEQUENCE { SEQUENCE { rsaEncryption, NULL },
/// BIT STRING { RSAPublicKey } }`, as openssl and the `rsa` crate write it.
fn encode_spki(n: &[u8]) -> Vec<u8> {
    const ALGORITHM: &[u8] =
        &[0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
    const EXPONENT: &[u8] = &[0x02, 0x03, 0x01, 0x00, 0x01];
    let sign = usize::from(n.first().is_some_and(|b| b & 0x80 != 0));
    let rsa_key = der_len(sign + n.len()) + EXPONENT.len();
    let bit_string = 1 + der_len(rsa_key);
    let info = ALGORITHM.len() + der_len(bit_string);
    let mut out = Vec::with_capacity(der_len(info));
    der_header(&mut out, SEQUENCE, info);
    out.extend_from_slice(ALGORITHM);
    der_header(&mut out, BIT_STRING, bit_string);
    out.push(0);
    der_header(&mut out, SEQUENCE, rsa_key);
    der_header(&mut out, INTEGER, sign + n.len());
    if sign == 1 {
        out.push(0);
    }
    out.extend_from_slice(n);
    out.extend_from_slice(EXPONENT);
    out
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(feature = "keygen")]
pub use private::{AgentPrivateKey, KeyBits};

#[cfg(feature = "keygen")]
mod private {
    use super::*;
    use rsa::RsaPrivateKey;
    use zeroize::Zeroizing;

    /// Key sizes the agent may generate.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    #[non_exhaustive]
    pub enum KeyBits {
        /// RSA-2048: fastest, the protocol minimum.
        B2048,
        /// RSA-3072 (~128-bit security): the default.
        #[default]
        B3072,
        /// RSA-4096.
        B4096,
    }

    impl KeyBits {
        /// Modulus size in bits.
        pub fn bits(self) -> usize {
            match self {
                KeyBits::B2048 => 2048,
                KeyBits::B3072 => 3072,
                KeyBits::B4096 => 4096,
            }
        }
    }

    impl TryFrom<u32> for KeyBits {
        type Error = KeyError;
        fn try_from(bits: u32) -> Result<Self, KeyError> {
            match bits {
                2048 => Ok(KeyBits::B2048),
                3072 => Ok(KeyBits::B3072),
                4096 => Ok(KeyBits::B4096),
                other => Err(KeyError::BitsUnsupported(other)),
            }
        }
    }

    /// The agent's private key. Zeroized on drop (by `rsa`); never printed by `Debug`.
    pub struct AgentPrivateKey {
        key: RsaPrivateKey,
        public: AgentPublicKey,
    }

    impl fmt::Debug for AgentPrivateKey {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("AgentPrivateKey").field("public", &self.public).finish_non_exhaustive()
        }
    }

    impl AgentPrivateKey {
        /// Generate a fresh key pair with e = 65537 from the OS / browser CSPRNG.
        pub fn generate(bits: KeyBits) -> Result<Self, KeyError> {
            crate::crypto::check_rng().map_err(|_| KeyError::KeygenFailed)?;
            let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
            let key = RsaPrivateKey::new(&mut rng, bits.bits()).map_err(|_| KeyError::KeygenFailed)?;
            Self::from_rsa(key)
        }

        /// Wrap an `rsa` private key. The public half must pass the same policy as
        /// any agent key (2048..=8192 bits, e = 65537).
        pub fn from_rsa(key: RsaPrivateKey) -> Result<Self, KeyError> {
            let public = AgentPublicKey::from_rsa_checked(key.to_public_key())?;
            Ok(AgentPrivateKey { key, public })
        }

        /// Parse a PEM `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY` (PKCS#1).
        pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
            if pem.len() > MAX_KEY_INPUT {
                return Err(KeyError::InputTooLarge);
            }
            let (label, der) = decode_pem(pem)?;
            let der = Zeroizing::new(der);
            match label.as_str() {
                "PRIVATE KEY" => Self::from_pkcs8_der(&der),
                "RSA PRIVATE KEY" => {
                    use rsa::pkcs1::DecodeRsaPrivateKey;
                    let key = RsaPrivateKey::from_pkcs1_der(&der)
                        .map_err(|_| KeyError::Malformed("not a PKCS#1 RSA private key"))?;
                    Self::from_rsa(key)
                }
                _ => Err(KeyError::Malformed("PEM label is not PRIVATE KEY or RSA PRIVATE KEY")),
            }
        }

        /// Parse DER PKCS#8 `PrivateKeyInfo`.
        pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
            use pkcs8::der::Decode;
            let info = pkcs8::PrivateKeyInfoRef::from_der(der)
                .map_err(|_| KeyError::Malformed("not a DER PKCS#8 PrivateKeyInfo"))?;
            if info.algorithm.oid.as_bytes() != RSA_ENCRYPTION_OID {
                return Err(KeyError::NotRsa);
            }
            let key = RsaPrivateKey::try_from(info).map_err(|_| KeyError::Malformed("not a PKCS#8 RSA private key"))?;
            Self::from_rsa(key)
        }

        /// The public half.
        pub fn public_key(&self) -> &AgentPublicKey {
            &self.public
        }

        /// PKCS#8 PEM, in memory that is zeroized on drop.
        pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
            use rsa::pkcs8::EncodePrivateKey;
            self.key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).map_err(|_| KeyError::Encoding)
        }

        /// The underlying `rsa` key.
        pub fn rsa(&self) -> &RsaPrivateKey {
            &self.key
        }
    }
}

#[cfg(all(test, feature = "keygen"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn wire_pem_jwk_agree() {
        let sk = AgentPrivateKey::generate(KeyBits::B2048).unwrap();
        let pk = sk.public_key();
        let from_wire = AgentPublicKey::parse(&pk.to_wire()).unwrap();
        let from_pem = AgentPublicKey::parse(&pk.to_pem()).unwrap();
        assert_eq!(&from_wire, pk);
        assert_eq!(&from_pem, pk);
        let fp = pk.fingerprint();
        assert!(fp.long().starts_with("SHA256:") && fp.long().len() == 50);
        let short = fp.short();
        assert_eq!(short.len(), 14);
        assert_eq!(&short[4..5], "-");
        let pem = sk.to_pkcs8_pem().unwrap();
        let again = AgentPrivateKey::from_pem(&pem).unwrap();
        assert_eq!(again.public_key(), pk);
    }

    #[test]
    fn refusals_have_codes() {
        assert_eq!(AgentPublicKey::parse("!!!").unwrap_err().code(), "ERR_KEY_MALFORMED");
        assert_eq!(AgentPublicKey::parse("").unwrap_err().code(), "ERR_KEY_MALFORMED");
        assert_eq!(AgentPublicKey::parse(r#"{"kty":"EC","crv":"P-256"}"#).unwrap_err().code(), "ERR_KEY_NOT_RSA");
        let mut n = vec![0xffu8; 128];
        n[127] = 0xfb;
        assert_eq!(AgentPublicKey::from_components(&n, &[1, 0, 1]).unwrap_err().code(), "ERR_KEY_TOO_SMALL");
        let n = vec![0xffu8; 256];
        assert_eq!(AgentPublicKey::from_components(&n, &[3]).unwrap_err().code(), "ERR_KEY_BAD_EXPONENT");
        assert_eq!(AgentPublicKey::parse(&"A".repeat(MAX_KEY_INPUT + 1)).unwrap_err().code(), "ERR_INPUT_TOO_LARGE");
    }
}
