//! Typed errors of the JWT engine (API misuse, bad keys, signing failures).
//!
//! Problems *in a token* are never errors: they are [`Finding`](super::Finding)s in
//! the report. Errors are for what the caller hands us (keys, options, claims).

use crate::error::ErrorCode;

/// Errors returned by key parsing, signing and option handling.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// The key material could not be parsed (PEM, DER, JWK, JWKS or secret).
    #[error("key is malformed: {0}")]
    KeyMalformed(&'static str),
    /// The key parses but its type or curve is not supported.
    #[error("key type is not supported: {0}")]
    KeyUnsupported(&'static str),
    /// A private key was needed (signing) but a public key was supplied.
    #[error("a private key is required for signing")]
    KeyNotPrivate,
    /// The requested algorithm is unknown or not supported for this operation.
    #[error("algorithm is not supported: {0}")]
    AlgUnsupported(String),
    /// The algorithm does not belong to the key's family.
    #[error("algorithm {alg} cannot be used with a {kty} key")]
    AlgKeyMismatch {
        /// requested algorithm
        alg: String,
        /// key type
        kty: &'static str,
    },
    /// The header or claims given for signing are not a JSON object, or not JSON.
    #[error("invalid {0}: must be a JSON object")]
    JsonInvalid(&'static str),
    /// A relative time such as `+1h` could not be understood.
    #[error("invalid relative time in claim {0} (use e.g. +1h, -5m, now)")]
    TimeInvalid(String),
    /// Options are inconsistent or out of range.
    #[error("invalid options: {0}")]
    OptionsInvalid(&'static str),
    /// The input is larger than the engine accepts.
    #[error("input too large (limit {limit} bytes)")]
    InputTooLarge {
        /// the limit in bytes
        limit: usize,
    },
    /// The signature primitive failed.
    #[error("signing failed")]
    SignFailed,
    /// The operating system random generator failed.
    #[error("random number generator unavailable")]
    RandomUnavailable,
}

impl JwtError {
    /// The stable `ERR_*` code of this error.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::KeyMalformed(_) => "ERR_JWT_KEY_MALFORMED",
            Self::KeyUnsupported(_) => "ERR_JWT_KEY_UNSUPPORTED",
            Self::KeyNotPrivate => "ERR_JWT_KEY_NOT_PRIVATE",
            Self::AlgUnsupported(_) => "ERR_JWT_ALG_UNSUPPORTED",
            Self::AlgKeyMismatch { .. } => "ERR_JWT_ALG_KEY_MISMATCH",
            Self::JsonInvalid(_) => "ERR_JWT_JSON_INVALID",
            Self::TimeInvalid(_) => "ERR_JWT_TIME_INVALID",
            Self::OptionsInvalid(_) => "ERR_JWT_OPTIONS_INVALID",
            Self::InputTooLarge { .. } => "ERR_INPUT_TOO_LARGE",
            Self::SignFailed => "ERR_JWT_SIGN_FAILED",
            Self::RandomUnavailable => "ERR_RANDOM_UNAVAILABLE",
        }
    }
}

impl ErrorCode for JwtError {
    fn code(&self) -> &'static str {
        JwtError::code(self)
    }
}
