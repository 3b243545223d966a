//! Minting test tokens: any supported algorithm, relative times, and deliberately
//! broken variants (alg none, stripped signature) for exercising verifiers.

use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pss::Pss;
use rsa::traits::SignatureScheme;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::alg::Alg;
use super::b64;
use super::error::JwtError;
use super::keys::{SignKey, SignMaterial};
use super::options::JsonOptions;
use super::time;

/// Claims whose string values `+1h`, `-5m`, `now` are resolved against `now`.
pub const RELATIVE_CLAIMS: [&str; 4] = ["exp", "nbf", "iat", "auth_time"];

/// A deliberately broken token, for testing verifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Broken {
    /// Header `alg: none`, empty signature (no key needed).
    AlgNone,
    /// Signed normally, then the signature segment is emptied.
    StripSignature,
}

impl Broken {
    /// Parse `alg-none` / `none` or `strip-signature` / `strip`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "alg-none" | "none" | "algNone" => Some(Self::AlgNone),
            "strip-signature" | "strip" | "stripSignature" => Some(Self::StripSignature),
            _ => None,
        }
    }
}

/// What to sign.
#[derive(Debug, Default)]
pub struct SignRequest<'a> {
    /// Extra header members (`alg` is set from `alg`/the key; `typ` defaults to `JWT`).
    pub header: Map<String, Value>,
    /// Claims.
    pub claims: Map<String, Value>,
    /// Algorithm; default from the key (HS256, RS256, ES256/384/512, EdDSA).
    pub alg: Option<Alg>,
    /// Signing key (not needed for [`Broken::AlgNone`]).
    pub key: Option<&'a SignKey>,
    /// Current time for relative claims.
    pub now: i64,
    /// Produce a deliberately broken token.
    pub broken: Option<Broken>,
}

/// The algorithm a caller named for signing.
///
/// # Errors
/// `ERR_JWT_ALG_UNSUPPORTED` (the name clipped to 16 characters) for a name
/// that is not a supported JWS algorithm.
pub fn alg_named(name: &str) -> Result<Alg, JwtError> {
    Alg::parse(name).ok_or_else(|| JwtError::AlgUnsupported(name.chars().take(16).collect()))
}

/// A sign request as plain values, owning its key (see [`SignOptions::from_json`]).
#[derive(Debug)]
pub struct SignOptions {
    /// Extra header members.
    pub header: Map<String, Value>,
    /// Claims.
    pub claims: Map<String, Value>,
    /// Algorithm; default from the key.
    pub alg: Option<Alg>,
    /// Signing key, chosen by [`SignKey::choose`].
    pub key: Option<SignKey>,
    /// Deliberately broken output.
    pub broken: Option<Broken>,
    /// `now` as given (seconds since the epoch); the caller supplies the clock when absent.
    pub now: Option<f64>,
}

impl SignOptions {
    /// Read a `SignJwtOptions` object: `header` and `claims` (objects), `broken`
    /// (`alg-none` or `strip-signature`), `alg`, then the key: `key` (PEM or
    /// private JWK), else `secret` (UTF-8), else `secretBase64` (members after
    /// the one that wins are not read), and `now`.
    ///
    /// # Errors
    /// `ERR_JWT_JSON_INVALID`, `ERR_JWT_OPTIONS_INVALID`, `ERR_JWT_ALG_UNSUPPORTED`,
    /// or the key's error, for the first member that fails in that order.
    pub fn from_json(o: &JsonOptions) -> Result<Self, JwtError> {
        // Header and claims come from the same one-time stringify as the other options.
        let object = |k: &'static str| parse_object(&o.get(k).map_or_else(|| "{}".to_owned(), Value::to_string), k);
        let header = object("header")?;
        let claims = object("claims")?;
        const BROKEN: &str = "broken must be alg-none or strip-signature";
        let broken = match o.string("broken", BROKEN)?.as_deref() {
            None => None,
            Some(b) => Some(Broken::parse(b).ok_or(JwtError::OptionsInvalid(BROKEN))?),
        };
        let alg = o.string("alg", "alg must be a string")?.as_deref().map(alg_named).transpose()?;
        let key = o.string("key", "key must be a string")?;
        let secret = if key.is_none() { o.string("secret", "secret must be a string")? } else { None };
        let secret_base64 = if key.is_none() && secret.is_none() {
            o.string("secretBase64", "secretBase64 must be a string")?
        } else {
            None
        };
        let key = SignKey::choose(key.as_deref(), secret.as_deref().map(str::as_bytes), secret_base64.as_deref())?;
        let now = o.number("now", "now must be a number (seconds since the epoch)")?;
        Ok(Self { header, claims, alg, key, broken, now })
    }

    /// Sign at `now` (seconds since the epoch).
    ///
    /// # Errors
    /// As [`sign`].
    pub fn sign(self, now: i64) -> Result<String, JwtError> {
        sign(SignRequest {
            header: self.header,
            claims: self.claims,
            alg: self.alg,
            key: self.key.as_ref(),
            now,
            broken: self.broken,
        })
    }
}

/// Parse header/claims JSON text into an object.
///
/// # Errors
/// `ERR_JWT_JSON_INVALID` when the text is not a JSON object.
pub fn parse_object(text: &str, what: &'static str) -> Result<Map<String, Value>, JwtError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(JwtError::JsonInvalid(what)),
    }
}

