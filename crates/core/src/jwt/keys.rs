//! Verification and signing keys: JWK, JWKS, PEM (SPKI, PKCS#1, X.509 certificate,
//! PKCS#8, SEC1) and shared secrets. Key material never appears in errors or `Debug`.

use core::fmt;

use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, RsaPrivateKey, RsaPublicKey};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::alg::Alg;
use super::der;
use super::error::JwtError;
use super::report::KeySummary;

/// Largest key text accepted (a JWKS with many keys fits).
pub const MAX_KEY_TEXT: usize = 1 << 20;
/// Most keys read from one JWKS.
pub const MAX_JWKS_KEYS: usize = 64;

/// Public verification material.
#[derive(Clone)]
#[non_exhaustive]
pub enum PublicMaterial {
    /// Shared HMAC secret.
    Hmac(Zeroizing<Vec<u8>>),
    /// RSA public key.
    Rsa(Box<RsaPublicKey>),
    /// P-256 public key.
    P256(p256::ecdsa::VerifyingKey),
    /// P-384 public key.
    P384(p384::ecdsa::VerifyingKey),
    /// P-521 public key.
    P521(p521::ecdsa::VerifyingKey),
    /// Ed25519 public key.
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PublicMaterial {
    /// JWK `kty`.
    #[must_use]
    pub fn kty(&self) -> &'static str {
        match self {
            Self::Hmac(_) => "oct",
            Self::Rsa(_) => "RSA",
            Self::P256(_) | Self::P384(_) | Self::P521(_) => "EC",
            Self::Ed25519(_) => "OKP",
        }
    }
    /// JWK `crv`.
    #[must_use]
    pub fn crv(&self) -> Option<&'static str> {
        match self {
            Self::P256(_) => Some("P-256"),
            Self::P384(_) => Some("P-384"),
            Self::P521(_) => Some("P-521"),
            Self::Ed25519(_) => Some("Ed25519"),
            _ => None,
        }
    }
    /// Size in bits.
    #[must_use]
    pub fn bits(&self) -> usize {
        match self {
            Self::Hmac(k) => k.len() * 8,
            Self::Rsa(k) => k.n().bits_vartime() as usize,
            Self::P256(_) | Self::Ed25519(_) => 256,
            Self::P384(_) => 384,
            Self::P521(_) => 521,
        }
    }
}

/// A verification key with its JWK metadata.
#[derive(Clone)]
pub struct VerifyKey {
    /// The material.
    pub material: PublicMaterial,
    /// `kid`.
    pub kid: Option<String>,
    /// `alg`.
    pub alg: Option<String>,
    /// `use`.
    pub use_: Option<String>,
    /// `key_ops`.
    pub key_ops: Option<Vec<String>>,
    /// Where it came from (`jwk`, `jwks[1]`, `pem-spki`, `pem-certificate`, `secret`).
    pub source: String,
    /// The byte forms an attacker could use as an HMAC secret (key confusion).
    pub public_forms: Vec<Vec<u8>>,
    /// RSA key restricted to PSS by its SPKI algorithm.
    pub pss_only: bool,
}

impl fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kty", &self.material.kty())
            .field("crv", &self.material.crv())
            .field("kid", &self.kid)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl VerifyKey {
    fn bare(material: PublicMaterial, source: &str) -> Self {
        Self {
            material,
            kid: None,
            alg: None,
            use_: None,
            key_ops: None,
            source: source.to_owned(),
            public_forms: Vec::new(),
            pss_only: false,
        }
    }
    /// Summary for reports.
    #[must_use]
    pub fn summary(&self) -> KeySummary {
        KeySummary {
            kty: self.material.kty(),
            crv: self.material.crv(),
            bits: self.material.bits(),
            kid: self.kid.clone(),
            alg: self.alg.clone(),
            source: self.source.clone(),
        }
    }
    /// Why this key cannot verify `alg`, or `None` when it can.
    #[must_use]
    pub fn mismatch(&self, alg: Alg) -> Option<String> {
        let fam_ok = match (&self.material, alg) {
            (PublicMaterial::Hmac(_), a) => a.is_hmac(),
            (PublicMaterial::Rsa(_), a) => a.is_rsa() && (!self.pss_only || a.is_pss()),
            (PublicMaterial::P256(_), a) => a == Alg::ES256,
            (PublicMaterial::P384(_), a) => a == Alg::ES384,
            (PublicMaterial::P521(_), a) => a == Alg::ES512,
            (PublicMaterial::Ed25519(_), a) => matches!(a, Alg::EdDSA | Alg::Ed25519),
        };
        if !fam_ok {
            let what = self.material.crv().unwrap_or(self.material.kty());
            return Some(format!("alg {} cannot be used with a {what} key", alg.name()));
        }
        if let Some(ka) = &self.alg
            && ka != alg.name()
        {
            return Some(format!("the key is restricted to alg {ka}, the token uses {}", alg.name()));
        }
        if let Some(u) = &self.use_
            && u != "sig"
        {
            return Some(format!("the key's use is \"{u}\", not \"sig\""));
        }
        if let Some(ops) = &self.key_ops
            && !ops.iter().any(|o| o == "verify")
        {
            return Some("the key's key_ops do not include \"verify\"".to_owned());
        }
        None
    }
}

