//! The one report every inspection produces, serde-serialisable (camelCase) and
//! bounded in size whatever the input.

use serde::Serialize;
use serde_json::Value;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, not a problem by itself.
    Info,
    /// Hygiene problem.
    Low,
    /// Weakens security or interoperability.
    Medium,
    /// Likely exploitable or a validation failure.
    High,
    /// The token must not be trusted.
    Critical,
}

impl Severity {
    /// Parse `info|low|medium|high|critical` (case-insensitive).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "info" => Self::Info,
            "low" => Self::Low,
            "medium" => Self::Medium,
            "high" => Self::High,
            "critical" => Self::Critical,
            _ => return None,
        })
    }
    /// Lower-case name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// One problem found in the token, the key or the claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable code, e.g. `JWT_ALG_NONE`.
    pub code: &'static str,
    /// Severity.
    pub severity: Severity,
    /// Where: `header.alg`, `payload.exp`, `signature`, `key`, `token[12]`...
    pub location: String,
    /// What is wrong, one sentence (never contains secret material).
    pub message: String,
    /// How to fix it, one line.
    pub fix: &'static str,
}

/// Counts per severity plus the worst one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Highest severity present, if any finding.
    pub highest: Option<Severity>,
    /// Number of critical findings.
    pub critical: usize,
    /// Number of high findings.
    pub high: usize,
    /// Number of medium findings.
    pub medium: usize,
    /// Number of low findings.
    pub low: usize,
    /// Number of info findings.
    pub info: usize,
    /// Whether a supplied key verified the signature over a well-formed token
    /// (exactly when `verification.status` is `valid`).
    pub signature_verified: bool,
}

/// One segment of the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// `header`, `payload`, `signature`, `encrypted_key`, `iv`, `ciphertext`, `tag`.
    pub name: &'static str,
    /// Byte offset of the segment in the (trimmed) input.
    pub offset: usize,
    /// Length in bytes of the encoded segment.
    pub length: usize,
    /// Decoded length, when it decoded.
    pub decoded_length: Option<usize>,
}

/// What the input looked like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputForm {
    /// Compact JWS (3 parts).
    CompactJws,
    /// Compact JWE (5 parts).
    CompactJwe,
    /// JWS JSON serialization (flattened or general).
    JsonJws,
    /// JWE JSON serialization.
    JsonJwe,
    /// Nothing recognisable.
    Unknown,
}

/// Facts about the raw input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InputSummary {
    /// Length in bytes of the input as given.
    pub length: usize,
    /// Recognised form.
    pub form: InputForm,
    /// Segments, in order.
    pub segments: Vec<Segment>,
}

/// The signature segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureSummary {
    /// Decoded length in bytes.
    pub length: usize,
    /// Expected length for the header's `alg`, when fixed (ECDSA, EdDSA, HMAC).
    pub expected_length: Option<usize>,
    /// `p1363`, `der` or `raw` (ECDSA encoding detected), else `raw`.
    pub encoding: &'static str,
}

/// A time claim explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeClaim {
    /// Claim name (`exp`, `nbf`, `iat`, `auth_time`...).
    pub claim: String,
    /// The raw value.
    pub raw: Value,
    /// Seconds since the epoch (fraction dropped), when a valid NumericDate.
    pub unix: Option<i64>,
    /// ISO 8601 UTC.
    pub utc: Option<String>,
    /// `in 59m`, `2h ago`, relative to the supplied `now`.
    pub relative: Option<String>,
}

/// One actor of an RFC 8693 `act` chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    /// 0 = the outermost (current) actor.
    pub depth: usize,
    /// `sub` of the actor.
    pub sub: Option<String>,
    /// `iss` of the actor.
    pub iss: Option<String>,
    /// `client_id` of the actor.
    pub client_id: Option<String>,
}

/// Confirmation (`cnf`, RFC 7800 / 9449 / 8705).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Confirmation {
    /// `dpop` (jkt), `mtls` (x5t#S256), `jwk`, `jku`, `kid` or `unknown`.
    pub method: &'static str,
    /// DPoP JWK thumbprint.
    pub jkt: Option<String>,
    /// Certificate thumbprint.
    pub x5t_s256: Option<String>,
}

/// One RFC 9396 authorization detail, summarised.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationDetail {
    /// The required `type`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `actions`.
    pub actions: Vec<String>,
    /// `locations`.
    pub locations: Vec<String>,
    /// `datatypes`.
    pub datatypes: Vec<String>,
    /// `identifier`.
    pub identifier: Option<String>,
}

/// What the token appears to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// OpenID Connect ID token.
    IdToken,
    /// RFC 9068 JWT access token (`typ: at+jwt`).
    AccessToken,
    /// A JWT that looks like an access token without `at+jwt`.
    AccessTokenLike,
    /// DPoP proof (`typ: dpop+jwt`).
    DpopProof,
    /// OIDC back-channel logout token.
    LogoutToken,
    /// Identity Assertion JWT authorization grant (`typ: oauth-id-jag+jwt`).
    IdJag,
    /// `private_key_jwt` client assertion (iss = sub = client_id, aud = token endpoint).
    ClientAssertion,
    /// Encrypted (JWE), contents unknown.
    Encrypted,
    /// Anything else.
    Other,
}