/// Resolve `+1h`-style strings in the time claims.
///
/// # Errors
/// `ERR_JWT_TIME_INVALID` naming the claim.
pub fn resolve_times(claims: &mut Map<String, Value>, now: i64) -> Result<(), JwtError> {
    for name in RELATIVE_CLAIMS {
        if let Some(Value::String(s)) = claims.get(name) {
            let t = time::resolve(s, now).ok_or_else(|| JwtError::TimeInvalid(name.to_owned()))?;
            claims.insert(name.to_owned(), Value::from(t));
        }
    }
    Ok(())
}

/// Sign `req` into a compact JWS.
///
/// # Errors
/// Key/alg mismatch, missing key, bad relative times, RNG or primitive failure.
pub fn sign(req: SignRequest<'_>) -> Result<String, JwtError> {
    let mut claims = req.claims;
    resolve_times(&mut claims, req.now)?;
    let mut header = req.header;
    if req.broken == Some(Broken::AlgNone) {
        header.insert("alg".to_owned(), Value::from("none"));
        header.entry("typ").or_insert_with(|| Value::from("JWT"));
        let h = serde_json::to_vec(&header).map_err(|_| JwtError::JsonInvalid("header"))?;
        let p = serde_json::to_vec(&claims).map_err(|_| JwtError::JsonInvalid("claims"))?;
        return Ok(format!("{}.{}.", b64::encode(&h), b64::encode(&p)));
    }
    let key = req.key.ok_or(JwtError::OptionsInvalid("a key is required to sign"))?;
    let alg = req.alg.unwrap_or_else(|| key.default_alg());
    header.insert("alg".to_owned(), Value::from(alg.name()));
    header.entry("typ").or_insert_with(|| Value::from("JWT"));
    if let Some(kid) = &key.kid {
        header.entry("kid").or_insert_with(|| Value::from(kid.clone()));
    }
    let h = serde_json::to_vec(&header).map_err(|_| JwtError::JsonInvalid("header"))?;
    let p = serde_json::to_vec(&claims).map_err(|_| JwtError::JsonInvalid("claims"))?;
    let input = format!("{}.{}", b64::encode(&h), b64::encode(&p));
    let sig = sign_bytes(alg, key, input.as_bytes())?;
    if req.broken == Some(Broken::StripSignature) {
        return Ok(format!("{input}."));
    }
    Ok(format!("{input}.{}", b64::encode(&sig)))
}

/// Raw signature of `msg` with `key` under `alg` (ECDSA in P1363 form).
///
/// # Errors
/// `ERR_JWT_ALG_KEY_MISMATCH`, `ERR_RANDOM_UNAVAILABLE`, `ERR_JWT_SIGN_FAILED`.
pub fn sign_bytes(alg: Alg, key: &SignKey, msg: &[u8]) -> Result<Vec<u8>, JwtError> {
    use rsa::signature::Signer;
    let mismatch = || JwtError::AlgKeyMismatch { alg: alg.name().to_owned(), kty: key.kty() };
    match (&key.material, alg) {
        (SignMaterial::Hmac(k), a) if a.is_hmac() => Ok(super::verify::hmac(a, k, msg)),
        (SignMaterial::Rsa(k), a) if a.is_rsa() => {
            let mut rng = getrandom::SysRng;
            let hashed = match a.hash_len() {
                32 => Sha256::digest(msg).to_vec(),
                48 => Sha384::digest(msg).to_vec(),
                _ => Sha512::digest(msg).to_vec(),
            };
            let r = match a {
                Alg::RS256 => Pkcs1v15Sign::new::<Sha256>().sign(Some(&mut rng), k, &hashed),
                Alg::RS384 => Pkcs1v15Sign::new::<Sha384>().sign(Some(&mut rng), k, &hashed),
                Alg::RS512 => Pkcs1v15Sign::new::<Sha512>().sign(Some(&mut rng), k, &hashed),
                Alg::PS256 => Pss::<Sha256>::new().sign(Some(&mut rng), k, &hashed),
                Alg::PS384 => Pss::<Sha384>::new().sign(Some(&mut rng), k, &hashed),
                _ => Pss::<Sha512>::new().sign(Some(&mut rng), k, &hashed),
            };
            r.map_err(|e| match e {
                rsa::Error::Rng => JwtError::RandomUnavailable,
                _ => JwtError::SignFailed,
            })
        }
        (SignMaterial::P256(k), Alg::ES256) => {
            let s: p256::ecdsa::Signature = k.try_sign(msg).map_err(|_| JwtError::SignFailed)?;
            Ok(s.to_bytes().to_vec())
        }
        (SignMaterial::P384(k), Alg::ES384) => {
            let s: p384::ecdsa::Signature = k.try_sign(msg).map_err(|_| JwtError::SignFailed)?;
            Ok(s.to_bytes().to_vec())
        }
        (SignMaterial::P521(k), Alg::ES512) => {
            let s: p521::ecdsa::Signature = k.try_sign(msg).map_err(|_| JwtError::SignFailed)?;
            Ok(s.to_bytes().to_vec())
        }
        (SignMaterial::Ed25519(k), Alg::EdDSA | Alg::Ed25519) => {
            let s: ed25519_dalek::Signature = k.try_sign(msg).map_err(|_| JwtError::SignFailed)?;
            Ok(s.to_bytes().to_vec())
        }
        _ => Err(mismatch()),
    }
}