/// A set of verification keys (one key, or a JWKS).
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    /// The keys.
    pub keys: Vec<VerifyKey>,
    /// Whether the keys came from a JWKS (selection by kid/alg/kty applies).
    pub is_jwks: bool,
    /// Keys of a JWKS that were skipped, with the reason (no key material).
    pub skipped: Vec<String>,
    /// Whether the input held private or symmetric material anywhere (a PEM
    /// private key, a JWK member `d`, `k`, `p`... even in a skipped entry, a secret).
    secret_input: bool,
}

impl KeySet {
    /// One shared secret given as UTF-8 text.
    #[must_use]
    pub fn secret_utf8(secret: &str) -> Self {
        Self::secret_bytes(secret.as_bytes())
    }

    /// One shared secret given as bytes.
    #[must_use]
    pub fn secret_bytes(secret: &[u8]) -> Self {
        Self {
            keys: vec![VerifyKey::bare(PublicMaterial::Hmac(Zeroizing::new(secret.to_vec())), "secret")],
            is_jwks: false,
            skipped: Vec::new(),
            secret_input: true,
        }
    }

    /// One shared secret given as base64 or base64url (padding optional).
    ///
    /// # Errors
    /// `ERR_JWT_KEY_MALFORMED` when the text is not base64.
    pub fn secret_base64(secret: &str) -> Result<Self, JwtError> {
        Ok(Self::secret_bytes(&decode_b64_any(secret)?))
    }

    /// Parse a JWK, a JWKS, or a PEM public key / certificate / private key.
    ///
    /// # Errors
    /// `ERR_JWT_KEY_MALFORMED` / `ERR_JWT_KEY_UNSUPPORTED`, never echoing key material.
    pub fn parse(text: &str) -> Result<Self, JwtError> {
        if text.len() > MAX_KEY_TEXT {
            return Err(JwtError::InputTooLarge { limit: MAX_KEY_TEXT });
        }
        let t = text.trim();
        if t.starts_with('{') {
            let v: Value = serde_json::from_str(t).map_err(|_| JwtError::KeyMalformed("not valid JSON"))?;
            let obj = v.as_object().ok_or(JwtError::KeyMalformed("JWK must be a JSON object"))?;
            let secret_input = holds_private_member(&v);
            if let Some(keys) = obj.get("keys") {
                let arr = keys.as_array().ok_or(JwtError::KeyMalformed("JWKS \"keys\" must be an array"))?;
                let mut set = Self { is_jwks: true, secret_input, ..Self::default() };
                for (i, k) in arr.iter().take(MAX_JWKS_KEYS).enumerate() {
                    match k
                        .as_object()
                        .ok_or(JwtError::KeyMalformed("JWKS entry is not an object"))
                        .and_then(|o| jwk_public(o, &format!("jwks[{i}]")))
                    {
                        Ok(key) => set.keys.push(key),
                        Err(e) => set.skipped.push(format!("jwks[{i}]: {e}")),
                    }
                }
                if set.keys.is_empty() && arr.is_empty() {
                    return Err(JwtError::KeyMalformed("JWKS has no keys"));
                }
                return Ok(set);
            }
            return Ok(Self { keys: vec![jwk_public(obj, "jwk")?], secret_input, ..Self::default() });
        }
        if t.contains("-----BEGIN ") {
            let secret_input = !pem_labels_public(text);
            return Ok(Self { keys: vec![pem_public(text)?], secret_input, ..Self::default() });
        }
        Err(JwtError::KeyMalformed("expected a JWK, a JWKS or a PEM document (use a secret option for shared secrets)"))
    }

