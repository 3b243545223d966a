//! JWS algorithms (RFC 7518, RFC 8037, RFC 9864 `Ed25519`).

/// A supported JWS algorithm.
#[allow(clippy::upper_case_acronyms, missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    HS256,
    HS384,
    HS512,
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    ES512,
    EdDSA,
    Ed25519,
}

impl Alg {
    /// All supported algorithms.
    pub const ALL: [Alg; 14] = [
        Alg::HS256,
        Alg::HS384,
        Alg::HS512,
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::ES256,
        Alg::ES384,
        Alg::ES512,
        Alg::EdDSA,
        Alg::Ed25519,
    ];

    /// Parse the exact (case-sensitive) JOSE name.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// JOSE name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Alg::HS256 => "HS256",
            Alg::HS384 => "HS384",
            Alg::HS512 => "HS512",
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::ES512 => "ES512",
            Alg::EdDSA => "EdDSA",
            Alg::Ed25519 => "Ed25519",
        }
    }

    /// HMAC family.
    #[must_use]
    pub fn is_hmac(self) -> bool {
        matches!(self, Alg::HS256 | Alg::HS384 | Alg::HS512)
    }
    /// RSA family (PKCS#1 v1.5 or PSS).
    #[must_use]
    pub fn is_rsa(self) -> bool {
        matches!(self, Alg::RS256 | Alg::RS384 | Alg::RS512) || self.is_pss()
    }
    /// RSA-PSS.
    #[must_use]
    pub fn is_pss(self) -> bool {
        matches!(self, Alg::PS256 | Alg::PS384 | Alg::PS512)
    }
    /// ECDSA.
    #[must_use]
    pub fn is_ecdsa(self) -> bool {
        matches!(self, Alg::ES256 | Alg::ES384 | Alg::ES512)
    }

    /// Hash output length in bytes (64 for EdDSA's SHA-512).
    #[must_use]
    pub fn hash_len(self) -> usize {
        match self {
            Alg::HS256 | Alg::RS256 | Alg::PS256 | Alg::ES256 => 32,
            Alg::HS384 | Alg::RS384 | Alg::PS384 | Alg::ES384 => 48,
            _ => 64,
        }
    }

    /// Fixed signature length, when the algorithm has one (HMAC, ECDSA P1363, EdDSA).
    #[must_use]
    pub fn fixed_sig_len(self) -> Option<usize> {
        match self {
            a if a.is_hmac() => Some(a.hash_len()),
            Alg::ES256 => Some(64),
            Alg::ES384 => Some(96),
            Alg::ES512 => Some(132),
            Alg::EdDSA | Alg::Ed25519 => Some(64),
            _ => None,
        }
    }
}