/// Header and claims with their meaning.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// Token kind.
    pub kind: Option<TokenKind>,
    /// Why that kind.
    pub kind_reason: Option<String>,
    /// `alg`.
    pub alg: Option<String>,
    /// `typ`.
    pub typ: Option<String>,
    /// `cty`.
    pub cty: Option<String>,
    /// `kid`.
    pub kid: Option<String>,
    /// `enc` (JWE).
    pub enc: Option<String>,
    /// Time claims.
    pub times: Vec<TimeClaim>,
    /// `exp - iat` (or `exp - nbf`) in seconds.
    pub lifetime_seconds: Option<i64>,
    /// `iss`.
    pub issuer: Option<String>,
    /// `sub`.
    pub subject: Option<String>,
    /// `aud`, always as a list.
    pub audience: Vec<String>,
    /// `azp`.
    pub authorized_party: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `jti`.
    pub jwt_id: Option<String>,
    /// `scope` (space separated) or `scp` (list or string).
    pub scopes: Vec<String>,
    /// `roles`.
    pub roles: Vec<String>,
    /// `permissions`.
    pub permissions: Vec<String>,
    /// `groups`.
    pub groups: Vec<String>,
    /// The `act` chain, outermost (current) actor first.
    pub act_chain: Vec<Actor>,
    /// `may_act`, as given.
    pub may_act: Option<Value>,
    /// `cnf`.
    pub confirmation: Option<Confirmation>,
    /// `authorization_details`.
    pub authorization_details: Vec<AuthorizationDetail>,
}

/// Outcome of signature verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyStatus {
    /// No key was supplied.
    NotAttempted,
    /// The signature verifies.
    Valid,
    /// The signature does not verify.
    Invalid,
    /// No supplied key fits the token (kid/alg/kty).
    NoMatchingKey,
    /// The only candidate keys belong to another algorithm family.
    AlgMismatch,
    /// `alg` missing, unknown, `none` or not a string, or the token is encrypted.
    Unsupported,
    /// A key was supplied but the input is not one well-formed compact JWS
    /// (non-canonical or invalid base64url, text around the token, duplicate
    /// members, JSON serialization): no signature over it is accepted, even one
    /// that matches its literal bytes.
    Malformed,
}

/// The key that was used (or tried).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeySummary {
    /// `RSA`, `EC`, `OKP`, `oct`.
    pub kty: &'static str,
    /// Curve, if any.
    pub crv: Option<&'static str>,
    /// Size in bits (modulus, curve or secret).
    pub bits: usize,
    /// `kid` of the key, if any.
    pub kid: Option<String>,
    /// `alg` of the key, if any.
    pub alg: Option<String>,
    /// Where it came from: `jwk`, `jwks[2]`, `pem-spki`, `secret`...
    pub source: String,
}

/// Signature verification result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// Outcome.
    pub status: VerifyStatus,
    /// Algorithm used.
    pub alg: Option<String>,
    /// Key that verified (or the one tried when exactly one was).
    pub key: Option<KeySummary>,
    /// Number of supplied keys.
    pub keys_supplied: usize,
    /// Number of keys that matched kid/alg/kty.
    pub candidates: usize,
    /// One line explaining the outcome.
    pub detail: String,
}

impl Default for Verification {
    fn default() -> Self {
        Self {
            status: VerifyStatus::NotAttempted,
            alg: None,
            key: None,
            keys_supplied: 0,
            candidates: 0,
            detail: "no key supplied: signature not checked".to_owned(),
        }
    }
}

/// Everything the inspector learned about one token.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Input facts.
    pub input: InputSummary,
    /// Decoded (protected) header, when it is a JSON object.
    pub header: Option<Value>,
    /// Decoded payload, when it is a JSON object.
    pub payload: Option<Value>,
    /// Payload as text when not JSON (truncated), e.g. a nested token.
    pub payload_text: Option<String>,
    /// Signature facts.
    pub signature: Option<SignatureSummary>,
    /// Meaning of the header and claims.
    pub explanation: Explanation,
    /// Verification outcome.
    pub verification: Verification,
    /// Inner token when `cty` is `JWT` (depth-limited).
    pub nested: Option<Box<Report>>,
    /// DPoP proof checks (RFC 9449), when the token is a DPoP proof: its signature
    /// against its own header key (not trust), thumbprint, `ath`/`cnf.jkt` binding.
    pub dpop: Option<super::dpop::DpopReport>,
    /// All findings, most severe first.
    pub findings: Vec<Finding>,
    /// True when findings were dropped to keep the report bounded.
    pub findings_truncated: bool,
    /// Counts.
    pub summary: Summary,
}

impl Report {
    /// Whether any finding has this code.
    #[must_use]
    pub fn has(&self, code: &str) -> bool {
        self.findings.iter().any(|f| f.code == code)
    }
    /// Whether any finding is at or above `sev` (nested report included).
    #[must_use]
    pub fn fails_at(&self, sev: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= sev) || self.nested.as_ref().is_some_and(|n| n.fails_at(sev))
    }
}