    /// Merge another set into this one.
    pub fn extend(&mut self, other: KeySet) {
        self.is_jwks |= other.is_jwks || !self.keys.is_empty();
        self.secret_input |= other.secret_input;
        self.keys.extend(other.keys);
        self.skipped.extend(other.skipped);
    }

    /// Whether the set and the text it was parsed from hold public material
    /// only: no shared secret, no PEM block other than a public key or a
    /// certificate, no JWK member that carries private or symmetric material
    /// (`d`, `k`, `p`, `q`, `dp`, `dq`, `qi`, `oth`; JSON escapes are resolved
    /// first, skipped JWKS entries count). Only such a set, and its text, may be
    /// kept beyond one call (the full bundle's cache of parsed keys).
    #[must_use]
    pub fn is_public_only(&self) -> bool {
        !self.secret_input && self.keys.iter().all(|k| !matches!(k.material, PublicMaterial::Hmac(_)))
    }
}

/// Whether any object in `v` has a member that holds private or symmetric key material.
fn holds_private_member(v: &Value) -> bool {
    match v {
        Value::Object(o) => {
            o.iter().any(|(name, v)| super::dpop::PRIVATE_MEMBERS.contains(&name.as_str()) || holds_private_member(v))
        }
        Value::Array(a) => a.iter().any(holds_private_member),
        _ => false,
    }
}

/// Whether every PEM block of `text` is a public key or a certificate (a byte
/// scan: the string searcher would cost WASM bytes for this one check).
fn pem_labels_public(text: &str) -> bool {
    let b = text.as_bytes();
    (0..b.len()).filter(|&i| b[i..].starts_with(b"-----BEGIN ")).all(|i| {
        let label = &b[i + 11..];
        [&b"PUBLIC KEY-----"[..], b"RSA PUBLIC KEY-----", b"CERTIFICATE-----"].iter().any(|l| label.starts_with(l))
    })
}

pub(crate) fn decode_b64_any(s: &str) -> Result<Vec<u8>, JwtError> {
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace() && *c != '=').collect();
    let (bytes, _) = super::b64::decode(compact.as_bytes()).map_err(|_| JwtError::KeyMalformed("not base64"))?;
    Ok(bytes)
}

