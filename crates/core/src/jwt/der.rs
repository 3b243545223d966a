//! A minimal DER walker: just enough to find an SPKI in an X.509 certificate and
//! to read SPKI, PKCS#1, PKCS#8 and SEC1 structures. Never panics on input.

/// SEQUENCE.
pub const SEQ: u8 = 0x30;
/// INTEGER.
pub const INT: u8 = 0x02;
/// BIT STRING.
pub const BIT_STRING: u8 = 0x03;
/// OCTET STRING.
pub const OCTET_STRING: u8 = 0x04;
/// OBJECT IDENTIFIER.
pub const OID: u8 = 0x06;

/// rsaEncryption.
pub const OID_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
/// id-RSASSA-PSS.
pub const OID_RSA_PSS: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0A];
/// id-ecPublicKey.
pub const OID_EC: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
/// secp256r1.
pub const OID_P256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
/// secp384r1.
pub const OID_P384: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x22];
/// secp521r1.
pub const OID_P521: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x23];
/// Ed25519.
pub const OID_ED25519: &[u8] = &[0x2B, 0x65, 0x70];

/// One TLV: (tag, content, whole encoding, rest after it).
pub struct Tlv<'a> {
    /// Tag byte.
    pub tag: u8,
    /// Content octets.
    pub content: &'a [u8],
    /// The full TLV encoding.
    pub raw: &'a [u8],
}

/// Read one TLV from the front of `input`; returns it and the rest.
#[must_use]
pub fn read(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (len, hdr) = if first < 0x80 {
        (usize::from(first), 2usize)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*input.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    let content = input.get(hdr..end)?;
    let raw = input.get(..end)?;
    let rest = input.get(end..)?;
    Some((Tlv { tag, content, raw }, rest))
}

/// Read a TLV that must have `tag`.
#[must_use]
pub fn expect(input: &[u8], tag: u8) -> Option<(Tlv<'_>, &[u8])> {
    let (t, rest) = read(input)?;
    (t.tag == tag).then_some((t, rest))
}

/// Strip the sign-padding zeros of a DER INTEGER / JWK big-endian number.
#[must_use]
pub fn strip_zeros(mut b: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = b {
        if rest.is_empty() {
            break;
        }
        b = rest;
    }
    b
}

/// Parsed SubjectPublicKeyInfo.
pub struct Spki<'a> {
    /// Algorithm OID.
    pub alg: &'a [u8],
    /// Curve OID for EC keys.
    pub curve: Option<&'a [u8]>,
    /// The public key bits (no unused-bits byte).
    pub key: &'a [u8],
}

/// Parse a DER SubjectPublicKeyInfo.
#[must_use]
pub fn spki(der: &[u8]) -> Option<Spki<'_>> {
    let (outer, _) = expect(der, SEQ)?;
    let (alg_id, rest) = expect(outer.content, SEQ)?;
    let (oid, params) = expect(alg_id.content, OID)?;
    let curve = expect(params, OID).map(|(c, _)| c.content);
    let (bits, _) = expect(rest, BIT_STRING)?;
    let (unused, key) = bits.content.split_first()?;
    if *unused != 0 {
        return None;
    }
    Some(Spki { alg: oid.content, curve, key })
}

/// Find the SubjectPublicKeyInfo (raw TLV) inside a DER X.509 certificate.
#[must_use]
pub fn cert_spki(der: &[u8]) -> Option<&[u8]> {
    let (cert, _) = expect(der, SEQ)?;
    let (tbs, _) = expect(cert.content, SEQ)?;
    let mut rest = tbs.content;
    // optional [0] EXPLICIT version
    if rest.first() == Some(&0xA0) {
        rest = read(rest)?.1;
    }
    // serialNumber, signature, issuer, validity, subject
    let (_, r) = expect(rest, INT)?;
    let (_, r) = expect(r, SEQ)?;
    let (_, r) = expect(r, SEQ)?;
    let (_, r) = expect(r, SEQ)?;
    let (_, r) = expect(r, SEQ)?;
    let (spki, _) = expect(r, SEQ)?;
    Some(spki.raw)
}

/// Parse PKCS#1 RSAPublicKey → (n, e).
#[must_use]
pub fn pkcs1_public(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (seq, _) = expect(der, SEQ)?;
    let (n, r) = expect(seq.content, INT)?;
    let (e, _) = expect(r, INT)?;
    Some((strip_zeros(n.content), strip_zeros(e.content)))
}

/// Parse PKCS#8 PrivateKeyInfo → (alg OID, curve OID, private key octets).
#[must_use]
pub fn pkcs8(der: &[u8]) -> Option<(&[u8], Option<&[u8]>, &[u8])> {
    let (seq, _) = expect(der, SEQ)?;
    let (_, r) = expect(seq.content, INT)?;
    let (alg_id, r) = expect(r, SEQ)?;
    let (oid, params) = expect(alg_id.content, OID)?;
    let curve = expect(params, OID).map(|(c, _)| c.content);
    let (pk, _) = expect(r, OCTET_STRING)?;
    Some((oid.content, curve, pk.content))
}

/// Parse SEC1 ECPrivateKey → (d, curve OID if present).
#[must_use]
pub fn sec1(der: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let (seq, _) = expect(der, SEQ)?;
    let (_, r) = expect(seq.content, INT)?;
    let (d, mut r) = expect(r, OCTET_STRING)?;
    let mut curve = None;
    while let Some((t, rest)) = read(r) {
        if t.tag == 0xA0 {
            curve = expect(t.content, OID).map(|(c, _)| c.content);
        }
        r = rest;
    }
    Some((d.content, curve))
}

/// Decode the first PEM block of a text, leniently
/// ([`crate::encoding::pem::decode_lenient`]): returns (label, DER).
#[must_use]
pub fn pem(text: &str) -> Option<(String, Vec<u8>)> {
    crate::encoding::pem::decode_lenient(text)
}