fn member_b64(o: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, JwtError> {
    let s = o.get(name).and_then(Value::as_str).ok_or(JwtError::KeyMalformed(name))?;
    let (b, _) = super::b64::decode(s.as_bytes()).map_err(|_| JwtError::KeyMalformed(name))?;
    Ok(b)
}

fn uint(bytes: &[u8]) -> Result<BoxedUint, JwtError> {
    let b = der::strip_zeros(bytes);
    let bits = u32::try_from(b.len().max(1) * 8).map_err(|_| JwtError::KeyMalformed("integer too large"))?;
    BoxedUint::from_be_slice(b, bits).map_err(|_| JwtError::KeyMalformed("integer"))
}

/// Build an RSA public key from big-endian n and e, allowing small moduli so
/// they can be *reported* (the engine flags anything under 2048 bits).
pub(crate) fn rsa_from_ne(n: &[u8], e: &[u8]) -> Result<RsaPublicKey, JwtError> {
    let n = der::strip_zeros(n);
    if n.len() > 2048 {
        return Err(JwtError::KeyUnsupported("RSA modulus over 16384 bits"));
    }
    RsaPublicKey::new_with_size_limits(uint(n)?, uint(e)?, 512..=16384)
        .map_err(|_| JwtError::KeyMalformed("RSA public key"))
}

const NOT_ON_CURVE: JwtError = JwtError::KeyMalformed("EC point not on the curve");

/// Uncompressed SEC1 point (`04 || X || Y`), the only form JWK, JOSE issuers and
/// X.509 use in practice. Compressed points are refused with a clear error rather
/// than supported: their square-root code would add ~10 KB to the WASM bundle.
macro_rules! ec_uncompressed {
    ($crv:ident, $point:expr) => {{
        use $crv::elliptic_curve::point::AffineCoordinates;
        let len = <$crv::FieldBytes>::default().len();
        let point: &[u8] = $point;
        match point.split_first() {
            Some((4, xy)) if xy.len() == 2 * len => {
                let (x, y) = xy.split_at(len);
                let (x, y) = (
                    <$crv::FieldBytes>::try_from(x).map_err(|_| NOT_ON_CURVE)?,
                    <$crv::FieldBytes>::try_from(y).map_err(|_| NOT_ON_CURVE)?,
                );
                let affine = Option::<$crv::AffinePoint>::from($crv::AffinePoint::from_coordinates(&x, &y))
                    .ok_or(NOT_ON_CURVE)?;
                $crv::ecdsa::VerifyingKey::from_affine(affine).map_err(|_| NOT_ON_CURVE)?
            }
            Some((2 | 3, xy)) if xy.len() == len => {
                return Err(JwtError::KeyUnsupported("compressed EC point (use the uncompressed form)"));
            }
            _ => return Err(JwtError::KeyMalformed("EC point")),
        }
    }};
}

fn ec_material(crv: &[u8], point: &[u8]) -> Result<PublicMaterial, JwtError> {
    Ok(match crv {
        c if c == der::OID_P256 => PublicMaterial::P256(ec_uncompressed!(p256, point)),
        c if c == der::OID_P384 => PublicMaterial::P384(ec_uncompressed!(p384, point)),
        c if c == der::OID_P521 => PublicMaterial::P521(ec_uncompressed!(p521, point)),
        _ => return Err(JwtError::KeyUnsupported("EC curve (P-256, P-384, P-521 only)")),
    })
}

fn ed25519_material(key: &[u8]) -> Result<PublicMaterial, JwtError> {
    let arr: [u8; 32] = key.try_into().map_err(|_| JwtError::KeyMalformed("Ed25519 key must be 32 bytes"))?;
    ed25519_dalek::VerifyingKey::from_bytes(&arr)
        .map(PublicMaterial::Ed25519)
        .map_err(|_| JwtError::KeyMalformed("Ed25519 point"))
}

/// Parse a DER SPKI.
fn spki_material(spki_der: &[u8]) -> Result<(PublicMaterial, bool), JwtError> {
    let s = der::spki(spki_der).ok_or(JwtError::KeyMalformed("SubjectPublicKeyInfo"))?;
    match s.alg {
        a if a == der::OID_RSA || a == der::OID_RSA_PSS => {
            let (n, e) = der::pkcs1_public(s.key).ok_or(JwtError::KeyMalformed("RSA public key"))?;
            Ok((PublicMaterial::Rsa(Box::new(rsa_from_ne(n, e)?)), a == der::OID_RSA_PSS))
        }
        a if a == der::OID_EC => Ok((ec_material(s.curve.ok_or(JwtError::KeyMalformed("EC curve"))?, s.key)?, false)),
        a if a == der::OID_ED25519 => Ok((ed25519_material(s.key)?, false)),
        _ => Err(JwtError::KeyUnsupported("public key algorithm")),
    }
}

fn pem_public(text: &str) -> Result<VerifyKey, JwtError> {
    let (label, der_bytes) = der::pem(text).ok_or(JwtError::KeyMalformed("PEM"))?;
    let (material, source, pss_only) = match label.as_str() {
        "PUBLIC KEY" => {
            let (m, pss) = spki_material(&der_bytes)?;
            (m, "pem-spki", pss)
        }
        "RSA PUBLIC KEY" => {
            let (n, e) = der::pkcs1_public(&der_bytes).ok_or(JwtError::KeyMalformed("PKCS#1 RSA public key"))?;
            (PublicMaterial::Rsa(Box::new(rsa_from_ne(n, e)?)), "pem-pkcs1", false)
        }
        "CERTIFICATE" => {
            let spki = der::cert_spki(&der_bytes).ok_or(JwtError::KeyMalformed("X.509 certificate"))?;
            let (m, pss) = spki_material(spki)?;
            (m, "pem-certificate", pss)
        }
        "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => {
            let sk = SignKey::parse(text)?;
            (sk.public()?, "pem-private", false)
        }
        _ => return Err(JwtError::KeyUnsupported("PEM label")),
    };
    let mut key = VerifyKey::bare(material, source);
    key.pss_only = pss_only;
    // What a naive HS256 verifier would use as the secret: the file bytes.
    key.public_forms = vec![
        text.as_bytes().to_vec(),
        text.trim().as_bytes().to_vec(),
        format!("{}\n", text.trim()).into_bytes(),
        der_bytes,
    ];
    key.public_forms.dedup();
    Ok(key)
}

fn str_member(o: &Map<String, Value>, n: &str) -> Option<String> {
    o.get(n).and_then(Value::as_str).map(str::to_owned)
}

fn jwk_public(o: &Map<String, Value>, source: &str) -> Result<VerifyKey, JwtError> {
    let kty = o.get("kty").and_then(Value::as_str).ok_or(JwtError::KeyMalformed("JWK kty"))?;
    let material = match kty {
        "RSA" => PublicMaterial::Rsa(Box::new(rsa_from_ne(&member_b64(o, "n")?, &member_b64(o, "e")?)?)),
        "EC" => {
            let x = member_b64(o, "x")?;
            let y = member_b64(o, "y")?;
            let (oid, len) = match o.get("crv").and_then(Value::as_str) {
                Some("P-256") => (der::OID_P256, 32),
                Some("P-384") => (der::OID_P384, 48),
                Some("P-521") => (der::OID_P521, 66),
                _ => return Err(JwtError::KeyUnsupported("EC curve (P-256, P-384, P-521 only)")),
            };
            if x.len() != len || y.len() != len {
                return Err(JwtError::KeyMalformed("EC coordinates have the wrong length"));
            }
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            ec_material(oid, &point)?
        }
        "OKP" => match o.get("crv").and_then(Value::as_str) {
            Some("Ed25519") => ed25519_material(&member_b64(o, "x")?)?,
            _ => return Err(JwtError::KeyUnsupported("OKP curve (Ed25519 only)")),
        },
        "oct" => PublicMaterial::Hmac(Zeroizing::new(member_b64(o, "k")?)),
        _ => return Err(JwtError::KeyUnsupported("JWK kty")),
    };
    let mut key = VerifyKey::bare(material, source);
    key.kid = str_member(o, "kid");
    key.alg = str_member(o, "alg");
    key.use_ = str_member(o, "use");
    key.key_ops = o
        .get("key_ops")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect());
    if let PublicMaterial::Rsa(rsa) = &key.material {
        use rsa::pkcs8::EncodePublicKey;
        if let Ok(doc) = rsa.to_public_key_der() {
            let der_bytes = doc.as_bytes().to_vec();
            if let Ok(pem) = rsa.to_public_key_pem(rsa::pkcs8::LineEnding::LF) {
                key.public_forms.push(pem.as_bytes().to_vec());
                key.public_forms.push(pem.trim_end().as_bytes().to_vec());
            }
            key.public_forms.push(der_bytes);
        }
    }
    Ok(key)
}

// ---------------------------------------------------------------- signing keys

/// Private signing material.
#[non_exhaustive]
pub enum SignMaterial {
    /// Shared HMAC secret.
    Hmac(Zeroizing<Vec<u8>>),
    /// RSA private key.
    Rsa(Box<RsaPrivateKey>),
    /// P-256 private key.
    P256(p256::ecdsa::SigningKey),
    /// P-384 private key.
    P384(p384::ecdsa::SigningKey),
    /// P-521 private key.
    P521(p521::ecdsa::SigningKey),
    /// Ed25519 private key.
    Ed25519(Box<ed25519_dalek::SigningKey>),
}

/// A signing key with an optional `kid` (from a JWK).
pub struct SignKey {
    /// The material.
    pub material: SignMaterial,
    /// `kid` to put in the header when the caller did not.
    pub kid: Option<String>,
}

impl fmt::Debug for SignKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignKey").field("kty", &self.kty()).field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl SignKey {
    /// A shared secret.
    #[must_use]
    pub fn secret(bytes: &[u8]) -> Self {
        Self { material: SignMaterial::Hmac(Zeroizing::new(bytes.to_vec())), kid: None }
    }

    /// The signing key of one request from its inputs as given: a key text (PEM
    /// private key or private JWK) wins over a UTF-8 secret, which wins over a
    /// base64/base64url secret. `None` when none is given (`alg: none` needs no key).
    ///
    /// # Errors
    /// As [`SignKey::parse`] for the key text; `ERR_JWT_KEY_MALFORMED` when the
    /// base64 secret is not base64.
    pub fn choose(
        key: Option<&str>,
        secret: Option<&[u8]>,
        secret_base64: Option<&str>,
    ) -> Result<Option<Self>, JwtError> {
        if let Some(text) = key {
            return Self::parse(text).map(Some);
        }
        if let Some(bytes) = secret {
            return Ok(Some(Self::secret(bytes)));
        }
        secret_base64.map(|s| Ok(Self::secret(&Zeroizing::new(decode_b64_any(s)?)))).transpose()
    }

    /// JWK `kty` of the key.
    #[must_use]
    pub fn kty(&self) -> &'static str {
        match self.material {
            SignMaterial::Hmac(_) => "oct",
            SignMaterial::Rsa(_) => "RSA",
            SignMaterial::P256(_) | SignMaterial::P384(_) | SignMaterial::P521(_) => "EC",
            SignMaterial::Ed25519(_) => "OKP",
        }
    }

    /// The natural algorithm for this key (HS256, RS256, ES256/384/512, EdDSA).
    #[must_use]
    pub fn default_alg(&self) -> Alg {
        match self.material {
            SignMaterial::Hmac(_) => Alg::HS256,
            SignMaterial::Rsa(_) => Alg::RS256,
            SignMaterial::P256(_) => Alg::ES256,
            SignMaterial::P384(_) => Alg::ES384,
            SignMaterial::P521(_) => Alg::ES512,
            SignMaterial::Ed25519(_) => Alg::EdDSA,
        }
    }

    /// Parse a PEM private key (PKCS#8, PKCS#1, SEC1) or a private JWK (`d` or `k`).
    ///
    /// # Errors
    /// `ERR_JWT_KEY_MALFORMED`, `ERR_JWT_KEY_UNSUPPORTED`, `ERR_JWT_KEY_NOT_PRIVATE`.
    pub fn parse(text: &str) -> Result<Self, JwtError> {
        if text.len() > MAX_KEY_TEXT {
            return Err(JwtError::InputTooLarge { limit: MAX_KEY_TEXT });
        }
        let t = text.trim();
        if t.starts_with('{') {
            let v: Value = serde_json::from_str(t).map_err(|_| JwtError::KeyMalformed("not valid JSON"))?;
            let o = v.as_object().ok_or(JwtError::KeyMalformed("JWK must be a JSON object"))?;
            return jwk_private(o);
        }
        let (label, der_bytes) = der::pem(t).ok_or(JwtError::KeyMalformed("PEM"))?;
        let der_bytes = Zeroizing::new(der_bytes);
        let material = match label.as_str() {
            "PRIVATE KEY" => {
                let (alg, curve, pk) = der::pkcs8(&der_bytes).ok_or(JwtError::KeyMalformed("PKCS#8"))?;
                match alg {
                    a if a == der::OID_RSA || a == der::OID_RSA_PSS => rsa_private_pkcs1(pk)?,
                    a if a == der::OID_EC => {
                        let (d, c2) = der::sec1(pk).ok_or(JwtError::KeyMalformed("EC private key"))?;
                        ec_private(curve.or(c2).ok_or(JwtError::KeyMalformed("EC curve"))?, d)?
                    }
                    a if a == der::OID_ED25519 => {
                        let (inner, _) =
                            der::expect(pk, der::OCTET_STRING).ok_or(JwtError::KeyMalformed("Ed25519 private key"))?;
                        let arr: [u8; 32] =
                            inner.content.try_into().map_err(|_| JwtError::KeyMalformed("Ed25519 private key"))?;
                        SignMaterial::Ed25519(Box::new(ed25519_dalek::SigningKey::from_bytes(&arr)))
                    }
                    _ => return Err(JwtError::KeyUnsupported("private key algorithm")),
                }
            }
            "RSA PRIVATE KEY" => rsa_private_pkcs1(&der_bytes)?,
            "EC PRIVATE KEY" => {
                let (d, c) = der::sec1(&der_bytes).ok_or(JwtError::KeyMalformed("EC private key"))?;
                ec_private(c.ok_or(JwtError::KeyMalformed("EC curve"))?, d)?
            }
            "PUBLIC KEY" | "RSA PUBLIC KEY" | "CERTIFICATE" => return Err(JwtError::KeyNotPrivate),
            "ENCRYPTED PRIVATE KEY" => return Err(JwtError::KeyUnsupported("encrypted private keys")),
            _ => return Err(JwtError::KeyUnsupported("PEM label")),
        };
        Ok(Self { material, kid: None })
    }

    /// The matching public material.
    ///
    /// # Errors
    /// Never in practice; typed for future key types.
    pub fn public(&self) -> Result<PublicMaterial, JwtError> {
        Ok(match &self.material {
            SignMaterial::Hmac(k) => PublicMaterial::Hmac(k.clone()),
            SignMaterial::Rsa(k) => PublicMaterial::Rsa(Box::new(k.to_public_key())),
            SignMaterial::P256(k) => PublicMaterial::P256(*k.verifying_key()),
            SignMaterial::P384(k) => PublicMaterial::P384(*k.verifying_key()),
            SignMaterial::P521(k) => PublicMaterial::P521(*k.verifying_key()),
            SignMaterial::Ed25519(k) => PublicMaterial::Ed25519(k.verifying_key()),
        })
    }

    /// The public half as a verification key.
    ///
    /// # Errors
    /// See [`SignKey::public`].
    pub fn verify_key(&self) -> Result<VerifyKey, JwtError> {
        let mut k = VerifyKey::bare(self.public()?, "private-key");
        k.kid.clone_from(&self.kid);
        Ok(k)
    }
}

fn rsa_private_pkcs1(der_bytes: &[u8]) -> Result<SignMaterial, JwtError> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    RsaPrivateKey::from_pkcs1_der(der_bytes)
        .map(|k| SignMaterial::Rsa(Box::new(k)))
        .map_err(|_| JwtError::KeyMalformed("RSA private key"))
}

fn ec_private(curve: &[u8], d: &[u8]) -> Result<SignMaterial, JwtError> {
    let bad = |_| JwtError::KeyMalformed("EC private scalar");
    Ok(match curve {
        c if c == der::OID_P256 => SignMaterial::P256(p256::ecdsa::SigningKey::from_slice(d).map_err(bad)?),
        c if c == der::OID_P384 => SignMaterial::P384(p384::ecdsa::SigningKey::from_slice(d).map_err(bad)?),
        c if c == der::OID_P521 => SignMaterial::P521(p521::ecdsa::SigningKey::from_slice(d).map_err(bad)?),
        _ => return Err(JwtError::KeyUnsupported("EC curve (P-256, P-384, P-521 only)")),
    })
}

fn jwk_private(o: &Map<String, Value>) -> Result<SignKey, JwtError> {
    let kty = o.get("kty").and_then(Value::as_str).ok_or(JwtError::KeyMalformed("JWK kty"))?;
    let kid = str_member(o, "kid");
    if kty == "oct" {
        return Ok(SignKey { material: SignMaterial::Hmac(Zeroizing::new(member_b64(o, "k")?)), kid });
    }
    if !o.contains_key("d") {
        return Err(JwtError::KeyNotPrivate);
    }
    let d = Zeroizing::new(member_b64(o, "d")?);
    let material = match kty {
        "RSA" => {
            let n = member_b64(o, "n")?;
            let bits = u32::try_from(der::strip_zeros(&n).len() * 8).map_err(|_| JwtError::KeyMalformed("n"))?;
            let wide = |b: &[u8]| {
                BoxedUint::from_be_slice(der::strip_zeros(b), bits).map_err(|_| JwtError::KeyMalformed("RSA integer"))
            };
            let p = Zeroizing::new(member_b64(o, "p")?);
            let q = Zeroizing::new(member_b64(o, "q")?);
            let key = RsaPrivateKey::from_components(
                uint(&n)?,
                uint(&member_b64(o, "e")?)?,
                wide(&d)?,
                vec![wide(&p)?, wide(&q)?],
            )
            .map_err(|_| JwtError::KeyMalformed("RSA private key"))?;
            SignMaterial::Rsa(Box::new(key))
        }
        "EC" => {
            let oid = match o.get("crv").and_then(Value::as_str) {
                Some("P-256") => der::OID_P256,
                Some("P-384") => der::OID_P384,
                Some("P-521") => der::OID_P521,
                _ => return Err(JwtError::KeyUnsupported("EC curve (P-256, P-384, P-521 only)")),
            };
            ec_private(oid, &d)?
        }
        "OKP" if o.get("crv").and_then(Value::as_str) == Some("Ed25519") => {
            let arr: [u8; 32] = d.as_slice().try_into().map_err(|_| JwtError::KeyMalformed("Ed25519 d"))?;
            SignMaterial::Ed25519(Box::new(ed25519_dalek::SigningKey::from_bytes(&arr)))
        }
        _ => return Err(JwtError::KeyUnsupported("JWK kty/crv")),
    };
    Ok(SignKey { material, kid })
}
